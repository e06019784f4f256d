package sqlcrypto

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"reflect"
)

// The value format (FORMAT.md): version, type, key id, nonce, then the
// AES-256-GCM ciphertext and tag.
const (
	formatVersion = 0x01
	headerSize    = 1 + 1 + 4 + 12
	tagSize       = 16
	// Overhead is the number of bytes a sealed value adds to its
	// plaintext encoding (before base64 with WithText).
	Overhead = headerSize + tagSize
)

// rawValue returns the binary form of a stored value: bytes starting with
// the format version as they are, other bytes and strings base64-decoded.
func rawValue(src any) ([]byte, error) {
	var raw []byte
	switch s := src.(type) {
	case []byte:
		if len(s) > 0 && s[0] == formatVersion {
			raw = s
		} else if raw = decodeBase64(s); raw == nil {
			return nil, fmt.Errorf("%w: bytes neither a value nor base64", ErrNotEncrypted)
		}
	case string:
		if raw = decodeBase64(s); raw == nil {
			return nil, fmt.Errorf("%w: text is not base64", ErrNotEncrypted)
		}
	case nil:
		return nil, fmt.Errorf("%w: NULL", ErrNotEncrypted)
	default:
		return nil, fmt.Errorf("%w: stored value of type %T", ErrNotEncrypted, src)
	}
	if len(raw) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes, shorter than %d", ErrNotEncrypted, len(raw), Overhead)
	}
	if raw[0] != formatVersion {
		return nil, fmt.Errorf("%w: format version %d", ErrNotEncrypted, raw[0])
	}
	if raw[1] > typeLast {
		return nil, fmt.Errorf("%w: value type %d", ErrNotEncrypted, raw[1])
	}
	return raw, nil
}

func decodeBase64[T string | []byte](s T) []byte {
	if len(s) > 1<<30 {
		return nil
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, []byte(s))
	if err != nil {
		return nil
	}
	return out[:n]
}

// rowSize is the length of a row key's encoding in the associated data.
func rowSize(row any) (int, error) {
	switch r := row.(type) {
	case string:
		return 1 + binary.MaxVarintLen64 + len(r), nil
	case []byte:
		return 1 + binary.MaxVarintLen64 + len(r), nil
	case int, int8, int16, int32, int64, uint8, uint16, uint32:
		return 1 + 8, nil
	}
	return 0, fmt.Errorf("%w: row key of type %s (want string, []byte or an integer)", ErrType, reflect.TypeOf(row))
}

// putRow writes the row key's encoding: 's' and the length-prefixed bytes
// of a string or []byte (the same for both), or 'i' and an integer as 8
// big-endian bytes. It returns the length written.
func putRow(dst []byte, row any) int {
	var s string
	switch r := row.(type) {
	case string:
		s = r
	case []byte:
		dst[0] = 's'
		n := 1 + binary.PutUvarint(dst[1:], uint64(len(r)))
		return n + copy(dst[n:], r)
	default:
		i, _ := toInt64(row)
		dst[0] = 'i'
		binary.BigEndian.PutUint64(dst[1:], uint64(i))
		return 9
	}
	dst[0] = 's'
	n := 1 + binary.PutUvarint(dst[1:], uint64(len(s)))
	return n + copy(dst[n:], s)
}

// putAAD writes the associated data of a value: its first six bytes
// (version, type, key id), the column's table and name, and the row
// binding. It returns the length written.
func (c *Column) putAAD(dst, head []byte, row any, bound bool) int {
	n := copy(dst, head[:6])
	n += copy(dst[n:], c.aad)
	if !bound {
		dst[n] = 0
		return n + 1
	}
	dst[n] = 1
	n++
	return n + putRow(dst[n:], row)
}

// columnAAD is the part of the associated data that names the table and
// column.
func columnAAD(table, column string) []byte {
	aad := []byte("cryptkeeper-sql-v1")
	aad = appendField(aad, []byte(table))
	return appendField(aad, []byte(column))
}

// precomputedAADs returns the associated data of values that are not
// row-bound, per type, for data key id.
func precomputedAADs(table, column string, id uint32) [typeLast + 1][]byte {
	var out [typeLast + 1][]byte
	col := columnAAD(table, column)
	for typ := range out {
		a := make([]byte, 6, 6+len(col)+1)
		a[0], a[1] = formatVersion, byte(typ)
		binary.BigEndian.PutUint32(a[2:6], id)
		a = append(a, col...)
		out[typ] = append(a, 0)
	}
	return out
}

// seal encrypts v under the active key into a fresh buffer, leaving pre
// bytes free before the value; nil means NULL that stays NULL.
func (c *Column) seal(pre int, v, row any, bound bool) (buf, val []byte, err error) {
	var p plain
	if err := p.set(v); err != nil {
		return nil, nil, err
	}
	return c.sealPlain(pre, &p, row, bound)
}

// sealPlain is seal of a value already in its plaintext encoding.
func (c *Column) sealPlain(pre int, p *plain, row any, bound bool) (buf, val []byte, err error) {
	s := c.keys.snap.Load()
	if s == nil {
		return nil, nil, ErrClosed
	}
	if p.typ == typeNull && !c.cfg.encryptNull {
		return nil, nil, nil
	}
	aadLen := 0 // the associated data of values not row-bound is precomputed
	if bound {
		rs, err := rowSize(row)
		if err != nil {
			return nil, nil, err
		}
		aadLen = 6 + len(c.aad) + 1 + rs
	}
	k := s.activeData
	n := p.size()
	buf = make([]byte, pre+headerSize+n+tagSize+aadLen)
	out := buf[pre:]
	out[0], out[1] = formatVersion, p.typ
	binary.BigEndian.PutUint32(out[2:6], k.id)
	p.put(out[headerSize : headerSize+n])
	aad := k.aads[p.typ]
	if bound {
		tail := out[headerSize+n+tagSize:]
		aad = tail[:c.putAAD(tail, out, row, bound)]
	}
	if c.cfg.deterministic {
		// A synthetic nonce: a MAC of everything that is authenticated,
		// under a key of its own, so that only equal values (in the same
		// column, row and type) share a nonce, and then also a ciphertext.
		m := hmac.New(sha256.New, k.nonceKey())
		m.Write(aad)
		m.Write(out[headerSize : headerSize+n])
		var sum [sha256.Size]byte
		copy(out[6:headerSize], m.Sum(sum[:0]))
	} else if _, err := rand.Read(out[6:headerSize]); err != nil {
		return nil, nil, fmt.Errorf("sqlcrypto: random nonce: %w", err)
	}
	end := headerSize + n + tagSize
	k.aead.Seal(out[:headerSize], out[6:headerSize], out[headerSize:headerSize+n], aad)
	return buf, out[:end:end], nil
}

// open authenticates and decrypts a stored value, returning its type and
// plaintext encoding (in a buffer of its own).
func (c *Column) open(src, row any, bound bool) (byte, []byte, error) {
	raw, err := rawValue(src)
	if err != nil {
		return 0, nil, err
	}
	s := c.keys.snap.Load()
	if s == nil {
		return 0, nil, ErrClosed
	}
	id := binary.BigEndian.Uint32(raw[2:6])
	k := s.data[id]
	if k == nil {
		if k, err = c.keys.refreshFor(id); err != nil {
			return 0, nil, err
		}
	}
	aadLen := 0
	if bound {
		rs, err := rowSize(row)
		if err != nil {
			return 0, nil, err
		}
		aadLen = 6 + len(c.aad) + 1 + rs
	}
	n := len(raw) - Overhead
	buf := make([]byte, n+aadLen)
	aad := k.aads[raw[1]]
	if bound {
		tail := buf[n:]
		aad = tail[:c.putAAD(tail, raw, row, bound)]
	}
	pt, err := k.aead.Open(buf[:0:n], raw[6:headerSize], raw[headerSize:], aad)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s.%s key %d", ErrAuthentication, c.keys.table, c.keys.column, id)
	}
	return raw[1], pt, nil
}
