package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// streamParent runs this program in child mode and reads its peak RSS.
func streamParent(size int64, frame int, suite envelope.SuiteID, early bool) streamResult {
	res := streamResult{suite: suite, frame: frame, early: early}
	exe, err := os.Executable()
	if err != nil {
		res.err = err.Error()
		return res
	}
	args := []string{"-stream", fmt.Sprint(size), "-frame", fmt.Sprint(frame), "-suite", fmt.Sprint(uint16(suite))}
	if early {
		args = append(args, "-early")
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		res.err = err.Error()
		return res
	}
	res.rate = float64(size) / time.Since(start).Seconds()
	// The child reports its own peak (VmHWM): the rusage of a child started
	// from this large process counts this process's pages up to its exec.
	if _, err := fmt.Sscan(string(out), &res.rssKB); err != nil {
		res.err = "no peak RSS reported"
	}
	return res
}

// streamChild encrypts size bytes of generated plaintext through a Writer
// into an io.Pipe whose other end a Reader decrypts, and checks the count.
// On signed suites the Reader keeps the plaintext back until the signature
// verifies (in memory up to DefaultSpoolMemory, then in an encrypted
// temporary file), unless early is set.
func streamChild(size int64, frame int, suite envelope.SuiteID, early bool) error {
	ctx := context.Background()
	kr := newKeyring()
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		w, err := envelope.NewWriter(ctx, pw, kr, envelope.WithSuite(suite), envelope.WithFrameSize(frame))
		if err != nil {
			pw.CloseWithError(err)
			errc <- err
			return
		}
		chunk := make([]byte, 256<<10)
		for i := range chunk {
			chunk[i] = byte(i * 131)
		}
		for left := size; left > 0; {
			n := min(left, int64(len(chunk)))
			if _, err := w.Write(chunk[:n]); err != nil {
				pw.CloseWithError(err)
				errc <- err
				return
			}
			left -= n
		}
		err = w.Close()
		pw.CloseWithError(err)
		errc <- err
	}()
	var ropts []envelope.Option
	if early {
		ropts = append(ropts, envelope.WithInsecureReleaseBeforeSignature())
	}
	r, err := envelope.NewReader(ctx, pr, kr, ropts...)
	if err != nil {
		return err
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	if err := <-errc; err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("streamed %d bytes, want %d", n, size)
	}
	fmt.Println(peakRSSKB())
	return nil
}

// peakRSSKB returns this process's peak resident set size in KiB.
func peakRSSKB() int64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				var kb int64
				if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err == nil {
					return kb
				}
			}
		}
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}
