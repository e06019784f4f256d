// Package benchdoc holds what the benchmark programs share when they write
// their sections of BENCHMARKS.md and describe the machine they ran on.
package benchdoc

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Splice returns doc with the section between the lines begin and end
// replaced by section, or with the section appended (after a blank line)
// when doc has none. section should end with a newline.
func Splice(doc, begin, end, section string) string {
	block := begin + "\n" + section + end + "\n"
	if i := strings.Index(doc, begin); i >= 0 {
		if j := strings.Index(doc[i:], end); j >= 0 {
			rest := strings.TrimPrefix(doc[i+j+len(end):], "\n")
			return doc[:i] + block + rest
		}
	}
	if doc != "" && !strings.HasSuffix(doc, "\n") {
		doc += "\n"
	}
	if doc != "" {
		doc += "\n"
	}
	return doc + block
}

// SpliceFile splices section into the file at path as Splice does, a
// missing file read as empty, and writes the file back.
func SpliceFile(path, begin, end, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.WriteFile(path, []byte(Splice(string(old), begin, end, section)), 0o644)
}

// CPUModel returns the CPU's model name from /proc/cpuinfo, or GOARCH
// where that is not available.
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	return cpuModel(string(b))
}

func cpuModel(cpuinfo string) string {
	for _, line := range strings.Split(cpuinfo, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// CPUTime returns the CPU time this process has used so far, user and
// system (the garbage collector's included), or 0 where getrusage fails.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
