package dynamocrypto

import (
	"errors"
	"strings"
	"testing"
)

func TestNewValidatesConfig(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*TableConfig)
		attr string
	}{
		{"no table name", func(tc *TableConfig) { tc.Name = "" }, ""},
		{"no partition key", func(tc *TableConfig) { tc.PartitionKey = "" }, ""},
		{"encrypted partition key", func(tc *TableConfig) { tc.Actions["pk"] = EncryptAndSign }, "pk"},
		{"unsigned sort key", func(tc *TableConfig) { tc.Actions["sk"] = DoNothing }, "sk"},
		{"reserved attribute", func(tc *TableConfig) { tc.Actions["ck$x"] = SignOnly }, "ck$x"},
		{"reserved key", func(tc *TableConfig) { tc.SortKey = "ck$h" }, "ck$h"},
		{"invalid action", func(tc *TableConfig) { tc.Actions["zip"] = Action(9) }, "zip"},
		{"signed under unsigned prefix", func(tc *TableConfig) { tc.Actions["u_x"] = SignOnly }, "u_x"},
		{"unsigned prefix reserved", func(tc *TableConfig) { tc.UnsignedPrefix = "ck" }, ""},
		{"beacon on unknown attribute", func(tc *TableConfig) { tc.Beacons[0].Source = "nope" }, "nope"},
		{"beacon on plaintext attribute", func(tc *TableConfig) { tc.Beacons[0].Source = "zip" }, "zip"},
		{"beacon bits 0", func(tc *TableConfig) { tc.Beacons[0].Bits = 0 }, "ssn"},
		{"beacon bits 64", func(tc *TableConfig) { tc.Beacons[0].Bits = 64 }, "ssn"},
		{"beacon without key source", func(tc *TableConfig) { tc.BeaconKeys = nil }, ""},
		{"compound part unknown", func(tc *TableConfig) { tc.Beacons[1].Parts[1].Name = "nope" }, "nope"},
		{"compound part encrypted without beacon", func(tc *TableConfig) { tc.Beacons[1].Parts[1].Name = "name" }, "name"},
		{"compound prefix repeated", func(tc *TableConfig) { tc.Beacons[1].Parts[1].Prefix = "S-" }, "zip"},
		{"two beacons one name", func(tc *TableConfig) { tc.Beacons[1].Name = "ssn" }, "ssn"},
		{"beacon key attribute encrypted", func(tc *TableConfig) { tc.BeaconKeyAttribute = "name" }, "name"},
		{"unknown suite", func(tc *TableConfig) { tc.Suite = 7 }, ""},
		{"reserved context key", func(tc *TableConfig) { tc.Context = map[string]string{"ck-dynamodb-table": "x"} }, ""},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tc := customersConfig()
			tt.mod(&tc)
			_, err := New(nil, testKeyring(t), tc)
			var e *Error
			if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error wrapping ErrInvalidConfig", err)
			}
			if e.Attribute != tt.attr || e.Table != tc.Name {
				t.Fatalf("error names table %q attribute %q, want %q %q (%v)", e.Table, e.Attribute, tc.Name, tt.attr, err)
			}
		})
	}
	if _, err := New(nil, nil, customersConfig()); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("nil keyring: %v", err)
	}
	if _, err := New(nil, testKeyring(t), customersConfig(), customersConfig()); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("table twice: %v", err)
	}
}

func TestKeysDefaultToSignOnly(t *testing.T) {
	tc := customersConfig()
	c, err := New(nil, testKeyring(t), tc)
	if err != nil {
		t.Fatal(err)
	}
	tb := c.table("customers")
	for _, k := range []string{"pk", "sk"} {
		if a, ok := tb.action(k); !ok || a != SignOnly {
			t.Errorf("%s: action %v %v, want SignOnly", k, a, ok)
		}
	}
	if pk, sk := tb.keyNames(); pk != "pk" || sk != "sk" {
		t.Errorf("keyNames = %q %q", pk, sk)
	}
	if a, ok := tb.action("u_anything"); !ok || a != DoNothing {
		t.Errorf("unsigned prefix: %v %v", a, ok)
	}
	if _, ok := tb.action("unlisted"); ok {
		t.Error("unlisted attribute has an action")
	}
	names := strings.Join(tb.signedNames(), ",")
	if names != "age,ck$f,ck$h,name,pk,profile,sk,ssn,tags,tenant,zip" {
		t.Errorf("signedNames = %s", names)
	}
	if c.table("nope") != nil {
		t.Error("unconfigured table has a configuration")
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{EncryptAndSign: "EncryptAndSign", SignOnly: "SignOnly",
		SignAndIncludeInContext: "SignAndIncludeInContext", DoNothing: "DoNothing", 0: "Action(0)"} {
		if got := a.String(); got != want {
			t.Errorf("%d: %q, want %q", int(a), got, want)
		}
	}
}
