package dynamocrypto

import (
	"encoding/binary"
	"reflect"
	"runtime"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func sortStrings(s []string) { slices.Sort(s) }

func TestNormalizeNumber(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "-0.000": "0", "0e5": "0", "1": "1E0", "1.0": "1E0", "+10E-1": "1E0", "100": "1E2",
		"-1.50": "-15E-1", ".5": "5E-1", "5.": "5E0", "0012.3400e2": "1234E0", "1e-130": "1E-130",
		"12345678901234567890123456789012345678": "12345678901234567890123456789012345678E0",
	} {
		b, err := appendNumber(nil, in, true)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := string(b[4:]); got != want {
			t.Errorf("%q normalized to %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"", "-", ".", "e5", "1e", "1.2.3", "1e+", "abc", "1 ", "0x10", "1e99999999", "--1", "1e5.5"} {
		if _, err := appendNumber(nil, bad, true); err == nil {
			t.Errorf("%q accepted as a number", bad)
		}
	}
}

func TestCanonicalIgnoresSetOrderAndNumberFormat(t *testing.T) {
	a := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"ns": &types.AttributeValueMemberNS{Value: []string{"1.0", "20", "-3"}},
		"ss": &types.AttributeValueMemberSS{Value: []string{"b", "a"}},
		"bs": &types.AttributeValueMemberBS{Value: [][]byte{{2}, {1}}},
		"l":  &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberN{Value: "2.50"}}},
	}}
	b := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"l":  &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberN{Value: "25e-1"}}},
		"bs": &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
		"ss": &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns": &types.AttributeValueMemberNS{Value: []string{"-3", "2e1", "1"}},
	}}
	ea, err := appendValue(nil, a, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	eb, _ := appendValue(nil, b, true, 0)
	if string(ea) != string(eb) {
		t.Fatal("canonical encodings differ")
	}
	pa, _ := appendValue(nil, a, false, 0)
	pb, _ := appendValue(nil, b, false, 0)
	if string(pa) == string(pb) {
		t.Fatal("plain encodings should keep the order and text as written")
	}
	// A list's order matters in both modes.
	l1 := &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "a"}, &types.AttributeValueMemberS{Value: "b"}}}
	l2 := &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "b"}, &types.AttributeValueMemberS{Value: "a"}}}
	e1, _ := appendValue(nil, l1, true, 0)
	e2, _ := appendValue(nil, l2, true, 0)
	if string(e1) == string(e2) {
		t.Fatal("lists in different orders encode alike")
	}
}

func TestPlainEncodingRoundTrips(t *testing.T) {
	for name, v := range sampleItem() {
		b, err := appendValue(nil, v, false, 0)
		if err != nil {
			t.Fatal(name, err)
		}
		got, err := decodeValue(b[0], b[1:])
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Fatalf("%s: %v %#v", name, err, got)
		}
	}
}

func TestEncodingRejects(t *testing.T) {
	deep := types.AttributeValue(&types.AttributeValueMemberNULL{Value: true})
	for range 40 {
		deep = &types.AttributeValueMemberL{Value: []types.AttributeValue{deep}}
	}
	for name, v := range map[string]types.AttributeValue{
		"nil":        nil,
		"NULL false": &types.AttributeValueMemberNULL{Value: false},
		"bad N":      &types.AttributeValueMemberN{Value: "x"},
		"bad NS":     &types.AttributeValueMemberNS{Value: []string{"1", "y"}},
		"nil in L":   &types.AttributeValueMemberL{Value: []types.AttributeValue{nil}},
		"too deep":   deep,
	} {
		for _, canonical := range []bool{true, false} {
			if _, err := appendValue(nil, v, canonical, 0); err == nil {
				t.Errorf("%s (canonical %v) encoded", name, canonical)
			}
		}
	}
	for name, b := range map[string][]byte{
		"huge count":  {tagL, 0xff, 0xff, 0xff, 0xff},
		"short S":     {tagS, 0, 0, 0, 5, 'a'},
		"bad UTF-8":   {tagS, 0, 0, 0, 1, 0xff},
		"bad BOOL":    {tagBOOL, 2},
		"bad tag":     {0x42},
		"trailing":    {tagNULL, 0},
		"dup map key": {tagM, 0, 0, 0, 2, 0, 0, 0, 1, 'k', tagNULL, 0, 0, 0, 1, 'k', tagNULL},
		"bad N":       {tagN, 0, 0, 0, 1, 'x'},
	} {
		if _, err := decodeValue(b[0], b[1:]); err == nil {
			t.Errorf("%s decoded", name)
		}
	}
}

func TestBodySizeMatchesEncoding(t *testing.T) {
	for name, v := range sampleItem() {
		b, err := appendBody(nil, v, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		if bodySize(v) != len(b) {
			t.Errorf("%s: bodySize %d, encoding %d bytes", name, bodySize(v), len(b))
		}
	}
}

// TestDecodeAllocationBounded decodes nested lists that each claim as many
// elements as bytes remain: the decoder must not reserve that much at every
// level (32 levels of 64 KiB claims would be 512 times the input).
func TestDecodeAllocationBounded(t *testing.T) {
	const n = 1 << 16
	for _, tag := range []byte{tagL, tagSS, tagNS, tagBS, tagM} {
		body := make([]byte, 0, n)
		for range maxDepth {
			body = binary.BigEndian.AppendUint32(body, uint32(n-len(body)-4))
			body = append(body, tagL)
		}
		if tag != tagL {
			body = binary.BigEndian.AppendUint32(body[:0], uint32(n-4))
		}
		body = append(body, make([]byte, n-len(body))...)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := decodeValue(tag, body); err == nil {
			t.Fatalf("tag %#x: hostile body decoded", tag)
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 32*n {
			t.Errorf("tag %#x: decoding %d bytes allocated %d bytes", tag, n, got)
		}
	}
}
