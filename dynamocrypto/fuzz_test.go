package dynamocrypto

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func storedSample(t testing.TB, suite Suite) map[string]types.AttributeValue {
	c := newTestClient(t, func(tc *TableConfig) { tc.Suite = suite })
	enc, err := c.EncryptItem(context.Background(), "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// FuzzParseHeader: the header parser never panics, and what it accepts
// marshals back to the same bytes.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []Suite{SuiteCommitHMAC, SuiteCommitHMACECDSA} {
		f.Add(storedSample(f, s)[headerAttr].(*types.AttributeValueMemberB).Value)
	}
	f.Add([]byte{1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader(b)
		if err != nil {
			return
		}
		keys := make([]string, 0, len(h.context))
		for k := range h.context {
			keys = append(keys, k)
		}
		sortStrings(keys)
		if got := h.marshal(nil, keys); string(got) != string(b) {
			t.Fatalf("re-marshalled header differs")
		}
	})
}

// FuzzParseFooter: the footer parser never panics and accepts only the
// lengths of FORMAT.md.
func FuzzParseFooter(f *testing.F) {
	for _, s := range []Suite{SuiteCommitHMAC, SuiteCommitHMACECDSA} {
		f.Add(storedSample(f, s)[footerAttr].(*types.AttributeValueMemberB).Value, uint16(s))
	}
	f.Fuzz(func(t *testing.T, b []byte, s uint16) {
		ft, err := parseFooter(b, Suite(s))
		if err != nil {
			return
		}
		if len(ft.mac) != macLen || string(marshalFooter(ft.mac, ft.sig)) != string(b) {
			t.Fatalf("accepted footer does not round-trip")
		}
	})
}

// FuzzDecryptItem: DecryptItem of a stored item with a fuzzed header,
// footer or encrypted value returns an error, never panics, and never
// succeeds unless the bytes are the original ones.
func FuzzDecryptItem(f *testing.F) {
	c := newTestClient(f, nil)
	orig, err := c.EncryptItem(context.Background(), "customers", sampleItem())
	if err != nil {
		f.Fatal(err)
	}
	names := []string{headerAttr, footerAttr, "name", "profile"}
	for i, n := range names {
		f.Add(uint8(i), orig[n].(*types.AttributeValueMemberB).Value)
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		name := names[int(which)%len(names)]
		item := cloneItem(orig)
		item[name] = &types.AttributeValueMemberB{Value: b}
		_, err := c.DecryptItem(context.Background(), "customers", item)
		if err == nil && string(b) != string(orig[name].(*types.AttributeValueMemberB).Value) {
			t.Fatalf("altered %s decrypted", name)
		}
	})
}

// FuzzDecodeValue: the value decoder never panics, and what it accepts
// encodes back to the same bytes.
func FuzzDecodeValue(f *testing.F) {
	for _, v := range sampleItem() {
		b, _ := appendValue(nil, v, false, 0)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		v, err := decodeValue(b[0], b[1:])
		if err != nil {
			return
		}
		again, err := appendValue(nil, v, false, 0)
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		if v2, err := decodeValue(again[0], again[1:]); err != nil || typeTag(v2) != b[0] {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
	})
}
