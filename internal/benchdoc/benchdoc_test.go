package benchdoc

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

const (
	begin = "<!-- x: begin -->"
	end   = "<!-- x: end -->"
)

func TestSplice(t *testing.T) {
	doc := "# Benchmarks\n\nother sections\n"
	once := Splice(doc, begin, end, "## X\n\nold\n")
	if want := doc + "\n" + begin + "\n## X\n\nold\n" + end + "\n"; once != want {
		t.Fatalf("append: got %q, want %q", once, want)
	}
	twice := Splice(once+"\n## later\n", begin, end, "## X\n\nnew\n")
	if want := doc + "\n" + begin + "\n## X\n\nnew\n" + end + "\n\n## later\n"; twice != want {
		t.Fatalf("replace: got %q, want %q", twice, want)
	}
	if got, want := Splice("", begin, end, "x\n"), begin+"\nx\n"+end+"\n"; got != want {
		t.Fatalf("empty: got %q, want %q", got, want)
	}
	if got, want := Splice("no newline", begin, end, "x\n"), "no newline\n\n"+begin+"\nx\n"+end+"\n"; got != want {
		t.Fatalf("no trailing newline: got %q, want %q", got, want)
	}
	// A begin line without its end line is left alone and a section appended.
	if got, want := Splice(begin+"\n", begin, end, "x\n"), begin+"\n\n"+begin+"\nx\n"+end+"\n"; got != want {
		t.Fatalf("unterminated: got %q, want %q", got, want)
	}
}

func TestSpliceFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := SpliceFile(path, begin, end, "old\n"); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if err := os.WriteFile(path, []byte("# B\n\n"+begin+"\nold\n"+end+"\nafter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SpliceFile(path, begin, end, "new\n"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "# B\n\n"+begin+"\nnew\n"+end+"\nafter\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if err := SpliceFile(t.TempDir(), begin, end, "x\n"); err == nil {
		t.Fatal("splicing into a directory: no error")
	}
}

func TestCPUModel(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nflags\t: fpu\n"
	if got, want := cpuModel(info), "Intel(R) Xeon(R) CPU @ 2.20GHz"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := cpuModel("processor\t: 0\n"); got != runtime.GOARCH {
		t.Fatalf("without a model name: got %q, want %q", got, runtime.GOARCH)
	}
	if CPUModel() == "" {
		t.Fatal("CPUModel returned an empty string")
	}
}

func TestCPUTime(t *testing.T) {
	start := CPUTime()
	for deadline := time.Now().Add(time.Second); CPUTime()-start < 20*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatalf("CPUTime did not grow past %v after a second of spinning", start)
		}
	}
}
