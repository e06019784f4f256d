package dynamocrypto

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func testKeyring(t testing.TB) *keyring.RawAES {
	t.Helper()
	kr, err := keyring.NewRawAES("test", "key-1", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// staticBeaconKeys is a BeaconKeySource of fixed keys.
type staticBeaconKeys map[string][]byte

func (s staticBeaconKeys) BeaconKey(_ context.Context, id string) ([]byte, error) {
	k, ok := s[id]
	if !ok {
		return nil, ErrKeyUnavailable
	}
	return k, nil
}

func customersConfig() TableConfig {
	return TableConfig{
		Name: "customers", PartitionKey: "pk", SortKey: "sk",
		Actions: map[string]Action{
			"name": EncryptAndSign, "ssn": EncryptAndSign, "zip": SignOnly,
			"tenant": SignAndIncludeInContext, "profile": EncryptAndSign,
			"tags": EncryptAndSign, "age": SignOnly, "note": DoNothing,
		},
		UnsignedPrefix: "u_",
		Beacons: []Beacon{
			{Name: "ssn", Source: "ssn", Bits: 16},
			{Name: "ssn_zip", Parts: []BeaconPart{{Prefix: "S-", Name: "ssn"}, {Prefix: "Z-", Name: "zip"}}},
		},
		BeaconKeys:  staticBeaconKeys{"b1": bytes.Repeat([]byte{9}, 32)},
		BeaconKeyID: "b1",
	}
}

func newTestClient(t testing.TB, mod func(*TableConfig)) *Client {
	t.Helper()
	tc := customersConfig()
	if mod != nil {
		mod(&tc)
	}
	c, err := New(nil, testKeyring(t), tc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestCache(t testing.TB) *cache.Cache {
	t.Helper()
	ch, err := cache.New(cache.MaxAge(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func sampleItem() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk":     &types.AttributeValueMemberS{Value: "customer#1"},
		"sk":     &types.AttributeValueMemberN{Value: "1"},
		"name":   &types.AttributeValueMemberS{Value: "Ada Lovelace"},
		"ssn":    &types.AttributeValueMemberS{Value: "123-45-6789"},
		"zip":    &types.AttributeValueMemberS{Value: "10115"},
		"tenant": &types.AttributeValueMemberS{Value: "acme"},
		"age":    &types.AttributeValueMemberN{Value: "36.0"},
		"note":   &types.AttributeValueMemberS{Value: "free text"},
		"u_seen": &types.AttributeValueMemberBOOL{Value: true},
		"tags":   &types.AttributeValueMemberSS{Value: []string{"b", "a"}},
		"profile": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"n":    &types.AttributeValueMemberN{Value: "1.50"},
			"b":    &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
			"t":    &types.AttributeValueMemberBOOL{Value: false},
			"z":    &types.AttributeValueMemberNULL{Value: true},
			"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "x"}, &types.AttributeValueMemberNS{Value: []string{"3", "-1e2"}}}},
			"bs":   &types.AttributeValueMemberBS{Value: [][]byte{{1}, {0}}},
			"deep": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: ""}}},
		}},
	}
}
