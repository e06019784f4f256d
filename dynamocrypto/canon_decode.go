package dynamocrypto

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

var errTruncated = errors.New("truncated value")

// initialCap bounds the capacity reserved from a decoded count.
const initialCap = 64

// decoder reads the value encoding. Counts are checked against the bytes
// left, and lists and maps, which nest, are sized from a count only up to
// initialCap (beyond, they grow with the elements actually decoded), so
// hostile input cannot make it allocate more than a small multiple of its
// own length: nested lists that each claim as many elements as bytes
// remain would otherwise reserve that much at every level.
type decoder struct{ b []byte }

func (d *decoder) u32() (int, error) {
	if len(d.b) < 4 {
		return 0, errTruncated
	}
	n := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	if uint64(n) > uint64(len(d.b)) {
		// Every element takes at least one byte, so no count or length
		// can exceed what is left.
		return 0, errTruncated
	}
	return int(n), nil
}

func (d *decoder) bytes() ([]byte, error) {
	n, err := d.u32()
	if err != nil {
		return nil, err
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b, nil
}

func (d *decoder) str() (string, error) {
	b, err := d.bytes()
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", errors.New("string is not valid UTF-8")
	}
	return string(b), nil
}

func (d *decoder) number() (string, error) {
	s, err := d.str()
	if err != nil {
		return "", err
	}
	if _, _, _, err := parseNumber(s); err != nil {
		return "", err
	}
	return s, nil
}

// decodeValue decodes a whole body of the type tag; the byte slices of the
// result are copies.
func decodeValue(tag byte, body []byte) (types.AttributeValue, error) {
	d := decoder{b: body}
	v, err := d.body(tag, 0)
	if err != nil {
		return nil, err
	}
	if len(d.b) != 0 {
		return nil, errors.New("trailing bytes after value")
	}
	return v, nil
}

func (d *decoder) value(depth int) (types.AttributeValue, error) {
	if len(d.b) == 0 {
		return nil, errTruncated
	}
	tag := d.b[0]
	d.b = d.b[1:]
	return d.body(tag, depth)
}

func (d *decoder) body(tag byte, depth int) (types.AttributeValue, error) {
	if depth > maxDepth {
		return nil, errors.New("value nested too deeply")
	}
	switch tag {
	case tagS:
		s, err := d.str()
		return &types.AttributeValueMemberS{Value: s}, err
	case tagN:
		s, err := d.number()
		return &types.AttributeValueMemberN{Value: s}, err
	case tagB:
		b, err := d.bytes()
		return &types.AttributeValueMemberB{Value: append([]byte{}, b...)}, err
	case tagBOOL:
		if len(d.b) < 1 || d.b[0] > 1 {
			return nil, errors.New("invalid BOOL")
		}
		v := d.b[0] == 1
		d.b = d.b[1:]
		return &types.AttributeValueMemberBOOL{Value: v}, nil
	case tagNULL:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case tagL:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		l := make([]types.AttributeValue, 0, min(n, initialCap))
		for range n {
			e, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			l = append(l, e)
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case tagM:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		m := make(map[string]types.AttributeValue, min(n, initialCap))
		for range n {
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			if _, dup := m[k]; dup {
				return nil, errors.New("duplicate map key")
			}
			if m[k], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case tagSS, tagNS:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		s := make([]string, 0, n)
		for range n {
			var e string
			if tag == tagSS {
				e, err = d.str()
			} else {
				e, err = d.number()
			}
			if err != nil {
				return nil, err
			}
			s = append(s, e)
		}
		if tag == tagSS {
			return &types.AttributeValueMemberSS{Value: s}, nil
		}
		return &types.AttributeValueMemberNS{Value: s}, nil
	case tagBS:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		s := make([][]byte, 0, n)
		for range n {
			e, err := d.bytes()
			if err != nil {
				return nil, err
			}
			s = append(s, append([]byte{}, e...))
		}
		return &types.AttributeValueMemberBS{Value: s}, nil
	}
	return nil, errors.New("unknown type tag")
}
