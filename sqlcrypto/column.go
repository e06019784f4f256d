package sqlcrypto

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// Column seals, opens and indexes the values of one column of one table.
// It is safe for concurrent use; its methods need no context because the
// column's keys are already in memory.
type Column struct {
	keys *columnKeys
	cfg  columnConfig
	aad  []byte // "cryptkeeper-sql-v1", table and column, length-prefixed
}

// Column returns the column's sealer, creating its keys in the key store
// if it has none yet (one data key, and one blind-index key with
// WithBlindIndex). Concurrent first calls in several processes end with
// one key per purpose. Every stored key of the column is unwrapped now, one
// keyring call each; later calls for the same column in this Keyset reuse
// them.
func (ks *Keyset) Column(ctx context.Context, table, column string, opts ...ColumnOption) (*Column, error) {
	var cfg columnConfig
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil column option", ErrInvalidOption)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.normalize != nil && cfg.indexBits == 0 {
		return nil, fmt.Errorf("%w: WithNormalizer without WithBlindIndex", ErrInvalidOption)
	}
	ck, err := ks.columnKeys(ctx, table, column, cfg.indexBits > 0)
	if err != nil {
		return nil, err
	}
	return &Column{keys: ck, cfg: cfg, aad: columnAAD(table, column)}, nil
}

// Table returns the table of the column.
func (c *Column) Table() string { return c.keys.table }

// Name returns the name of the column.
func (c *Column) Name() string { return c.keys.column }

// ActiveKeyID returns the id of the data key new values are sealed under.
func (c *Column) ActiveKeyID() (uint32, error) {
	s := c.keys.snap.Load()
	if s == nil {
		return 0, ErrClosed
	}
	return s.activeData.id, nil
}

// KeyID returns the id of the data key a stored value was sealed under,
// without opening it.
func KeyID(stored any) (uint32, error) {
	raw, err := rawValue(stored)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(raw[2:6]), nil
}

func appendField(b, f []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(f)))
	return append(b, f...)
}

// Seal returns v encrypted for the column, as a driver.Valuer to pass as a
// query argument. v may be a string, []byte, int, int8..int64, uint8..uint32,
// float32, float64, bool, time.Time, a JSON wrapper, a sql.Null* value or
// any driver.Valuer whose value is one of these, or nil. NULL (nil, a nil
// []byte, a sql.Null* that is not Valid) stays NULL unless the column has
// WithEncryptedNull. An error (ErrType, ErrClosed, or ErrInvalidOption on a
// row-bound column) is returned by the Valuer, which fails the query.
func (c *Column) Seal(v any) driver.Valuer {
	if c.cfg.rowBinding {
		return errValuer{fmt.Errorf("%w: %s.%s is row-bound: use SealRow", ErrInvalidOption, c.keys.table, c.keys.column)}
	}
	return c.sealValuer(v, nil, false)
}

// SealRow is Seal for a column with WithRowBinding: row is the row's
// primary key (a string, []byte or integer), bound into the value so that
// it opens only with OpenRow and the same row key.
func (c *Column) SealRow(row, v any) driver.Valuer {
	if !c.cfg.rowBinding {
		return errValuer{fmt.Errorf("%w: %s.%s is not row-bound: use Seal", ErrInvalidOption, c.keys.table, c.keys.column)}
	}
	return c.sealValuer(v, row, true)
}

func (c *Column) sealValuer(v, row any, bound bool) driver.Valuer {
	pre := lenSize
	if c.cfg.text {
		pre = 0
	}
	buf, val, err := c.seal(pre, v, row, bound)
	switch {
	case err != nil:
		return errValuer{err}
	case val == nil:
		return nullValuer{}
	case c.cfg.text:
		return newTextValue(val)
	}
	return newLenValue(buf, len(val))
}

// Open returns a sql.Scanner that opens the column's stored value into
// dst: a *string, *[]byte, *int64, *int, *int32, *float64, *bool,
// *time.Time, *any, a pointer to a sql.Null* type, or a JSON wrapper.
// The stored value may be bytes or base64 text. A NULL stored value sets a
// sql.Null* to not Valid, *any and *[]byte to nil, and fails other
// destinations with ErrType. Scan errors wrap ErrNotEncrypted,
// ErrUnknownKey, ErrAuthentication, ErrType or ErrClosed.
func (c *Column) Open(dst any) sql.Scanner {
	return &opener{c: c, dst: dst}
}

// OpenRow is Open for a column with WithRowBinding, given the row's
// primary key as it was given to SealRow.
func (c *Column) OpenRow(row, dst any) sql.Scanner {
	return &opener{c: c, dst: dst, row: row, bound: true}
}

type opener struct {
	c     *Column
	dst   any
	row   any
	bound bool
}

func (o *opener) Scan(src any) error {
	if o.bound != o.c.cfg.rowBinding {
		return fmt.Errorf("%w: %s.%s: row binding is %v", ErrInvalidOption, o.c.keys.table, o.c.keys.column, o.c.cfg.rowBinding)
	}
	if src == nil {
		if o.c.keys.snap.Load() == nil {
			return ErrClosed
		}
		return decode(o.dst, typeNull, nil)
	}
	typ, pt, err := o.c.open(src, o.row, o.bound)
	if err != nil {
		if o.c.cfg.fallback && errors.Is(err, ErrNotEncrypted) {
			return decodePlain(o.dst, src)
		}
		return err
	}
	return decode(o.dst, typ, pt)
}

// OpenValue opens one stored value (bytes or base64 text) of a column
// that is not row-bound into dst, like Open(dst).Scan(stored).
func (c *Column) OpenValue(stored, dst any) error {
	return c.Open(dst).Scan(stored)
}

// lenSize is the length prefix of a lenValue's buffer.
const lenSize = 4

// lenValue is a driver.Valuer of a single pointer, so that returning it as
// an interface allocates nothing: p points at a buffer holding a 4-byte
// big-endian length and then that many bytes of the value.
type lenValue struct{ p *byte }

// newLenValue makes a lenValue of buf, whose first lenSize bytes are free
// and whose next n bytes are the value.
func newLenValue(buf []byte, n int) lenValue {
	binary.BigEndian.PutUint32(buf, uint32(n))
	return lenValue{&buf[0]}
}

func (v lenValue) bytes() []byte {
	n := binary.BigEndian.Uint32(unsafe.Slice(v.p, lenSize))
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(v.p), lenSize)), n)
}

func (v lenValue) Value() (driver.Value, error) { return v.bytes(), nil }

// textValue is a lenValue whose value is base64 text.
type textValue struct{ lenValue }

func newTextValue(raw []byte) textValue {
	n := base64.StdEncoding.EncodedLen(len(raw))
	buf := make([]byte, lenSize+n)
	base64.StdEncoding.Encode(buf[lenSize:], raw)
	return textValue{newLenValue(buf, n)}
}

func (v textValue) Value() (driver.Value, error) {
	b := v.bytes()
	return unsafe.String(&b[0], len(b)), nil
}

type nullValuer struct{}

func (nullValuer) Value() (driver.Value, error) { return nil, nil }

type errValuer struct{ err error }

func (e errValuer) Value() (driver.Value, error) { return nil, e.err }
