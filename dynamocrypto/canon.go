package dynamocrypto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Type tags of the value encoding (FORMAT.md, "Values").
const (
	tagS    byte = 0x01
	tagN    byte = 0x02
	tagB    byte = 0x03
	tagBOOL byte = 0x04
	tagNULL byte = 0x05
	tagL    byte = 0x06
	tagM    byte = 0x07
	tagSS   byte = 0x08
	tagNS   byte = 0x09
	tagBS   byte = 0x0a
)

// maxDepth bounds the nesting of L and M values (DynamoDB allows 32).
const maxDepth = 32

var (
	errNumber = errors.New("invalid number")
	errValue  = errors.New("unsupported or nil attribute value")
)

// typeTag returns the tag of v, 0 for an unknown or nil value (a nil
// interface or a nil pointer of a member type).
func typeTag(v types.AttributeValue) byte {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return tagIf(v != nil, tagS)
	case *types.AttributeValueMemberN:
		return tagIf(v != nil, tagN)
	case *types.AttributeValueMemberB:
		return tagIf(v != nil, tagB)
	case *types.AttributeValueMemberBOOL:
		return tagIf(v != nil, tagBOOL)
	case *types.AttributeValueMemberNULL:
		return tagIf(v != nil, tagNULL)
	case *types.AttributeValueMemberL:
		return tagIf(v != nil, tagL)
	case *types.AttributeValueMemberM:
		return tagIf(v != nil, tagM)
	case *types.AttributeValueMemberSS:
		return tagIf(v != nil, tagSS)
	case *types.AttributeValueMemberNS:
		return tagIf(v != nil, tagNS)
	case *types.AttributeValueMemberBS:
		return tagIf(v != nil, tagBS)
	}
	return 0
}

func tagIf(ok bool, tag byte) byte {
	if ok {
		return tag
	}
	return 0
}

func appendLen(dst []byte, n int) []byte { return binary.BigEndian.AppendUint32(dst, uint32(n)) }

func appendBytes(dst, b []byte) []byte { return append(appendLen(dst, len(b)), b...) }

func appendString(dst []byte, s string) []byte { return append(appendLen(dst, len(s)), s...) }

// appendValue appends the tag and body of v. canonical normalizes numbers
// and sorts set elements (for signatures and beacons, where DynamoDB's
// own reordering and number formatting must not matter); otherwise numbers
// and sets are kept as given (the plaintext of an encrypted value). Map
// entries are sorted by key in both modes.
func appendValue(dst []byte, v types.AttributeValue, canonical bool, depth int) ([]byte, error) {
	tag := typeTag(v)
	if tag == 0 {
		return dst, errValue
	}
	dst = append(dst, tag)
	return appendBody(dst, v, canonical, depth)
}

// appendBody appends the body of v (its encoding without the tag).
func appendBody(dst []byte, v types.AttributeValue, canonical bool, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, errors.New("value nested too deeply")
	}
	if typeTag(v) == 0 {
		return dst, errValue
	}
	var err error
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		dst = appendString(dst, v.Value)
	case *types.AttributeValueMemberN:
		dst, err = appendNumber(dst, v.Value, canonical)
	case *types.AttributeValueMemberB:
		dst = appendBytes(dst, v.Value)
	case *types.AttributeValueMemberBOOL:
		b := byte(0)
		if v.Value {
			b = 1
		}
		dst = append(dst, b)
	case *types.AttributeValueMemberNULL:
		if !v.Value {
			return dst, errors.New("NULL value must be true")
		}
	case *types.AttributeValueMemberL:
		dst = appendLen(dst, len(v.Value))
		for _, e := range v.Value {
			if dst, err = appendValue(dst, e, canonical, depth+1); err != nil {
				return dst, err
			}
		}
	case *types.AttributeValueMemberM:
		dst = appendLen(dst, len(v.Value))
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			dst = appendString(dst, k)
			if dst, err = appendValue(dst, v.Value[k], canonical, depth+1); err != nil {
				return dst, err
			}
		}
	case *types.AttributeValueMemberSS:
		s := v.Value
		if canonical {
			s = slices.Clone(s)
			slices.Sort(s)
		}
		dst = appendLen(dst, len(s))
		for _, e := range s {
			dst = appendString(dst, e)
		}
	case *types.AttributeValueMemberNS:
		s := v.Value
		if canonical {
			s = make([]string, len(v.Value))
			for i, n := range v.Value {
				b, err := appendNumber(nil, n, true)
				if err != nil {
					return dst, err
				}
				s[i] = string(b[4:])
			}
			slices.Sort(s)
		}
		dst = appendLen(dst, len(s))
		for _, e := range s {
			if !canonical {
				if _, err := appendNumber(nil, e, true); err != nil {
					return dst, err
				}
			}
			dst = appendString(dst, e)
		}
	case *types.AttributeValueMemberBS:
		s := v.Value
		if canonical {
			s = slices.Clone(s)
			slices.SortFunc(s, bytes.Compare)
		}
		dst = appendLen(dst, len(s))
		for _, e := range s {
			dst = appendBytes(dst, e)
		}
	default:
		return dst, errValue
	}
	return dst, err
}

// appendNumber appends a length-prefixed number: as given when canonical is
// false (after checking it is a number), else normalized to
// [-]DIGITS"E"EXP with DIGITS free of leading and trailing zeros (zero is
// "0"), so that 1, 1.0, 10E-1 and +1 encode alike.
func appendNumber(dst []byte, s string, canonical bool) ([]byte, error) {
	neg, digits, exp, err := parseNumber(s)
	if err != nil {
		return dst, err
	}
	if !canonical {
		return appendString(dst, s), nil
	}
	at := len(dst)
	dst = appendLen(dst, 0)
	if digits == "" {
		dst = append(dst, '0')
	} else {
		if neg {
			dst = append(dst, '-')
		}
		dst = append(dst, digits...)
		dst = append(dst, 'E')
		dst = strconv.AppendInt(dst, int64(exp), 10)
	}
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst, nil
}

// parseNumber splits a decimal number into sign, significant digits
// (without leading or trailing zeros; "" for zero) and the exponent of
// their last digit.
func parseNumber(s string) (neg bool, digits string, exp int, err error) {
	if len(s) == 0 || len(s) > 128 {
		return false, "", 0, errNumber
	}
	i := 0
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		i++
	}
	mant := s[i:]
	if e := strings.IndexAny(mant, "eE"); e >= 0 {
		x, perr := strconv.ParseInt(mant[e+1:], 10, 32)
		if perr != nil || x > 1e6 || x < -1e6 {
			return false, "", 0, errNumber
		}
		exp = int(x)
		mant = mant[:e]
	}
	intPart, frac, hasDot := strings.Cut(mant, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) || hasDot && strings.Contains(frac, ".") {
		return false, "", 0, errNumber
	}
	exp -= len(frac)
	var buf [128]byte
	d := append(append(buf[:0], intPart...), frac...)
	for len(d) > 0 && d[0] == '0' {
		d = d[1:]
	}
	for len(d) > 0 && d[len(d)-1] == '0' {
		d = d[:len(d)-1]
		exp++
	}
	if len(d) == 0 {
		return false, "", 0, nil
	}
	return neg, string(d), exp, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// bodySize returns the length of the plain-mode body of v (appendBody with
// canonical false), without encoding it; an invalid value gives a size
// that appendBody will then refuse.
func bodySize(v types.AttributeValue) int {
	if typeTag(v) == 0 {
		return 0
	}
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return 4 + len(v.Value)
	case *types.AttributeValueMemberN:
		return 4 + len(v.Value)
	case *types.AttributeValueMemberB:
		return 4 + len(v.Value)
	case *types.AttributeValueMemberBOOL:
		return 1
	case *types.AttributeValueMemberL:
		n := 4
		for _, e := range v.Value {
			n += 1 + bodySize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 4
		for k, e := range v.Value {
			n += 4 + len(k) + 1 + bodySize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 4
		for _, e := range v.Value {
			n += 4 + len(e)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 4
		for _, e := range v.Value {
			n += 4 + len(e)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 4
		for _, e := range v.Value {
			n += 4 + len(e)
		}
		return n
	}
	return 0
}
