package dynamocrypto

import (
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestTextValuesLikeDecodeValue: the shared-allocation decoding of
// top-level S and N bodies accepts and rejects exactly what decodeValue
// does, with the same values.
func TestTextValuesLikeDecodeValue(t *testing.T) {
	body := func(s string, extra ...byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(s))), append([]byte(s), extra...)...)
	}
	cases := []struct {
		tag  byte
		body []byte
	}{
		{tagS, body("")},
		{tagS, body("hello")},
		{tagS, body("grüße ✓")},
		{tagS, body("\xff\xfe")},   // invalid UTF-8
		{tagS, body("ab", 'c')},    // trailing byte
		{tagS, []byte{0, 0, 0, 9}}, // truncated
		{tagS, []byte{0, 0}},
		{tagN, body("42")},
		{tagN, body("-1.5E3")},
		{tagN, body("1e200")},
		{tagN, body("not a number")},
		{tagN, body("")},
	}
	var tv textValues
	for _, c := range cases {
		stored := make([]byte, 1+len(c.body)+16)
		stored[0] = c.tag
		tv.reserve(stored)
	}
	tv.alloc()
	for i, c := range cases {
		want, werr := decodeValue(c.tag, c.body)
		got, gerr := tv.decode(c.tag, c.body)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("case %d: decodeValue error %v, textValues error %v", i, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: %#v, want %#v", i, got, want)
		}
	}
	// Values decoded earlier are not changed by later ones.
	var tv2 textValues
	tv2.reserve([]byte{tagS, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	tv2.alloc()
	a, _ := tv2.decode(tagS, body("first"))
	b, _ := tv2.decode(tagS, body("second, longer than reserved"))
	if a.(*types.AttributeValueMemberS).Value != "first" || b.(*types.AttributeValueMemberS).Value != "second, longer than reserved" {
		t.Fatalf("values %v %v", a, b)
	}
}
