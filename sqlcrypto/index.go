package sqlcrypto

import (
	"cmp"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// Index returns the blind index of v for a column with WithBlindIndex: the
// HMAC-SHA256 of v's encoding (a string first passed through the
// column's normalizer) under the column's index key, truncated to the
// column's bits, as ceil(bits/8) bytes with the bits past the end zero (base64 text with WithText). A
// string and a []byte of the same bytes have the same index; other types
// never collide with them by construction. NULL stays NULL unless the
// column has WithEncryptedNull.
//
// Equal values have equal indexes: anyone who can read the index column
// sees which rows share a value (up to the false positives of truncation)
// and how often each value occurs. See SuggestBits.
func (c *Column) Index(v any) driver.Valuer {
	return c.indexValuer(c.index(v))
}

func (c *Column) indexValuer(buf []byte, err error) driver.Valuer {
	switch {
	case err != nil:
		return errValuer{err}
	case buf == nil:
		return nullValuer{}
	case c.cfg.text:
		return newTextValue(buf[lenSize:])
	}
	return newLenValue(buf, len(buf)-lenSize)
}

// Compound is a value made of several values, for a blind index over
// several columns: col.Index(sqlcrypto.Compound{last, birthYear}). Its
// parts are each encoded with their type and length, so that ("ab", "c")
// and ("a", "bc") differ. It can be indexed, not sealed.
type Compound []any

// index returns a buffer of lenSize free bytes and the index.
func (c *Column) index(v any) ([]byte, error) {
	if c.cfg.indexBits == 0 {
		return nil, fmt.Errorf("%w: %s.%s has no blind index", ErrInvalidOption, c.keys.table, c.keys.column)
	}
	s := c.keys.snap.Load()
	if s == nil {
		return nil, ErrClosed
	}
	return c.indexWith(s.activeIndex, v)
}

// IndexAll returns the blind indexes of v under every index key of the
// column, newest first, for lookups during an index-key rotation:
// WHERE idx IN (?, ?) with col.IndexAll(v)... as arguments. Outside a
// rotation it holds one value, equal to Index(v).
func (c *Column) IndexAll(v any) []any {
	s := c.keys.snap.Load()
	if s == nil || c.cfg.indexBits == 0 {
		return []any{c.Index(v)}
	}
	keys := make([]*indexKey, 0, len(s.index))
	for _, k := range s.index {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b *indexKey) int { return cmp.Compare(b.id, a.id) })
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = c.indexValuer(c.indexWith(k, v))
	}
	return out
}

func (c *Column) indexWith(k *indexKey, v any) ([]byte, error) {
	m := k.mac()
	defer k.pool.Put(m)
	var err error
	if parts, ok := v.(Compound); ok {
		m.buf = append(m.buf[:0], 'c')
		for _, part := range parts {
			if m.buf, err = c.appendIndexed(m.buf, part, true); err != nil {
				return nil, err
			}
		}
	} else {
		var null bool
		m.buf, err = c.appendIndexed(m.buf[:0], v, false)
		if err != nil {
			return nil, err
		}
		null = m.buf[0] == typeNull
		if null && !c.cfg.encryptNull {
			return nil, nil
		}
	}
	m.h.Reset()
	m.h.Write(m.buf)
	sum := m.h.Sum(m.sum[:0])
	bits := c.cfg.indexBits
	buf := make([]byte, lenSize+(bits+7)/8)
	out := buf[lenSize:]
	copy(out, sum)
	if r := bits % 8; r != 0 {
		out[len(out)-1] &= byte(0xff << (8 - r))
	}
	return buf, nil
}

// appendIndexed appends the index encoding of one value: its type (bytes
// count as strings), and, inside a Compound, its length.
func (c *Column) appendIndexed(buf []byte, v any, prefixed bool) ([]byte, error) {
	var p plain
	if err := p.set(v); err != nil {
		return buf, err
	}
	if p.typ == typeBytes {
		p.typ, p.s = typeString, unsafe.String(unsafe.SliceData(p.b), len(p.b))
	}
	if p.typ == typeString && c.cfg.normalize != nil {
		p.s = c.cfg.normalize(p.s)
	}
	buf = append(buf, p.typ)
	n := p.size()
	if prefixed {
		buf = binary.AppendUvarint(buf, uint64(n))
	}
	buf = append(buf, make([]byte, n)...)
	p.put(buf[len(buf)-n:])
	return buf, nil
}

// SuggestBits suggests blind-index bits for a column of about rows rows
// (at least 1) where a lookup may return about falsePositives rows that do
// not match (more than 0), to be filtered out after opening: the smallest
// bits with rows/2^bits <= falsePositives, within MinIndexBits and
// MaxIndexBits.
//
// The trade-off is leakage. An index of about log2(rows) bits or more is
// nearly unique per distinct value, so it shows exactly which rows share a
// value and each value's frequency, which lets an attacker who knows the
// distribution (surnames, birth years, a small set of SSNs) guess values.
// Fewer bits make each index value shared by about rows/2^bits rows,
// hiding which of them match at the cost of reading and opening them. Keep
// falsePositives at 1 or more for low-entropy data (e.g. booleans,
// ZIP codes, dates of birth); never index a value with only a few
// possible values.
func SuggestBits(rows int64, falsePositives float64) int {
	if rows < 1 {
		rows = 1
	}
	if !(falsePositives > 0) {
		return MaxIndexBits
	}
	bits := int(math.Ceil(math.Log2(float64(rows) / falsePositives)))
	return min(max(bits, MinIndexBits), MaxIndexBits)
}
