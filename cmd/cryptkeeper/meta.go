package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"sync"
)

// metaWriter appends one JSON line per message to --metadata-output.
type metaWriter struct {
	mu sync.Mutex
	w  io.Writer
	f  *os.File
}

func openMeta(name string, stdout io.Writer) (*metaWriter, error) {
	if name == "-" {
		return &metaWriter{w: stdout}, nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, usagef("--metadata-output: %w", err)
	}
	return &metaWriter{w: f, f: f}, nil
}

// metaLine is one line of --metadata-output.
type metaLine struct {
	Mode   string      `json:"mode"`
	Input  string      `json:"input"`
	Output string      `json:"output"`
	Header *headerInfo `json:"header"`
}

func (m *metaWriter) write(mode string, j job, hdr []byte) error {
	h, err := parseHeader(bytes.NewReader(hdr))
	if err != nil {
		return &fileError{op: mode, name: j.in, err: err}
	}
	b, err := json.Marshal(metaLine{Mode: mode, Input: j.in, Output: j.out, Header: h})
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err = m.w.Write(append(b, '\n'))
	return err
}

func (m *metaWriter) close() {
	if m.f != nil {
		m.f.Close()
	}
}
