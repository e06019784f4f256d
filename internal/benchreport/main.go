// Command benchreport measures package envelope beside the limits of the
// machine (raw AES-256-GCM, SHA-384) and beside the AWS Encryption SDK for
// JavaScript on the same plaintext, checks the performance targets, and
// writes a Markdown report. scripts/bench.sh runs it; see there for the
// environment it needs.
//
// Usage:
//
//	go run ./internal/benchreport [-runs 5] [-js-runs 3] [-out BENCHMARKS.md]
//	go run ./internal/benchreport -stream SIZE -frame N -suite ID [-early]   (child mode)
//	go run ./internal/benchreport -small   (child mode)
//
// In -stream child mode it pipes a Writer into a Reader through io.Pipe
// for SIZE bytes of generated plaintext, prints its peak RSS and exits
// (-early: the Reader releases frames before the signature verifies). In
// -small child mode it measures the 1 KiB messages and prints them as
// JSON; the parent runs it under GODEBUG=fips140=on to show what FIPS 140-3
// mode costs.
package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha512"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/benchdoc"
	"github.com/cryptkeeper-go/cryptkeeper/internal/jsenv"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

const (
	largeSize = 64 << 20
	smallSize = 1 << 10
	mb        = 1e6
)

var (
	suites = []envelope.SuiteID{envelope.AES256GCMHKDFSHA512CommitKey, envelope.AES256GCMHKDFSHA512CommitKeyECDSAP384}
	frames = []int{4 << 10, 64 << 10, 1 << 20}
)

func main() {
	runs := flag.Int("runs", 7, "runs per measurement (the median is reported)")
	jsRuns := flag.Int("js-runs", 3, "runs per JavaScript measurement (0 skips them)")
	out := flag.String("out", "BENCHMARKS.md", "report file")
	stream := flag.Int64("stream", 0, "child mode: stream this many bytes through Writer → Reader")
	frame := flag.Int("frame", envelope.DefaultFrameSize, "child mode: frame size")
	suite := flag.Uint("suite", uint(envelope.AES256GCMHKDFSHA512CommitKeyECDSAP384), "child mode: suite id")
	early := flag.Bool("early", false, "child mode: the Reader releases frames before the signature verifies")
	small := flag.Bool("small", false, "child mode: measure 1 KiB messages and print them as JSON")
	flag.Parse()
	if *small {
		if err := smallChild(*runs); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		return
	}
	if *stream > 0 {
		if err := streamChild(*stream, *frame, envelope.SuiteID(*suite), *early); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		return
	}
	rep := &report{runs: *runs}
	if err := rep.run(*jsRuns); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	md := rep.markdown()
	fmt.Print(md)
	if old, err := os.ReadFile(*out); err == nil {
		md += keptS3Section(string(old))
	}
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// keptS3Section returns the generated sections of an existing report
// (the S3 section written by internal/s3bench and the field-encryption
// section written by internal/fieldbench, each between its marker lines),
// each with a blank line before it, or "" when there are none: this
// report replaces the rest.
func keptS3Section(doc string) string {
	var kept string
	for _, m := range [][2]string{
		{"<!-- s3bench: begin", "<!-- s3bench: end -->"},
		{"<!-- fieldbench: begin", "<!-- fieldbench: end -->"},
	} {
		begin, end := m[0], m[1]
		i := strings.Index(doc, begin)
		if i < 0 {
			continue
		}
		j := strings.Index(doc[i:], end)
		if j < 0 {
			continue
		}
		kept += "\n" + doc[i:i+j+len(end)] + "\n"
	}
	return kept
}

// sample runs f (which does `bytes` of work per call) for at least 300 ms
// and returns the rate in bytes per second.
func sample(bytes float64, f func()) float64 {
	n, start := 0, time.Now()
	for n == 0 || time.Since(start) < 300*time.Millisecond {
		f()
		n++
	}
	return bytes * float64(n) / time.Since(start).Seconds()
}

// median warms f up and returns the median of runs samples.
func median(runs int, bytes float64, f func()) float64 {
	f()
	rates := make([]float64, 0, runs)
	for range runs {
		rates = append(rates, sample(bytes, f))
	}
	return medianOf(rates)
}

// rounds measures many workloads in interleaved rounds (one sample of each
// per round), so that a burst of load from elsewhere on the machine lowers
// one sample of several workloads rather than every sample of one.
type rounds struct {
	items []*roundItem
}

type roundItem struct {
	bytes float64
	f     func()
	set   func(float64)
	rates []float64
}

func (r *rounds) add(bytes float64, f func(), set func(float64)) {
	r.items = append(r.items, &roundItem{bytes: bytes, f: f, set: set})
}

func (r *rounds) run(runs int) {
	for _, it := range r.items {
		it.f() // warm up
	}
	for i := range runs {
		log(fmt.Sprintf("round %d of %d", i+1, runs))
		for _, it := range r.items {
			it.rates = append(it.rates, sample(it.bytes, it.f))
		}
	}
	for _, it := range r.items {
		it.set(medianOf(it.rates))
	}
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newKeyring() *keyring.RawAES {
	key := make([]byte, 32)
	for i := range key {
		key[i] = 7
	}
	return must(keyring.NewRawAES("bench", "bench-key", key))
}

type caseKey struct {
	suite envelope.SuiteID
	frame int
}

type report struct {
	runs                      int
	cpu, goVersion, nodeVer   string
	cores                     int
	sealRate, openRate, seal1 float64
	sealFresh, sealAll        float64
	streamEnc, streamDec      map[caseKey]float64
	streamDecEarly            map[caseKey]float64
	appEnc, appDec            map[caseKey]float64
	sha384                    float64
	enc, dec, enc1            map[caseKey]float64
	jsEnc, jsDec              map[caseKey]float64
	jsErr                     string
	small, smallFIPS          []smallResult
	fipsErr                   string
	streamRSS                 []streamResult
	elapsed                   time.Duration
}

type smallResult struct {
	Op     string  `json:"op"`
	Cached bool    `json:"cached"`
	Rate   float64 `json:"rate"` // messages per second, one goroutine
	Allocs float64 `json:"allocs"`
}

type streamResult struct {
	suite envelope.SuiteID
	frame int
	early bool
	rssKB int64
	rate  float64
	err   string
}

func (r *report) run(jsRuns int) error {
	start := time.Now()
	r.cpu, r.cores, r.goVersion = benchdoc.CPUModel(), runtime.NumCPU(), runtime.Version()
	pt := make([]byte, largeSize)
	_, _ = rand.Read(pt)
	ctx := context.Background()
	kr := newKeyring()

	// The limits.
	aead := must(cipher.NewGCM(must(aes.NewCipher(make([]byte, 32)))))
	nonce := make([]byte, 12)
	buf := make([]byte, 0, largeSize+16*runtime.GOMAXPROCS(0))
	ct := aead.Seal(nil, nonce, pt, nil)
	var rs rounds
	rs.add(largeSize, func() { buf = aead.Seal(buf[:0], nonce, pt, nil) }, func(v float64) { r.sealRate = v })
	rs.add(largeSize, func() { buf, _ = aead.Open(buf[:0], nonce, ct, nil) }, func(v float64) { r.openRate = v })
	rs.add(largeSize, func() { aead.Seal(make([]byte, 0, largeSize+16), nonce, pt, nil) }, func(v float64) { r.sealFresh = v })
	rs.add(largeSize, func() {
		prev := runtime.GOMAXPROCS(1)
		defer runtime.GOMAXPROCS(prev)
		buf = aead.Seal(buf[:0], nonce, pt, nil)
	}, func(v float64) { r.seal1 = v })
	rs.add(largeSize, func() { sealParallel(aead, buf, nonce, pt, runtime.GOMAXPROCS(0)) }, func(v float64) { r.sealAll = v })
	rs.add(largeSize, func() { sha512.Sum384(pt) }, func(v float64) { r.sha384 = v })

	// This library, 64 MiB.
	r.enc, r.dec, r.enc1 = map[caseKey]float64{}, map[caseKey]float64{}, map[caseKey]float64{}
	r.streamEnc, r.streamDec, r.streamDecEarly = map[caseKey]float64{}, map[caseKey]float64{}, map[caseKey]float64{}
	for _, s := range suites {
		for _, fs := range frames {
			k := caseKey{s, fs}
			opts := []envelope.Option{envelope.WithSuite(s), envelope.WithFrameSize(fs)}
			msg := must(envelope.Encrypt(ctx, kr, pt, opts...))
			rs.add(largeSize, func() { must(envelope.Encrypt(ctx, kr, pt, opts...)) }, func(v float64) { r.enc[k] = v })
			rs.add(largeSize, func() { _, _, err := envelope.Decrypt(ctx, kr, msg); must(0, err) }, func(v float64) { r.dec[k] = v })
			one := append(slices.Clone(opts), envelope.WithConcurrency(1))
			rs.add(largeSize, func() { must(envelope.Encrypt(ctx, kr, pt, one...)) }, func(v float64) { r.enc1[k] = v })
		}
	}

	// The same into a reused buffer: AppendEncrypt and AppendDecrypt.
	r.appEnc, r.appDec = map[caseKey]float64{}, map[caseKey]float64{}
	for _, s := range suites {
		k := caseKey{s, 64 << 10}
		opts := []envelope.Option{envelope.WithSuite(s), envelope.WithFrameSize(64 << 10)}
		msg := must(envelope.Encrypt(ctx, kr, pt, opts...))
		encBuf := make([]byte, 0, len(msg)+256)
		decBuf := make([]byte, 0, len(pt))
		rs.add(largeSize, func() { encBuf = must(envelope.AppendEncrypt(ctx, encBuf[:0], kr, pt, opts...)) }, func(v float64) { r.appEnc[k] = v })
		rs.add(largeSize, func() {
			var err error
			decBuf, _, err = envelope.AppendDecrypt(ctx, decBuf[:0], kr, msg)
			must(0, err)
		}, func(v float64) { r.appDec[k] = v })
	}

	// Streaming into io.Discard: the same frames with buffers reused, so
	// without the cost of faulting in a fresh 64 MiB output.
	for _, s := range suites {
		opts := []envelope.Option{envelope.WithSuite(s), envelope.WithFrameSize(64 << 10)}
		msg := must(envelope.Encrypt(ctx, kr, pt, opts...))
		k := caseKey{s, 64 << 10}
		rs.add(largeSize, func() {
			w := must(envelope.NewWriter(ctx, io.Discard, kr, opts...))
			for off := 0; off < len(pt); off += 1 << 20 {
				must(w.Write(pt[off : off+1<<20]))
			}
			must(0, w.Close())
		}, func(v float64) { r.streamEnc[k] = v })
		rs.add(largeSize, func() {
			rd := must(envelope.NewReader(ctx, bytes.NewReader(msg), kr))
			must(io.Copy(io.Discard, rd))
		}, func(v float64) { r.streamDec[k] = v })
		if s.Signed() {
			rs.add(largeSize, func() {
				rd := must(envelope.NewReader(ctx, bytes.NewReader(msg), kr, envelope.WithInsecureReleaseBeforeSignature()))
				must(io.Copy(io.Discard, rd))
			}, func(v float64) { r.streamDecEarly[k] = v })
		}
	}
	log("limits, 64 MiB messages and streams")
	rs.run(r.runs)

	// The JavaScript SDK on the same plaintext.
	r.jsEnc, r.jsDec = map[caseKey]float64{}, map[caseKey]float64{}
	if jsRuns > 0 {
		log("AWS Encryption SDK for JavaScript")
		if jsDir, err := jsenv.Install(); err != nil {
			r.jsErr = err.Error()
		} else if err := r.runJS(jsRuns, jsDir, pt); err != nil {
			r.jsErr = err.Error()
		}
	} else {
		r.jsErr = "skipped (-js-runs 0)"
	}
	if v, err := exec.Command("node", "--version").Output(); err == nil {
		r.nodeVer = strings.TrimSpace(string(v))
	}

	// Small messages.
	log("1 KiB messages")
	r.small = smallMessages(r.runs, kr)
	log("1 KiB messages, GODEBUG=fips140=on")
	r.smallFIPS, r.fipsErr = smallFIPS(r.runs)

	// Streaming memory.
	for _, c := range []struct {
		caseKey
		early bool
	}{
		{caseKey{envelope.AES256GCMHKDFSHA512CommitKeyECDSAP384, envelope.DefaultFrameSize}, false},
		{caseKey{envelope.AES256GCMHKDFSHA512CommitKeyECDSAP384, envelope.DefaultFrameSize}, true},
		{caseKey{envelope.AES256GCMHKDFSHA512CommitKey, 64 << 10}, false},
		{caseKey{envelope.AES256GCMHKDFSHA512CommitKeyECDSAP384, 1 << 20}, false},
	} {
		log(fmt.Sprintf("streaming 1 GiB, %v frame %d, early release %v", c.suite, c.frame, c.early))
		r.streamRSS = append(r.streamRSS, streamParent(1<<30, c.frame, c.suite, c.early))
	}
	r.elapsed = time.Since(start)
	return nil
}

// sealParallel seals pt in n parts on n goroutines into buf: the limit
// for sealing on every core.
func sealParallel(aead cipher.AEAD, buf, nonce, pt []byte, n int) {
	part := (len(pt) + n - 1) / n
	var wg sync.WaitGroup
	for i := range n {
		lo, hi := min(i*part, len(pt)), min((i+1)*part, len(pt))
		out := buf[lo+i*16 : lo+i*16 : cap(buf)]
		wg.Go(func() { aead.Seal(out, nonce, pt[lo:hi], nil) })
	}
	wg.Wait()
}

func log(what string) { fmt.Fprintf(os.Stderr, "benchreport: %s\n", what) }

func (r *report) runJS(runs int, dir string, pt []byte) error {
	f, err := os.CreateTemp("", "benchreport-*.bin")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(pt); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	args := []string{"bench.js", f.Name(), fmt.Sprint(runs)}
	for _, s := range suites {
		for _, fs := range frames {
			args = append(args, fmt.Sprintf("%d:%d", uint16(s), fs))
		}
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("node bench.js: %w (run `cd %s && npm ci` first)", err, dir)
	}
	var res struct {
		Results []struct {
			Suite          uint16    `json:"suite"`
			FrameLength    int       `json:"frameLength"`
			EncryptSeconds []float64 `json:"encryptSeconds"`
			DecryptSeconds []float64 `json:"decryptSeconds"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return err
	}
	for _, c := range res.Results {
		k := caseKey{envelope.SuiteID(c.Suite), c.FrameLength}
		r.jsEnc[k] = largeSize / medianOf(c.EncryptSeconds)
		r.jsDec[k] = largeSize / medianOf(c.DecryptSeconds)
	}
	return nil
}
