package dynamocrypto

import (
	"context"
	"errors"
	"reflect"
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
