package dynamocrypto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Item format constants (FORMAT.md).
const (
	formatVersion = 0x01
	itemIDLen     = 32
	commitLen     = 32
	macLen        = 48 // HMAC-SHA-384
	headerFixed   = 1 + 2 + itemIDLen + commitLen
	// maxEDKs bounds the encrypted data keys of a stored item.
	maxEDKs = 255
)

// Action codes of the header's attribute list.
const (
	codeEncrypt byte = 1
	codeSign    byte = 2
	codeContext byte = 3
)

// header is the parsed header attribute of an item.
type header struct {
	suite   Suite
	itemID  [itemIDLen]byte
	commit  [commitLen]byte
	context map[string]string
	edks    []keyring.EncryptedDataKey
	attrs   []signedAttr // sorted by name, unique
}

// signedAttr is one entry of the header's attribute list.
type signedAttr struct {
	name   string
	action Action // EncryptAndSign, SignOnly or SignAndIncludeInContext
	// check is the CRC-32 of the attribute's canonical stored encoding: not
	// security (the MAC is), only to name the attribute a failed MAC is
	// about.
	check uint32
}

// action returns the action the header lists for attribute name (the list
// is sorted: a binary search).
func (h *header) action(name string) (Action, bool) {
	i, ok := slices.BinarySearchFunc(h.attrs, name, func(a signedAttr, n string) int { return strings.Compare(a.name, n) })
	if !ok {
		return 0, false
	}
	return h.attrs[i].action, true
}

func actionCode(a Action) byte {
	switch a {
	case EncryptAndSign:
		return codeEncrypt
	case SignAndIncludeInContext:
		return codeContext
	}
	return codeSign
}

var errHeader = errors.New("malformed header")

func headerErr(format string, args ...any) error {
	return fmt.Errorf("%w: %w: "+format, append([]any{ErrFormat, errHeader}, args...)...)
}

func appendU16String(dst []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint16(dst, uint16(len(s))), s...)
}

func appendU16Bytes(dst, b []byte) []byte {
	return append(binary.BigEndian.AppendUint16(dst, uint16(len(b))), b...)
}

// marshal appends the header's encoding to dst. The context keys and
// attribute names must be sorted and every field within its limits
// (checked by the caller: checkMaterials, the item checks).
func (h *header) marshal(dst []byte, sortedKeys []string) []byte {
	dst = append(dst, formatVersion)
	dst = binary.BigEndian.AppendUint16(dst, uint16(h.suite))
	dst = append(dst, h.itemID[:]...)
	dst = append(dst, h.commit[:]...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(sortedKeys)))
	for _, k := range sortedKeys {
		dst = appendU16String(dst, k)
		dst = appendU16String(dst, h.context[k])
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(h.edks)))
	for _, e := range h.edks {
		dst = appendU16String(dst, e.ProviderID)
		dst = appendU16Bytes(dst, e.ProviderInfo)
		dst = appendU16Bytes(dst, e.Ciphertext)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(h.attrs)))
	for _, a := range h.attrs {
		dst = append(dst, actionCode(a.action))
		dst = appendU16String(dst, a.name)
		dst = binary.BigEndian.AppendUint32(dst, a.check)
	}
	return dst
}

type reader struct{ b []byte }

func (r *reader) u8() (byte, bool) {
	if len(r.b) < 1 {
		return 0, false
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v, true
}

func (r *reader) u16() (int, bool) {
	if len(r.b) < 2 {
		return 0, false
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return int(v), true
}

func (r *reader) u32() (uint32, bool) {
	if len(r.b) < 4 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v, true
}

func (r *reader) field() ([]byte, bool) {
	n, ok := r.u16()
	if !ok || n > len(r.b) {
		return nil, false
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v, true
}

// parseHeader decodes a header attribute. It checks the structure only
// (version, suite, sorted unique names, valid UTF-8, no trailing bytes);
// the header is authenticated later, by the key commitment and the footer.
// Byte fields of the result are copies.
func parseHeader(b []byte) (*header, error) {
	if len(b) < headerFixed {
		return nil, headerErr("%d bytes, shorter than %d", len(b), headerFixed)
	}
	if b[0] != formatVersion {
		return nil, headerErr("unknown format version %d", b[0])
	}
	h := &header{suite: Suite(binary.BigEndian.Uint16(b[1:]))}
	if h.suite != SuiteCommitHMAC && h.suite != SuiteCommitHMACECDSA {
		return nil, headerErr("unknown suite %#04x", uint16(h.suite))
	}
	copy(h.itemID[:], b[3:])
	copy(h.commit[:], b[3+itemIDLen:])
	r := reader{b: b[headerFixed:]}
	n, ok := r.u16()
	if !ok {
		return nil, headerErr("truncated encryption context")
	}
	// The keys and values are substrings of one copy of the context's
	// bytes: one allocation instead of two per entry.
	scan := r
	for range 2 * n {
		if _, ok := scan.field(); !ok {
			return nil, headerErr("truncated encryption context")
		}
	}
	sec := r.b
	cs := string(sec[:len(sec)-len(scan.b)])
	h.context = make(map[string]string, n)
	prev := ""
	for i := range n {
		kp := len(sec) - len(r.b) + 2
		k, _ := r.field()
		vp := len(sec) - len(r.b) + 2
		v, _ := r.field()
		if !utf8.Valid(k) || !utf8.Valid(v) {
			return nil, headerErr("encryption context is not valid UTF-8")
		}
		ks := cs[kp : kp+len(k)]
		if i > 0 && ks <= prev {
			return nil, headerErr("encryption context keys not sorted or repeated")
		}
		prev = ks
		h.context[ks] = cs[vp : vp+len(v)]
	}
	if n, ok = r.u16(); !ok || n == 0 || n > maxEDKs || n > len(r.b)/6 {
		return nil, headerErr("bad encrypted data key count")
	}
	// The byte fields are capped slices of one copy of the keys' bytes.
	scan = r
	for range 3 * n {
		if _, ok := scan.field(); !ok {
			return nil, headerErr("truncated encrypted data key")
		}
	}
	sec = r.b
	eb := bytes.Clone(sec[:len(sec)-len(scan.b)])
	field := func() []byte {
		p := len(sec) - len(r.b) + 2
		f, _ := r.field()
		return eb[p : p+len(f) : p+len(f)]
	}
	h.edks = make([]keyring.EncryptedDataKey, n)
	for i := range h.edks {
		id, info, ct := field(), field(), field()
		if !utf8.Valid(id) {
			return nil, headerErr("provider ID is not valid UTF-8")
		}
		h.edks[i] = keyring.EncryptedDataKey{ProviderID: string(id), ProviderInfo: info, Ciphertext: ct}
	}
	if n, ok = r.u16(); !ok || n > len(r.b)/7 {
		return nil, headerErr("bad attribute count")
	}
	h.attrs = make([]signedAttr, n)
	// The names are substrings of one copy of the list's bytes (the rest
	// of the header).
	asec := r.b
	as := string(asec)
	for i := range h.attrs {
		np := len(asec) - len(r.b) + 1 + 2
		code, ok1 := r.u8()
		name, ok2 := r.field()
		check, ok3 := r.u32()
		if !ok1 || !ok2 || !ok3 {
			return nil, headerErr("truncated attribute list")
		}
		var a Action
		switch code {
		case codeEncrypt:
			a = EncryptAndSign
		case codeSign:
			a = SignOnly
		case codeContext:
			a = SignAndIncludeInContext
		default:
			return nil, headerErr("unknown action code %d", code)
		}
		if len(name) == 0 || !utf8.Valid(name) {
			return nil, headerErr("empty or invalid attribute name")
		}
		ns := as[np : np+len(name)]
		if i > 0 && ns <= h.attrs[i-1].name {
			return nil, headerErr("attribute names not sorted or repeated")
		}
		h.attrs[i] = signedAttr{name: ns, action: a, check: check}
	}
	if len(r.b) != 0 {
		return nil, headerErr("%d trailing bytes", len(r.b))
	}
	return h, nil
}

// footer is the parsed footer attribute: the MAC and, on signed suites,
// the DER-encoded ECDSA signature.
type footer struct {
	mac []byte
	sig []byte
}

// maxSigLen bounds a DER ECDSA P-384 signature (at most 104 bytes).
const maxSigLen = 104

// parseFooter decodes a footer attribute for suite s.
func parseFooter(b []byte, s Suite) (footer, error) {
	if s != SuiteCommitHMACECDSA {
		if len(b) != macLen {
			return footer{}, fmt.Errorf("%w: footer of %d bytes, want %d", ErrFormat, len(b), macLen)
		}
		return footer{mac: b}, nil
	}
	if len(b) < macLen+2 {
		return footer{}, fmt.Errorf("%w: footer of %d bytes is too short for a signature", ErrFormat, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[macLen:]))
	if n == 0 || n > maxSigLen || len(b) != macLen+2+n {
		return footer{}, fmt.Errorf("%w: footer signature length %d does not match", ErrFormat, n)
	}
	return footer{mac: b[:macLen], sig: b[macLen+2:]}, nil
}

// marshalFooter returns the footer attribute for a MAC and signature.
func marshalFooter(mac, sig []byte) []byte {
	out := make([]byte, 0, macLen+2+len(sig))
	out = append(out, mac...)
	if sig != nil {
		out = binary.BigEndian.AppendUint16(out, uint16(len(sig)))
		out = append(out, sig...)
	}
	return out
}
