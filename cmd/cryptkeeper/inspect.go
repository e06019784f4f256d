package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
)

// headerInfo is a message header as inspect and --metadata-output print it.
// Nothing in it is authenticated by inspect, which holds no key.
type headerInfo struct {
	Version           int               `json:"version"`
	Suite             string            `json:"suite"`
	SuiteID           string            `json:"suite_id"`
	Signed            bool              `json:"signed"`
	Committing        bool              `json:"committing"`
	MessageID         string            `json:"message_id"`
	EncryptionContext map[string]string `json:"encryption_context"`
	EncryptedDataKeys []edkInfo         `json:"encrypted_data_keys"`
	ContentType       string            `json:"content_type"`
	FrameLength       int               `json:"frame_length"`
	HeaderLength      int               `json:"header_length"`
}

// edkInfo is one encrypted data key: who wraps it, never the wrapped key.
type edkInfo struct {
	ProviderID       string `json:"provider_id"`
	ProviderInfo     string `json:"provider_info"`
	ProviderInfoB64  bool   `json:"provider_info_base64,omitempty"`
	CiphertextLength int    `json:"ciphertext_length"`
}

// bodyInfo is the layout of the body after the header.
type bodyInfo struct {
	Frames          int   `json:"frames"`
	FinalFrameLen   int   `json:"final_frame_length"`
	PlaintextLength int64 `json:"plaintext_length"`
	SignatureLength int   `json:"signature_length,omitempty"`
	MessageLength   int64 `json:"message_length"`
}

type inspectOutput struct {
	*headerInfo
	Body *bodyInfo `json:"body,omitempty"`
}

// errTrailing is bytes after the message end.
var errTrailing = errors.New("bytes after the end of the message")

func newInspect(e *env) *cobra.Command {
	var headerOnly bool
	cmd := &cobra.Command{
		Use:   "inspect [FILE|-]",
		Short: "Print a message's header and body layout as JSON, without any key",
		Long: `Print what a message says about itself: algorithm suite, encryption context,
the providers and key ids of its encrypted data keys, frame length, and the
layout of its body (frames, plaintext length, signature). Nothing is
authenticated: no key is used.`,
		Example: `  cryptkeeper inspect backup.tar.ck
  cryptkeeper inspect --header-only - < backup.tar.ck | jq .encrypted_data_keys`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "-"
			if len(args) == 1 {
				name = args[0]
			}
			var src io.Reader = e.stdin
			if name != "-" {
				f, err := os.Open(name)
				if err != nil {
					return &fileError{op: "inspect", name: name, err: err}
				}
				defer f.Close()
				src = f
			}
			br := bufio.NewReaderSize(ctxReader{cmd.Context(), src}, 1<<20)
			h, err := parseHeader(br)
			if err != nil {
				return &fileError{op: "inspect", name: name, err: err}
			}
			out := inspectOutput{headerInfo: h}
			if !headerOnly {
				if out.Body, err = walkBody(br, h); err != nil {
					return &fileError{op: "inspect", name: name, err: err}
				}
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	cmd.Flags().BoolVar(&headerOnly, "header-only", false, "read only the header")
	return cmd
}

// msgReader reads the big-endian fields of a message, counting bytes.
type msgReader struct {
	r   io.Reader
	n   int64
	err error
}

func (m *msgReader) bytes(n int) []byte {
	if m.err != nil {
		return nil
	}
	if n > 1<<16+8 {
		m.err = fmt.Errorf("%w: field of %d bytes", envelope.ErrFormat, n)
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(m.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: truncated", envelope.ErrFormat)
		}
		m.err = err
		return nil
	}
	m.n += int64(n)
	return b
}

func (m *msgReader) skip(n int64) {
	if m.err != nil {
		return
	}
	k, err := io.CopyN(io.Discard, m.r, n)
	m.n += k
	if err != nil {
		m.err = fmt.Errorf("%w: truncated", envelope.ErrFormat)
	}
}

func (m *msgReader) u8() int { b := m.bytes(1); return int(at(b, 1)) }
func (m *msgReader) u16() int {
	b := m.bytes(2)
	if b == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(b))
}
func (m *msgReader) u32() uint32 {
	b := m.bytes(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}
func (m *msgReader) field() []byte { return m.bytes(m.u16()) }

func at(b []byte, n int) byte {
	if len(b) < n {
		return 0
	}
	return b[0]
}

func printable(b []byte) (string, bool) {
	if utf8.Valid(b) {
		for _, r := range string(b) {
			if r < 0x20 || r == 0x7f {
				return base64.StdEncoding.EncodeToString(b), true
			}
		}
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

// parseHeader reads a message header (format versions 1 and 2; see the
// AWS Encryption SDK message format) and its authentication fields.
func parseHeader(r io.Reader) (*headerInfo, error) {
	m := &msgReader{r: r}
	h := &headerInfo{Version: m.u8()}
	switch h.Version {
	case 1:
		if m.u8() != 0x80 && m.err == nil {
			return nil, fmt.Errorf("%w: unknown message type", envelope.ErrFormat)
		}
	case 2:
	default:
		if m.err != nil {
			return nil, m.err
		}
		return nil, fmt.Errorf("%w: unknown version %d", envelope.ErrFormat, h.Version)
	}
	id := envelope.SuiteID(m.u16())
	if m.err == nil && id.DataKeyLength() == 0 {
		return nil, fmt.Errorf("%w: unknown suite %04X", envelope.ErrFormat, uint16(id))
	}
	h.Suite, h.SuiteID, h.Signed, h.Committing = id.String(), fmt.Sprintf("0x%04X", uint16(id)), id.Signed(), id.Committing()
	idLen := 16
	if h.Version == 2 {
		idLen = 32
	}
	h.MessageID = hex.EncodeToString(m.bytes(idLen))
	aad := m.field()
	h.EncryptionContext = map[string]string{}
	if len(aad) > 0 {
		a := &msgReader{r: bytes.NewReader(aad)}
		for n := a.u16(); n > 0 && a.err == nil; n-- {
			k, v := a.field(), a.field()
			h.EncryptionContext[string(k)] = string(v)
		}
		if a.err != nil {
			return nil, fmt.Errorf("%w: encryption context", envelope.ErrFormat)
		}
	}
	n := m.u16()
	if m.err == nil && n == 0 {
		return nil, fmt.Errorf("%w: no encrypted data key", envelope.ErrFormat)
	}
	for ; n > 0 && m.err == nil; n-- {
		pid, info, ct := m.field(), m.field(), m.field()
		s, b64 := printable(info)
		h.EncryptedDataKeys = append(h.EncryptedDataKeys, edkInfo{ProviderID: string(pid), ProviderInfo: s, ProviderInfoB64: b64, CiphertextLength: len(ct)})
	}
	switch envelope.ContentType(m.u8()) {
	case envelope.Framed:
		h.ContentType = "framed"
	case envelope.NonFramed:
		h.ContentType = "non-framed"
	default:
		if m.err == nil {
			return nil, fmt.Errorf("%w: unknown content type", envelope.ErrFormat)
		}
	}
	if h.Version == 1 {
		m.skip(4) // reserved
		if iv := m.u8(); iv != 12 && m.err == nil {
			return nil, fmt.Errorf("%w: IV length %d", envelope.ErrFormat, iv)
		}
		h.FrameLength = int(m.u32())
		m.skip(12 + 16) // header IV and tag
	} else {
		h.FrameLength = int(m.u32())
		m.skip(32 + 16) // suite data (commitment) and header tag
	}
	if m.err != nil {
		return nil, m.err
	}
	h.HeaderLength = int(m.n)
	return h, nil
}

// walkBody reads the body and footer after the header, reporting their
// layout; no frame is decrypted.
func walkBody(r io.Reader, h *headerInfo) (*bodyInfo, error) {
	m := &msgReader{r: r}
	b := &bodyInfo{}
	if h.ContentType == "non-framed" {
		m.skip(12)
		l := m.bytes(8)
		if l != nil {
			n := binary.BigEndian.Uint64(l)
			if n > 1<<36 {
				return nil, fmt.Errorf("%w: body length", envelope.ErrFormat)
			}
			b.PlaintextLength, b.Frames, b.FinalFrameLen = int64(n), 1, int(n)
			m.skip(int64(n) + 16)
		}
	} else {
		for seq := uint32(1); m.err == nil; seq++ {
			s := m.u32()
			if s == 0xFFFFFFFF {
				if got := m.u32(); got != seq && m.err == nil {
					return nil, fmt.Errorf("%w: final frame number %d, want %d", envelope.ErrFormat, got, seq)
				}
				m.skip(12)
				n := m.u32()
				if int64(n) > int64(h.FrameLength) && m.err == nil {
					return nil, fmt.Errorf("%w: final frame longer than a frame", envelope.ErrFormat)
				}
				m.skip(int64(n) + 16)
				b.Frames, b.FinalFrameLen = int(seq), int(n)
				b.PlaintextLength += int64(n)
				break
			}
			if s != seq && m.err == nil {
				return nil, fmt.Errorf("%w: frame number %d, want %d", envelope.ErrFormat, s, seq)
			}
			m.skip(12 + int64(h.FrameLength) + 16)
			b.PlaintextLength += int64(h.FrameLength)
		}
	}
	if h.Signed {
		b.SignatureLength = len(m.field())
	}
	if m.err != nil {
		return nil, m.err
	}
	if k, _ := io.CopyN(io.Discard, r, 1); k != 0 {
		return nil, fmt.Errorf("%w: %w", envelope.ErrFormat, errTrailing)
	}
	b.MessageLength = int64(h.HeaderLength) + m.n
	return b, nil
}
