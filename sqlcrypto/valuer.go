package sqlcrypto

import (
	"database/sql/driver"
	"encoding/base64"
	"unsafe"
)

// The driver values of Seal and Index.
//
// A driver.Value holding a []byte is an interface whose data word points at
// a slice header; converting a []byte to an interface allocates that
// header apart from the bytes. Here the header and the bytes share one
// allocation (a box), and Value builds the interface around the header
// already there, so that a sealed value costs one allocation, like Tink's
// Encrypt, although database/sql takes it as an interface.

// box holds a value and, before it, the slice header that its driver.Value
// points at. It has a pointer (the header's), so the collector scans it.
type box[A any] struct {
	s   []byte
	buf A
}

// newBox returns the header of a box of A, set to its first n bytes.
func newBox[A any](n int) *[]byte {
	b := new(box[A])
	b.s = unsafe.Slice((*byte)(unsafe.Pointer(&b.buf)), n)
	return &b.s
}

// allocBox returns a header set to n fresh zero bytes, in one allocation
// (of the smallest size class that holds the box) up to 488 bytes and two
// beyond.
func allocBox(n int) *[]byte {
	switch {
	case n <= 24:
		return newBox[[24]byte](n) // 48-byte size class
	case n <= 40:
		return newBox[[40]byte](n) // 64
	case n <= 56:
		return newBox[[56]byte](n) // 80
	case n <= 72:
		return newBox[[72]byte](n) // 96
	case n <= 104:
		return newBox[[104]byte](n) // 128
	case n <= 168:
		return newBox[[168]byte](n) // 192
	case n <= 232:
		return newBox[[232]byte](n) // 256
	case n <= 360:
		return newBox[[360]byte](n) // 384
	case n <= 488:
		return newBox[[488]byte](n) // 512
	}
	s := make([]byte, n)
	return &s
}

// eface is the layout of an empty interface.
type eface struct{ typ, data unsafe.Pointer }

var (
	bytesType  = typeOf([]byte(nil))
	stringType = typeOf("")
)

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

// bytesValue is a driver.Valuer of one pointer (so returning it as an
// interface allocates nothing) whose value is the []byte p points at.
type bytesValue struct{ p *[]byte }

func (v bytesValue) Value() (driver.Value, error) {
	e := eface{bytesType, unsafe.Pointer(v.p)}
	return *(*any)(unsafe.Pointer(&e)), nil
}

// textValue is a bytesValue whose value is a string of the same bytes: a
// string header is the first two words of a slice header.
type textValue struct{ p *[]byte }

func (v textValue) Value() (driver.Value, error) {
	e := eface{stringType, unsafe.Pointer(v.p)}
	return *(*any)(unsafe.Pointer(&e)), nil
}

// newTextValue returns raw as standard, padded base64 text.
func newTextValue(raw []byte) textValue {
	p := allocBox(base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(*p, raw)
	return textValue{p}
}
