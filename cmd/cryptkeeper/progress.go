package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressMin is the input size from which a single file gets a progress
// bar; --recursive shows one from progressMinFiles files.
const (
	progressMin      = 32 << 20
	progressMinFiles = 20
)

// progress draws a bar on stderr when stderr is a terminal (never when
// piped or with --quiet): bytes, rate and ETA for one large input, files
// done for --recursive. A nil *progress draws nothing.
type progress struct {
	bar   *progressbar.ProgressBar
	files bool
}

func newProgress(stderr io.Writer, quiet bool, jobs []job, recursive bool) *progress {
	f, ok := stderr.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	common := []progressbar.Option{
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionFullWidth(),
	}
	if recursive {
		if len(jobs) < progressMinFiles {
			return nil
		}
		return &progress{files: true, bar: progressbar.NewOptions64(int64(len(jobs)),
			append(common, progressbar.OptionSetDescription("files"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("files"))...)}
	}
	size := jobs[0].size
	if size >= 0 && size < progressMin {
		return nil
	}
	return &progress{bar: progressbar.NewOptions64(size,
		append(common, progressbar.OptionShowBytes(true), progressbar.OptionShowTotalBytes(true), progressbar.OptionUseIECUnits(true))...)}
}

// reader counts the bytes of a single input.
func (p *progress) reader(r io.Reader, _ int64) io.Reader {
	if p == nil || p.files {
		return r
	}
	pr := progressbar.NewReader(r, p.bar)
	return &pr
}

func (p *progress) fileDone() {
	if p != nil && p.files {
		_ = p.bar.Add(1)
	}
}

// clear removes the bar so that a message starts on a clean line.
func (p *progress) clear() {
	if p != nil {
		_ = p.bar.Clear()
	}
}

func (p *progress) finish() {
	if p != nil {
		_ = p.bar.Finish()
	}
}
