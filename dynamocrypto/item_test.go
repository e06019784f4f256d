package dynamocrypto

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestRoundTrip(t *testing.T) {
	for _, suite := range []Suite{SuiteCommitHMAC, SuiteCommitHMACECDSA} {
		c := newTestClient(t, func(tc *TableConfig) { tc.Suite = suite })
		ctx := context.Background()
		in := sampleItem()
		before := sampleItem()
		enc, err := c.EncryptItem(ctx, "customers", in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(in, before) {
			t.Fatal("EncryptItem modified its input")
		}
		for _, name := range []string{"name", "ssn", "profile", "tags"} {
			if _, ok := enc[name].(*types.AttributeValueMemberB); !ok {
				t.Errorf("%s stored as %T, want B", name, enc[name])
			}
		}
		for _, name := range []string{"pk", "sk", "zip", "tenant", "age", "note", "u_seen"} {
			if enc[name] != in[name] {
				t.Errorf("%s not stored in plaintext", name)
			}
		}
		for _, name := range []string{headerAttr, footerAttr, BeaconAttribute("ssn"), BeaconAttribute("ssn_zip")} {
			if enc[name] == nil {
				t.Errorf("stored item lacks %s", name)
			}
		}
		encCopy := cloneItem(enc)
		dec, err := c.DecryptItem(ctx, "customers", enc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(enc, encCopy) {
			t.Fatal("DecryptItem modified its input")
		}
		if !reflect.DeepEqual(dec, before) {
			t.Fatalf("suite %v: round trip differs:\n got %#v\nwant %#v", suite, dec, before)
		}
	}
}

func TestUnconfiguredTablePassesThrough(t *testing.T) {
	c := newTestClient(t, nil)
	in := sampleItem()
	out, err := c.EncryptItem(context.Background(), "other", in)
	if err != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("EncryptItem on an unconfigured table: %v", err)
	}
	out, err = c.DecryptItem(context.Background(), "other", in)
	if err != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("DecryptItem on an unconfigured table: %v", err)
	}
}

func TestEncryptRejectsUnknownAttribute(t *testing.T) {
	c := newTestClient(t, nil)
	in := sampleItem()
	in["surprise"] = &types.AttributeValueMemberS{Value: "x"}
	_, err := c.EncryptItem(context.Background(), "customers", in)
	var e *Error
	if !errors.Is(err, ErrUnknownAttribute) || !errors.As(err, &e) || e.Attribute != "surprise" {
		t.Fatalf("err = %v, want ErrUnknownAttribute naming surprise", err)
	}
}

// TestEveryTypeRoundTrips encrypts a value of each DynamoDB type as a
// top-level attribute and gets it back with its type.
func TestEveryTypeRoundTrips(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	for name, v := range map[string]types.AttributeValue{
		"S": &types.AttributeValueMemberS{Value: ""}, "N": &types.AttributeValueMemberN{Value: "-0.000123e-5"},
		"B": &types.AttributeValueMemberB{Value: []byte{}}, "BOOL": &types.AttributeValueMemberBOOL{Value: true},
		"NULL": &types.AttributeValueMemberNULL{Value: true},
		"L":    &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
		"M":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		"SS":   &types.AttributeValueMemberSS{Value: []string{"z", "a"}},
		"NS":   &types.AttributeValueMemberNS{Value: []string{"10", "9.5"}},
		"BS":   &types.AttributeValueMemberBS{Value: [][]byte{{9}, {}}},
	} {
		item := sampleItem()
		item["name"] = v
		enc, err := c.EncryptItem(ctx, "customers", item)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := enc["name"].(*types.AttributeValueMemberB).Value; b[0] != typeTag(v) {
			t.Fatalf("%s: stored tag %d", name, b[0])
		}
		dec, err := c.DecryptItem(ctx, "customers", enc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(dec["name"], v) {
			t.Fatalf("%s: got %#v, want %#v", name, dec["name"], v)
		}
	}
}

// TestErrorsHoldNoPlaintext: errors about tampered items name attributes,
// never their values.
func TestErrorsHoldNoPlaintext(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	enc, err := c.EncryptItem(ctx, "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ssn", "zip", "tenant", "pk"} {
		m := cloneItem(enc)
		m[name] = &types.AttributeValueMemberS{Value: "SECRET-VALUE"}
		_, err := c.DecryptItem(ctx, "customers", m)
		if err == nil {
			t.Fatalf("%s replaced: decrypted", name)
		}
		for _, v := range []string{"SECRET-VALUE", "123-45-6789", "Ada Lovelace", "10115", "acme", "customer#1"} {
			if strings.Contains(err.Error(), v) {
				t.Fatalf("%s replaced: error %q holds a value", name, err)
			}
		}
	}
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Op: "decrypt", Table: "customers", Attribute: "ssn", Err: ErrAuthentication}
	if got := e.Error(); got != `dynamocrypto: decrypt customers: attribute "ssn": dynamocrypto: item authentication failed` {
		t.Fatalf("Error() = %q", got)
	}
	e.Attribute = ""
	if got := e.Error(); got != "dynamocrypto: decrypt customers: dynamocrypto: item authentication failed" || !errors.Is(e, ErrAuthentication) {
		t.Fatalf("Error() = %q", got)
	}
}
