package envelope

import (
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// ContentType says how a message body is laid out.
type ContentType byte

const (
	// NonFramed bodies hold one AES-GCM ciphertext. They are read, never written.
	NonFramed ContentType = 1
	// Framed bodies hold a sequence of frames. Every new message is framed.
	Framed ContentType = 2
)

const (
	headerTypeCustomerAED = 0x80
	ivLen                 = 12
	tagLen                = 16
	commitKeyLen          = 32
)

// Header is the authenticated header of a message. Decrypt and
// (*Reader).Header return it only after it has been authenticated.
type Header struct {
	// Version is the message format version, 1 or 2.
	Version int
	// Suite is the algorithm suite of the message.
	Suite SuiteID
	// MessageID is the random message identifier (16 bytes in version 1,
	// 32 in version 2).
	MessageID []byte
	// Context is the encryption context stored in the header. On signed
	// suites it includes aws-crypto-public-key. Required pairs are not
	// stored and so are not included.
	Context map[string]string
	// EncryptedDataKeys are the data key wrapped once per wrapping key.
	EncryptedDataKeys []keyring.EncryptedDataKey
	// ContentType is Framed or NonFramed.
	ContentType ContentType
	// FrameSize is the plaintext length of a regular frame (0 when non-framed).
	FrameSize int

	headerIV  []byte // v1 only
	commitKey []byte // v2 only
	raw       []byte // header body exactly as read or written
	authTag   []byte
}

// Providers returns the provider ID of each encrypted data key, in order.
func (h *Header) Providers() []string {
	out := make([]string, len(h.EncryptedDataKeys))
	for i, e := range h.EncryptedDataKeys {
		out[i] = e.ProviderID
	}
	return out
}

// marshal serializes the header body; storedEC is the context written to
// the header (materials EC minus required keys).
func (h *Header) marshal(storedEC []byte) []byte {
	return h.appendMarshal(make([]byte, 0, h.marshalLen(storedEC)), storedEC)
}

// marshalLen returns the length of the serialized header body.
func (h *Header) marshalLen(storedEC []byte) int {
	n := 1 + 2 + len(h.MessageID) + 2 + len(storedEC) + 2 + 1 + 4
	if h.Version == 1 {
		n += 1 + 5 // message type; reserved field and IV length
	} else {
		n += len(h.commitKey)
	}
	for _, e := range h.EncryptedDataKeys {
		n += 6 + len(e.ProviderID) + len(e.ProviderInfo) + len(e.Ciphertext)
	}
	return n
}

// appendMarshal appends the serialized header body to b.
func (h *Header) appendMarshal(b []byte, storedEC []byte) []byte {
	b = append(b, byte(h.Version))
	if h.Version == 1 {
		b = append(b, headerTypeCustomerAED)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(h.Suite))
	b = append(b, h.MessageID...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(storedEC)))
	b = append(b, storedEC...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.EncryptedDataKeys)))
	for _, e := range h.EncryptedDataKeys {
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.ProviderID)))
		b = append(b, e.ProviderID...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.ProviderInfo)))
		b = append(b, e.ProviderInfo...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Ciphertext)))
		b = append(b, e.Ciphertext...)
	}
	b = append(b, byte(h.ContentType))
	if h.Version == 1 {
		b = append(b, 0, 0, 0, 0, ivLen)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(h.FrameSize))
	if h.Version == 2 {
		b = append(b, h.commitKey...)
	}
	return b
}

// headerParser reads header fields from r, keeping the raw bytes and
// enforcing the size limits before allocating.
type headerParser struct {
	r       io.Reader
	raw     []byte
	maxSize int
	maxEDKs int
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

func limitErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrLimit}, args...)...)
}

// truncated maps an error reading what from the source: an unexpected end
// of input to ErrFormat, any other read error to ErrTransient (readErr).
func truncated(err error, what string) error { return readErr(err, what) }

func (p *headerParser) next(n int, what string) ([]byte, error) {
	if len(p.raw)+n > p.maxSize {
		return nil, limitErr("header longer than %d bytes", p.maxSize)
	}
	start := len(p.raw)
	p.raw = slices.Grow(p.raw, n)[:start+n]
	if _, err := io.ReadFull(p.r, p.raw[start:]); err != nil {
		return nil, truncated(err, what)
	}
	// The bytes of a field are never written again (later fields go after
	// them, in this array or a grown copy), so fields may keep them; the
	// capacity is cut so that appending to a field cannot reach the next.
	return p.raw[start : start+n : start+n], nil
}

func (p *headerParser) u8(what string) (byte, error) {
	b, err := p.next(1, what)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (p *headerParser) u16(what string) (int, error) {
	b, err := p.next(2, what)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(b)), nil
}

func (p *headerParser) u32(what string) (uint32, error) {
	b, err := p.next(4, what)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

// lenPrefixed reads a field with a two-byte length; lenWhat names the
// length in errors (a constant, so that nothing is built per field).
func (p *headerParser) lenPrefixed(what, lenWhat string) ([]byte, error) {
	n, err := p.u16(lenWhat)
	if err != nil {
		return nil, err
	}
	return p.next(n, what)
}

// parseHeader reads a header body and its authentication fields from r.
// Nothing in the result may be trusted until it is authenticated.
func parseHeader(r io.Reader, maxSize, maxEDKs int) (*Header, error) {
	// Most headers fit in 512 bytes; the slice grows as input arrives.
	p := &headerParser{r: r, raw: make([]byte, 0, min(512, maxSize)), maxSize: maxSize, maxEDKs: maxEDKs}
	h := &Header{}
	v, err := p.u8("version")
	if err != nil {
		return nil, err
	}
	switch v {
	case 1:
		t, err := p.u8("type")
		if err != nil {
			return nil, err
		}
		if t != headerTypeCustomerAED {
			return nil, formatErr("unknown message type 0x%02X", t)
		}
	case 2:
	case 'A':
		return nil, formatErr("input looks base64-encoded; decode it first")
	default:
		return nil, formatErr("unknown message format version 0x%02X", v)
	}
	h.Version = int(v)
	sid, err := p.u16("suite id")
	if err != nil {
		return nil, err
	}
	h.Suite = SuiteID(sid)
	s, ok := lookupSuite(h.Suite)
	if !ok {
		return nil, formatErr("unknown algorithm suite 0x%04X", sid)
	}
	if int(s.version) != h.Version {
		return nil, formatErr("suite %v does not belong to format version %d", h.Suite, h.Version)
	}
	mid, err := p.next(s.messageIDLen(), "message id")
	if err != nil {
		return nil, err
	}
	h.MessageID = mid
	ecBytes, err := p.lenPrefixed("encryption context", "encryption context length")
	if err != nil {
		return nil, err
	}
	if h.Context, err = parseContext(ecBytes); err != nil {
		return nil, err
	}
	if err := p.parseEDKs(h); err != nil {
		return nil, err
	}
	ct, err := p.u8("content type")
	if err != nil {
		return nil, err
	}
	h.ContentType = ContentType(ct)
	if h.ContentType != Framed && h.ContentType != NonFramed {
		return nil, formatErr("unknown content type 0x%02X", ct)
	}
	if h.Version == 1 {
		reserved, err := p.next(4, "reserved field")
		if err != nil {
			return nil, err
		}
		if binary.BigEndian.Uint32(reserved) != 0 {
			return nil, formatErr("reserved field is not zero")
		}
		ivl, err := p.u8("IV length")
		if err != nil {
			return nil, err
		}
		if ivl != ivLen {
			return nil, formatErr("IV length %d, want %d", ivl, ivLen)
		}
	}
	fl, err := p.u32("frame length")
	if err != nil {
		return nil, err
	}
	switch {
	case h.ContentType == Framed && fl == 0:
		return nil, formatErr("framed message with frame length 0")
	case h.ContentType == NonFramed && fl != 0:
		return nil, formatErr("non-framed message with frame length %d", fl)
	case uint64(fl) > MaxFrameSize:
		return nil, limitErr("frame length %d exceeds %d", fl, MaxFrameSize)
	}
	h.FrameSize = int(fl)
	if h.Version == 2 {
		ck, err := p.next(commitKeyLen, "commitment key")
		if err != nil {
			return nil, err
		}
		h.commitKey = ck
	}
	bodyLen := len(p.raw)
	if h.Version == 1 {
		iv, err := p.next(ivLen, "header IV")
		if err != nil {
			return nil, err
		}
		h.headerIV = iv
	}
	tag, err := p.next(tagLen, "header tag")
	if err != nil {
		return nil, err
	}
	h.authTag = tag
	h.raw = p.raw[:bodyLen:bodyLen]
	return h, nil
}

func (p *headerParser) parseEDKs(h *Header) error {
	n, err := p.u16("encrypted data key count")
	if err != nil {
		return err
	}
	if n == 0 {
		return formatErr("no encrypted data keys")
	}
	if n > p.maxEDKs {
		return limitErr("%d encrypted data keys exceed the maximum of %d", n, p.maxEDKs)
	}
	h.EncryptedDataKeys = make([]keyring.EncryptedDataKey, 0, min(n, 16))
	for range n {
		pid, err := p.lenPrefixed("provider id", "provider id length")
		if err != nil {
			return err
		}
		if !utf8.Valid(pid) {
			return formatErr("provider id is not UTF-8")
		}
		info, err := p.lenPrefixed("provider info", "provider info length")
		if err != nil {
			return err
		}
		ct, err := p.lenPrefixed("encrypted data key", "encrypted data key length")
		if err != nil {
			return err
		}
		h.EncryptedDataKeys = append(h.EncryptedDataKeys, keyring.EncryptedDataKey{
			ProviderID: string(pid), ProviderInfo: info, Ciphertext: ct,
		})
	}
	return nil
}

// parseContext decodes a serialized encryption context. Stored order is
// not required to be canonical; duplicates and malformed pairs are errors.
func parseContext(b []byte) (map[string]string, error) {
	ec := map[string]string{}
	if len(b) == 0 {
		return ec, nil
	}
	if len(b) < 2 {
		return nil, formatErr("encryption context too short")
	}
	count := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if count == 0 {
		if len(b) != 0 {
			return nil, formatErr("encryption context has no pairs but %d more bytes", len(b))
		}
		return ec, nil
	}
	field := func() (string, error) {
		if len(b) < 2 {
			return "", formatErr("encryption context truncated")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return "", formatErr("encryption context truncated")
		}
		s := b[2 : 2+n]
		b = b[2+n:]
		if !utf8.Valid(s) {
			return "", formatErr("encryption context is not UTF-8")
		}
		return string(s), nil
	}
	for range count {
		k, err := field()
		if err != nil {
			return nil, err
		}
		v, err := field()
		if err != nil {
			return nil, err
		}
		if _, dup := ec[k]; dup {
			return nil, formatErr("duplicate encryption context key %q", k)
		}
		ec[k] = v
	}
	if len(b) != 0 {
		return nil, formatErr("%d bytes after the encryption context pairs", len(b))
	}
	return ec, nil
}

// clone returns a copy safe to hand to a caller.
func (h *Header) clone() *Header {
	c := *h
	c.Context = maps.Clone(h.Context)
	c.EncryptedDataKeys = slices.Clone(h.EncryptedDataKeys)
	return &c
}
