package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// tempSuffix ends the name of every temporary output file; --recursive
// skips such files.
const tempSuffix = ".cryptkeeper-tmp"

// grace is how long a command may take to clean up after a signal before
// its temporary files are removed for it.
const grace = time.Second

// temps holds the temporary files being written, so that a signal can
// remove them even while a read blocks.
var temps sync.Map

// removeTempsOnSignal removes every temporary file and exits with
// exitInterrupted if the command has not returned within grace of ctx
// ending (a read that blocks on a stalled pipe never sees ctx).
func removeTempsOnSignal(ctx context.Context, done <-chan struct{}, stderr io.Writer, grace time.Duration) {
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	select {
	case <-done:
	case <-time.After(grace):
		temps.Range(func(k, _ any) bool {
			os.Remove(k.(string))
			return true
		})
		fmt.Fprintln(stderr, "cryptkeeper: interrupted; partial output removed")
		os.Exit(exitInterrupted)
	}
}

// writeAtomic creates dest through a temporary file beside it: fill writes
// the content, and dest appears only if fill and the writes succeed. Without
// force an existing dest is never replaced (not even one created meanwhile).
func writeAtomic(ctx context.Context, dest string, force bool, fill func(f *os.File) error) (err error) {
	if !force {
		if _, err := os.Lstat(dest); err == nil {
			return errExists
		}
	}
	dir, base := filepath.Split(dest)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*"+tempSuffix)
	if err != nil {
		// Name the destination, not the temporary file.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("creating %s: %w", dest, err)
	}
	name := tmp.Name()
	temps.Store(name, struct{}{})
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(name)
		}
		temps.Delete(name)
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if force {
		return os.Rename(name, dest)
	}
	// A hard link fails if dest exists, unlike a rename.
	if err := os.Link(name, dest); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errExists
		}
		// File systems without hard links: check and rename.
		if _, serr := os.Lstat(dest); serr == nil {
			return errExists
		}
		return os.Rename(name, dest)
	}
	return os.Remove(name)
}

// ctxReader stops reading once ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// job is one input and its output ("-" for standard streams).
type job struct {
	in, out string
	size    int64 // -1 when unknown
}

// planJobs turns --input and --output into jobs.
func planJobs(in, out string, recursive bool, suffix string) ([]job, error) {
	if in == "" || out == "" {
		return nil, usagef("--input and --output are required (\"-\" for standard input and output)")
	}
	if in == "-" {
		if isDir(out) {
			return nil, usagef("--output %s: a directory cannot take standard input", out)
		}
		return []job{{in: "-", out: out, size: -1}}, nil
	}
	fi, err := os.Stat(in)
	if err != nil {
		return nil, &fileError{op: "open", name: in, err: err}
	}
	if !fi.IsDir() {
		if isDir(out) {
			out = filepath.Join(out, filepath.Base(in)+suffix)
		}
		if !fi.Mode().IsRegular() {
			// A pipe or device: its size says nothing.
			return []job{{in: in, out: out, size: -1}}, nil
		}
		return []job{{in: in, out: out, size: fi.Size()}}, nil
	}
	if !recursive {
		return nil, usagef("--input %s is a directory: add --recursive", in)
	}
	if out == "-" {
		return nil, usagef("--output: a directory cannot go to standard output")
	}
	var jobs []job
	err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || strings.HasSuffix(p, tempSuffix) {
			return nil
		}
		rel, err := filepath.Rel(in, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		jobs = append(jobs, job{in: p, out: filepath.Join(out, rel+suffix), size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, &fileError{op: "walk", name: in, err: err}
	}
	return jobs, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
