package keyring

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// ReservedPrefix starts the encryption-context keys that only the library
// itself may set.
const ReservedPrefix = "aws-crypto-"

// PublicKeyContextKey carries the message's verification key on signed suites.
const PublicKeyContextKey = "aws-crypto-public-key"

// MaxContextBytes bounds the serialized encryption context. The format
// allows 65,535 bytes; peers (the Java SDK) refuse more than 32,767.
const MaxContextBytes = 32767

// ValidateContext checks a caller-supplied encryption context: no reserved
// (aws-crypto-) keys, no empty keys or values, valid UTF-8, and a
// serialized size of at most MaxContextBytes.
func ValidateContext(ec map[string]string) error {
	for k, v := range ec {
		if strings.HasPrefix(k, ReservedPrefix) {
			return fmt.Errorf("%w: key %q uses the reserved prefix %q", ErrInvalidContext, k, ReservedPrefix)
		}
		if k == "" || v == "" {
			return fmt.Errorf("%w: empty key or value (key %q)", ErrInvalidContext, k)
		}
	}
	b, err := SerializeContext(ec)
	if err != nil {
		return err
	}
	if len(b) > MaxContextBytes {
		return fmt.Errorf("%w: serialized size %d exceeds %d bytes", ErrInvalidContext, len(b), MaxContextBytes)
	}
	return nil
}

// SerializeContext returns the canonical serialization of ec: empty for an
// empty context, otherwise a two-byte count followed by length-prefixed
// key/value pairs sorted by the unsigned bytes of their UTF-8 keys. It
// enforces only what the format can represent (valid UTF-8, at most 65,535
// bytes); ValidateContext adds the stricter rules for new messages.
func SerializeContext(ec map[string]string) ([]byte, error) {
	if len(ec) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(ec))
	size := 2
	for k, v := range ec {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("%w: key or value is not valid UTF-8 (key %q)", ErrInvalidContext, k)
		}
		size += 4 + len(k) + len(v)
		keys = append(keys, k)
	}
	if size > 0xffff {
		return nil, fmt.Errorf("%w: serialized size %d exceeds 65535 bytes", ErrInvalidContext, size)
	}
	slices.Sort(keys) // Go compares strings bytewise: the canonical order.
	out := make([]byte, 2, size)
	binary.BigEndian.PutUint16(out, uint16(len(keys)))
	for _, k := range keys {
		out = binary.BigEndian.AppendUint16(out, uint16(len(k)))
		out = append(out, k...)
		v := ec[k]
		out = binary.BigEndian.AppendUint16(out, uint16(len(v)))
		out = append(out, v...)
	}
	return out, nil
}
