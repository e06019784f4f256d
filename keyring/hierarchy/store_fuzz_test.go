package hierarchy

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const fuzzARN = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// fuzzItem decodes an item from bytes: records of a type byte (S, N, B or
// BOOL), a name and a value, each prefixed by a one-byte length.
func fuzzItem(b []byte) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{}
	next := func() (string, bool) {
		if len(b) == 0 || int(b[0]) >= len(b) {
			return "", false
		}
		n := int(b[0])
		v := string(b[1 : 1+n])
		b = b[1+n:]
		return v, true
	}
	for len(b) > 0 {
		t := b[0]
		b = b[1:]
		name, ok := next()
		if !ok {
			break
		}
		val, ok := next()
		if !ok {
			break
		}
		switch t % 4 {
		case 0:
			item[name] = &types.AttributeValueMemberS{Value: val}
		case 1:
			item[name] = &types.AttributeValueMemberN{Value: val}
		case 2:
			item[name] = &types.AttributeValueMemberB{Value: []byte(val)}
		default:
			item[name] = &types.AttributeValueMemberBOOL{Value: len(val) > 0}
		}
	}
	return item
}

func fuzzEncode(item map[string]types.AttributeValue) []byte {
	var b []byte
	add := func(t byte, name, val string) {
		b = append(b, t, byte(len(name)))
		b = append(b, name...)
		b = append(b, byte(len(val)))
		b = append(b, val...)
	}
	for k, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			add(0, k, v.Value)
		case *types.AttributeValueMemberN:
			add(1, k, v.Value)
		case *types.AttributeValueMemberB:
			add(2, k, string(v.Value))
		}
	}
	return b
}

// FuzzParseItem checks the item checks on hostile items: no panic, and an
// item that passes is exactly the item its rebuilt encryption context
// makes (nothing read is dropped from what KMS authenticates).
func FuzzParseItem(f *testing.F) {
	s := &Store{arn: fuzzARN, cfg: storeConfig{logicalName: "fuzz"}}
	base := s.baseContext("tenant", "bb7a4175-2c3e-42d0-bd65-d5fc4c668f46", "2026-11-30T03:56:55.515000Z", map[string]string{"k": "v"})
	for _, ec := range []map[string]string{base, activeContext(base), beaconContext(base)} {
		f.Add(uint8(0), fuzzEncode(contextToItem(ec, []byte("ciphertext"))))
		f.Add(uint8(1), fuzzEncode(contextToItem(ec, []byte("ciphertext"))))
		f.Add(uint8(2), fuzzEncode(contextToItem(ec, []byte("ciphertext"))))
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		item := fuzzItem(b)
		k := kind(which % 3)
		typ := map[kind]string{kindActive: typeActive, kindVersion: base[attrType], kindBeacon: typeBeacon}[k]
		p, err := s.parseItem(k, "tenant", typ, item)
		if err != nil {
			return
		}
		if p.ec[attrTableName] != "fuzz" || p.ec[attrType] != typ || p.ec[attrID] != "tenant" {
			t.Fatalf("accepted item with context %v", p.ec)
		}
		if got := contextToItem(p.ec, p.enc); !reflect.DeepEqual(got, item) {
			t.Fatalf("accepted item %v rebuilds as %v", item, got)
		}
		if (k == kindActive || k == kindVersion) != validVersion(p.version) {
			t.Fatalf("%s accepted with version %q", k, p.version)
		}
	})
}
