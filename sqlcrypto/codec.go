package sqlcrypto

import (
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"time"
	"unsafe"
)

// Value types, stored in the second byte of a value and authenticated.
const (
	typeNull   byte = 0 // WithEncryptedNull: empty plaintext
	typeBytes  byte = 1
	typeString byte = 2
	typeInt    byte = 3 // int64, 8 bytes big-endian
	typeFloat  byte = 4 // float64 bits, 8 bytes big-endian
	typeBool   byte = 5 // one byte, 0 or 1
	typeTime   byte = 6 // time.Time.MarshalBinary
	typeJSON   byte = 7 // encoding/json
	typeLast        = typeJSON
)

// JSON seals any value as its encoding/json form, and opens into V (a
// pointer) with json.Unmarshal: col.Seal(sqlcrypto.JSON{V: addr}),
// col.Open(sqlcrypto.JSON{V: &addr}).
type JSON struct{ V any }

// plain is a value to seal, in its type's encoding.
type plain struct {
	typ byte
	b   []byte
	s   string
	u   uint64
}

func (p *plain) set(v any) error {
	switch x := v.(type) {
	case nil:
		p.typ = typeNull
	case string:
		p.typ, p.s = typeString, x
	case []byte:
		if x == nil {
			p.typ = typeNull
		} else {
			p.typ, p.b = typeBytes, x
		}
	case bool:
		p.typ = typeBool
		if x {
			p.u = 1
		}
	case float64:
		p.typ, p.u = typeFloat, math.Float64bits(x)
	case float32:
		p.typ, p.u = typeFloat, math.Float64bits(float64(x))
	case time.Time:
		b, err := x.MarshalBinary()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrType, err)
		}
		p.typ, p.b = typeTime, b
	case JSON:
		b, err := json.Marshal(x.V)
		if err != nil {
			return fmt.Errorf("%w: JSON: %w", ErrType, err)
		}
		p.typ, p.b = typeJSON, b
	case sql.NullString:
		return p.setNull(x.Valid, x.String)
	case sql.NullInt64:
		return p.setNull(x.Valid, x.Int64)
	case sql.NullInt32:
		return p.setNull(x.Valid, x.Int32)
	case sql.NullInt16:
		return p.setNull(x.Valid, x.Int16)
	case sql.NullByte:
		return p.setNull(x.Valid, x.Byte)
	case sql.NullFloat64:
		return p.setNull(x.Valid, x.Float64)
	case sql.NullBool:
		return p.setNull(x.Valid, x.Bool)
	case sql.NullTime:
		return p.setNull(x.Valid, x.Time)
	default:
		i, ok := toInt64(v)
		if !ok {
			return fmt.Errorf("%w: cannot seal %s", ErrType, reflect.TypeOf(v))
		}
		p.typ, p.u = typeInt, uint64(i)
	}
	return nil
}

func (p *plain) setNull(valid bool, v any) error {
	if !valid {
		p.typ = typeNull
		return nil
	}
	return p.set(v)
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	}
	return 0, false
}

// plainOf is the plain value of an opened value of type typ.
func plainOf(typ byte, pt []byte) plain {
	switch typ {
	case typeString:
		return plain{typ: typ, s: bytesString(pt)}
	case typeInt, typeFloat:
		return plain{typ: typ, u: binary.BigEndian.Uint64(pt)}
	case typeBool:
		return plain{typ: typ, u: uint64(pt[0])}
	}
	return plain{typ: typ, b: pt}
}

func (p *plain) size() int {
	switch p.typ {
	case typeNull:
		return 0
	case typeString:
		return len(p.s)
	case typeInt, typeFloat:
		return 8
	case typeBool:
		return 1
	}
	return len(p.b)
}

func (p *plain) put(dst []byte) {
	switch p.typ {
	case typeString:
		copy(dst, p.s)
	case typeInt, typeFloat:
		binary.BigEndian.PutUint64(dst, p.u)
	case typeBool:
		dst[0] = byte(p.u)
	default:
		copy(dst, p.b)
	}
}

// decode stores an opened value of type typ into dst. pt is owned by the
// caller's fresh buffer, so strings and byte slices alias it.
func decode(dst any, typ byte, pt []byte) error {
	mismatch := func() error {
		return fmt.Errorf("%w: cannot open a %s value into %T", ErrType, typeName(typ), dst)
	}
	if want := fixedSize(typ); want >= 0 && len(pt) != want {
		return fmt.Errorf("%w: %s value of %d bytes", ErrType, typeName(typ), len(pt))
	}
	switch d := dst.(type) {
	case *string:
		if typ != typeString && typ != typeBytes {
			return mismatch()
		}
		*d = bytesString(pt)
	case *[]byte:
		switch typ {
		case typeNull:
			*d = nil
		case typeString, typeBytes:
			*d = pt[:len(pt):len(pt)]
		default:
			return mismatch()
		}
	case *int64:
		if typ != typeInt {
			return mismatch()
		}
		*d = int64(binary.BigEndian.Uint64(pt))
	case *int:
		if typ != typeInt {
			return mismatch()
		}
		i := int64(binary.BigEndian.Uint64(pt))
		if int64(int(i)) != i {
			return fmt.Errorf("%w: %d overflows int", ErrType, i)
		}
		*d = int(i)
	case *int32:
		if typ != typeInt {
			return mismatch()
		}
		i := int64(binary.BigEndian.Uint64(pt))
		if i < math.MinInt32 || i > math.MaxInt32 {
			return fmt.Errorf("%w: %d overflows int32", ErrType, i)
		}
		*d = int32(i)
	case *float64:
		if typ != typeFloat {
			return mismatch()
		}
		*d = math.Float64frombits(binary.BigEndian.Uint64(pt))
	case *bool:
		if typ != typeBool || pt[0] > 1 {
			return mismatch()
		}
		*d = pt[0] == 1
	case *time.Time:
		if typ != typeTime {
			return mismatch()
		}
		var t time.Time
		if err := t.UnmarshalBinary(pt); err != nil {
			return fmt.Errorf("%w: time: %w", ErrType, err)
		}
		*d = t
	case *any:
		v, err := natural(typ, pt)
		if err != nil {
			return err
		}
		*d = v
	case JSON:
		return decodeJSON(d, typ, pt)
	case *JSON:
		return decodeJSON(*d, typ, pt)
	case *sql.NullString:
		return decodeNull(&d.Valid, &d.String, typ, pt)
	case *sql.NullInt64:
		return decodeNull(&d.Valid, &d.Int64, typ, pt)
	case *sql.NullInt32:
		return decodeNull(&d.Valid, &d.Int32, typ, pt)
	case *sql.NullFloat64:
		return decodeNull(&d.Valid, &d.Float64, typ, pt)
	case *sql.NullBool:
		return decodeNull(&d.Valid, &d.Bool, typ, pt)
	case *sql.NullTime:
		return decodeNull(&d.Valid, &d.Time, typ, pt)
	default:
		return fmt.Errorf("%w: cannot open into %T", ErrType, dst)
	}
	return nil
}

func decodeNull[T any](valid *bool, v *T, typ byte, pt []byte) error {
	if typ == typeNull {
		var zero T
		*valid, *v = false, zero
		return nil
	}
	if err := decode(v, typ, pt); err != nil {
		return err
	}
	*valid = true
	return nil
}

func decodeJSON(d JSON, typ byte, pt []byte) error {
	switch typ {
	case typeNull:
		pt = []byte("null")
	case typeJSON:
	default:
		return fmt.Errorf("%w: cannot open a %s value as JSON", ErrType, typeName(typ))
	}
	if err := json.Unmarshal(pt, d.V); err != nil {
		return fmt.Errorf("%w: JSON: %w", ErrType, err)
	}
	return nil
}

// natural is the Go value of an opened value, for *any.
func natural(typ byte, pt []byte) (any, error) {
	switch typ {
	case typeNull:
		return nil, nil
	case typeString:
		return bytesString(pt), nil
	case typeBytes, typeJSON:
		return pt[:len(pt):len(pt)], nil
	case typeInt:
		return int64(binary.BigEndian.Uint64(pt)), nil
	case typeFloat:
		return math.Float64frombits(binary.BigEndian.Uint64(pt)), nil
	case typeBool:
		return pt[0] == 1, nil
	}
	var t time.Time
	if err := t.UnmarshalBinary(pt); err != nil {
		return nil, fmt.Errorf("%w: time: %w", ErrType, err)
	}
	return t, nil
}

// bytesString returns b as a string without copying: b is a fresh buffer
// that nothing else refers to.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func fixedSize(typ byte) int {
	switch typ {
	case typeNull:
		return 0
	case typeInt, typeFloat:
		return 8
	case typeBool:
		return 1
	}
	return -1
}

func typeName(typ byte) string {
	return [...]string{"NULL", "bytes", "string", "integer", "float", "bool", "time", "JSON"}[typ]
}

// decodePlain stores a plaintext database value into dst, through the
// encoding a sealed value of its type would have.
func decodePlain(dst, src any) error {
	var p plain
	if err := p.set(src); err != nil {
		return err
	}
	buf := make([]byte, p.size())
	p.put(buf)
	return decode(dst, p.typ, buf)
}
