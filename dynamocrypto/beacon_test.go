package dynamocrypto

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha512"
	"errors"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func beaconOf(t *testing.T, item map[string]types.AttributeValue, name string) string {
	t.Helper()
	s, ok := item[BeaconAttribute(name)].(*types.AttributeValueMemberS)
	if !ok {
		t.Fatalf("no S beacon %s in %v", name, item)
	}
	return s.Value
}

func TestStandardBeacon(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	a, err := c.EncryptItem(ctx, "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	other := sampleItem()
	other["pk"] = &types.AttributeValueMemberS{Value: "customer#2"}
	b, err := c.EncryptItem(ctx, "customers", other)
	if err != nil {
		t.Fatal(err)
	}
	if beaconOf(t, a, "ssn") != beaconOf(t, b, "ssn") {
		t.Fatal("equal values have different beacons")
	}
	if !regexp.MustCompile(`^[0-9a-f]{4}$`).MatchString(beaconOf(t, a, "ssn")) {
		t.Fatalf("16-bit beacon %q is not 4 hex digits", beaconOf(t, a, "ssn"))
	}
	other["ssn"] = &types.AttributeValueMemberS{Value: "987-65-4321"}
	b, err = c.EncryptItem(ctx, "customers", other)
	if err != nil {
		t.Fatal(err)
	}
	if beaconOf(t, a, "ssn") == beaconOf(t, b, "ssn") {
		t.Fatal("different values share a 16-bit beacon (possible, but not for these fixed values)")
	}
	// The hook DOPS rewrites queries with gives the stored value.
	tb := c.table("customers")
	v, err := c.beaconValue(ctx, tb, tb.beaconFor("ssn"), &types.AttributeValueMemberS{Value: "123-45-6789"}, "")
	if err != nil || v.(*types.AttributeValueMemberS).Value != beaconOf(t, a, "ssn") {
		t.Fatalf("beaconValue = %v, %v; stored %s", v, err, beaconOf(t, a, "ssn"))
	}
	if tb.beaconFor("name") != nil || tb.beaconNamed("ssn_zip") == nil || tb.beaconNamed("ssn").attribute() != "ck$b_ssn" {
		t.Fatal("beacon lookups")
	}
}

func TestBeaconBitsAndNumbers(t *testing.T) {
	for _, bits := range []int{1, 5, 8, 33, 63} {
		c := newTestClient(t, func(tc *TableConfig) {
			tc.Actions["n"] = EncryptAndSign
			tc.Beacons = append(tc.Beacons, Beacon{Name: "n", Source: "n", Bits: bits})
		})
		tb := c.table("customers")
		ctx := context.Background()
		v1, err := c.beaconValue(ctx, tb, tb.beaconFor("n"), &types.AttributeValueMemberN{Value: "1.50"}, "")
		if err != nil {
			t.Fatal(err)
		}
		v2, _ := c.beaconValue(ctx, tb, tb.beaconFor("n"), &types.AttributeValueMemberN{Value: "15e-1"}, "")
		s := v1.(*types.AttributeValueMemberS).Value
		if s != v2.(*types.AttributeValueMemberS).Value {
			t.Fatalf("1.50 and 15e-1 have different beacons")
		}
		if len(s) != (bits+3)/4 {
			t.Fatalf("%d bits: beacon %q", bits, s)
		}
		v3, _ := c.beaconValue(ctx, tb, tb.beaconFor("n"), &types.AttributeValueMemberS{Value: "1.5"}, "")
		if bits >= 33 && v3.(*types.AttributeValueMemberS).Value == s {
			t.Fatal("the string 1.5 and the number 1.5 share a beacon")
		}
	}
}

func TestCompoundBeacon(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	enc, err := c.EncryptItem(ctx, "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	want := "S-" + beaconOf(t, enc, "ssn") + "#Z-10115"
	if got := beaconOf(t, enc, "ssn_zip"); got != want {
		t.Fatalf("compound beacon %q, want %q", got, want)
	}
	tb := c.table("customers")
	b := tb.beaconNamed("ssn_zip")
	full, err := c.beaconValue(ctx, tb, b, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"ssn": &types.AttributeValueMemberS{Value: "123-45-6789"}, "zip": &types.AttributeValueMemberS{Value: "10115"}}}, "")
	if err != nil || full.(*types.AttributeValueMemberS).Value != want {
		t.Fatalf("beaconValue = %v %v", full, err)
	}
	prefix, _ := c.beaconValue(ctx, tb, b, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"ssn": &types.AttributeValueMemberS{Value: "123-45-6789"}}}, "")
	if prefix.(*types.AttributeValueMemberS).Value != "S-"+beaconOf(t, enc, "ssn") {
		t.Fatalf("prefix %v", prefix)
	}
	// A missing part: no compound beacon.
	item := sampleItem()
	delete(item, "zip")
	enc, err = c.EncryptItem(ctx, "customers", item)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := enc[BeaconAttribute("ssn_zip")]; ok {
		t.Fatal("compound beacon written without all its parts")
	}
	// A part value containing the split character.
	item = sampleItem()
	item["zip"] = &types.AttributeValueMemberS{Value: "1#2"}
	var e *Error
	if _, err := c.EncryptItem(ctx, "customers", item); !errors.Is(err, ErrInvalidItem) || !errors.As(err, &e) || e.Attribute != "zip" {
		t.Fatalf("split in part: %v", err)
	}
}

func TestPerTenantBeaconKeys(t *testing.T) {
	keys := staticBeaconKeys{"acme": bytes.Repeat([]byte{1}, 32), "globex": bytes.Repeat([]byte{2}, 32)}
	c := newTestClient(t, func(tc *TableConfig) { tc.BeaconKeys = keys; tc.BeaconKeyAttribute = "tenant" })
	ctx := context.Background()
	a, err := c.EncryptItem(ctx, "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	item := sampleItem()
	item["tenant"] = &types.AttributeValueMemberS{Value: "globex"}
	b, err := c.EncryptItem(ctx, "customers", item)
	if err != nil {
		t.Fatal(err)
	}
	if beaconOf(t, a, "ssn") == beaconOf(t, b, "ssn") {
		t.Fatal("two tenants share beacon values")
	}
	tb := c.table("customers")
	if tb.beaconKeyAttr() != "tenant" {
		t.Fatal("beaconKeyAttr")
	}
	v, err := c.beaconValue(ctx, tb, tb.beaconFor("ssn"), &types.AttributeValueMemberS{Value: "123-45-6789"}, "globex")
	if err != nil || v.(*types.AttributeValueMemberS).Value != beaconOf(t, b, "ssn") {
		t.Fatalf("beaconValue for globex: %v %v", v, err)
	}
	item["tenant"] = &types.AttributeValueMemberS{Value: "initech"}
	if _, err := c.EncryptItem(ctx, "customers", item); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("unknown tenant key: %v", err)
	}
	delete(item, "tenant")
	if _, err := c.EncryptItem(ctx, "customers", item); !errors.Is(err, ErrInvalidItem) {
		t.Fatalf("no tenant: %v", err)
	}
}

func TestWrappedBeaconKeys(t *testing.T) {
	ctx := context.Background()
	kr := testKeyring(t)
	w1, err := NewBeaconKey(ctx, kr, "t1")
	if err != nil {
		t.Fatal(err)
	}
	w2, err := NewBeaconKey(ctx, kr, "t2")
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingKeyring{kr: kr}
	src, err := NewWrappedBeaconKeys(counting, map[string][]byte{"t1": w1, "t2": w2, "swapped": w1})
	if err != nil {
		t.Fatal(err)
	}
	k1, err := src.BeaconKey(ctx, "t1")
	if err != nil || len(k1) != 32 {
		t.Fatalf("t1: %d bytes, %v", len(k1), err)
	}
	k2, err := src.BeaconKey(ctx, "t2")
	if err != nil || bytes.Equal(k1, k2) {
		t.Fatalf("t2: %v (equal to t1: %v)", err, bytes.Equal(k1, k2))
	}
	if again, _ := src.BeaconKey(ctx, "t1"); !bytes.Equal(again, k1) || counting.unwrap.Load() != 2 {
		t.Fatalf("keyring unwrapped %d times for two ids", counting.unwrap.Load())
	}
	if _, err := src.BeaconKey(ctx, "swapped"); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("a key wrapped for t1 stored under another id: %v", err)
	}
	if _, err := src.BeaconKey(ctx, "none"); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("unknown id: %v", err)
	}
	other, _ := keyring.NewRawAES("test", "key-2", bytes.Repeat([]byte{8}, 32))
	src2, _ := NewWrappedBeaconKeys(other, map[string][]byte{"t1": w1})
	if _, err := src2.BeaconKey(ctx, "t1"); !errors.Is(err, ErrKeyUnavailable) || !errors.Is(err, keyring.ErrNoDecryptionKey) {
		t.Fatalf("wrong keyring: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	src3, _ := NewWrappedBeaconKeys(kr, map[string][]byte{"t1": w1})
	if _, err := src3.BeaconKey(cctx, "t1"); !errors.Is(err, ErrTransient) {
		t.Fatalf("canceled context: %v", err)
	}
	if k, err := src3.BeaconKey(ctx, "t1"); err != nil || !bytes.Equal(k, k1) {
		t.Fatalf("after a transient failure: %v", err)
	}
	// The caller's slice is its own: changing it changes nothing inside,
	// and Close, which wipes the keys inside, does not wipe it under a
	// caller still deriving from it.
	k1[0] ^= 1
	if again, _ := src.BeaconKey(ctx, "t1"); again[0] == k1[0] {
		t.Fatal("BeaconKey returned its own slice")
	}
	k1[0] ^= 1
	held := src.keys["t1"]
	src.Close()
	if !bytes.Equal(held, make([]byte, 32)) {
		t.Fatal("Close did not wipe the keys")
	}
	if bytes.Equal(k1, make([]byte, 32)) {
		t.Fatal("Close wiped a key a caller held")
	}
	if _, err := src.BeaconKey(ctx, "t1"); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestSuggestBeaconBits(t *testing.T) {
	for distinct, want := range map[int]int{0: 1, 1: 1, 4: 1, 16: 2, 1000: 5, 1 << 20: 10, 1 << 62: 31} {
		if got := SuggestBeaconBits(distinct); got != want {
			t.Errorf("SuggestBeaconBits(%d) = %d, want %d", distinct, got, want)
		}
	}
}

// TestBeaconKeyFromWrappedKeys: the per-beacon key a client derives from a
// WrappedBeaconKeys key is HKDF of that key (FORMAT.md, "Beacons"), though
// the client wipes its copy of the key once it derived.
func TestBeaconKeyFromWrappedKeys(t *testing.T) {
	ctx := context.Background()
	kr := testKeyring(t)
	wrapped, err := NewBeaconKey(ctx, kr, "b1")
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewWrappedBeaconKeys(kr, map[string][]byte{"b1": wrapped})
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, func(tc *TableConfig) { tc.BeaconKeys = src })
	tb := c.table("customers")
	got, err := c.beaconKey(ctx, tb, tb.beaconNamed("ssn"), "b1")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := src.BeaconKey(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	want, err := hkdf.Key(sha512.New, raw, nil, beaconLabel+"customers\x00ssn", 48)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("derived beacon key differs from HKDF of the beacon key (%v)", err)
	}
}
