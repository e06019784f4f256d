package dynamocrypto

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

type customer struct {
	PK      string            `dynamodbav:"pk"`
	SK      int               `dynamodbav:"sk"`
	Name    string            `dynamodbav:"name"`
	SSN     string            `dynamodbav:"ssn"`
	Zip     string            `dynamodbav:"zip"`
	Tenant  string            `dynamodbav:"tenant"`
	Tags    []string          `dynamodbav:"tags,stringset"`
	Profile map[string]string `dynamodbav:"profile"`
	Note    string            `dynamodbav:"note,omitempty"`
}

func TestMarshalEncryptUnmarshalDecrypt(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	in := customer{PK: "c#1", SK: 7, Name: "Ada", SSN: "123-45-6789", Zip: "10115", Tenant: "acme",
		Tags: []string{"x", "y"}, Profile: map[string]string{"city": "Berlin"}}
	stored, err := c.MarshalEncrypt(ctx, "customers", in)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := stored["ssn"].(*types.AttributeValueMemberB); !ok {
		t.Fatalf("ssn stored as %T", stored["ssn"])
	}
	var out customer
	if err := c.UnmarshalDecrypt(ctx, "customers", stored, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("got %+v, want %+v", out, in)
	}
	// A tampered item leaves out untouched.
	stored["zip"] = &types.AttributeValueMemberS{Value: "99999"}
	var untouched customer
	if err := c.UnmarshalDecrypt(ctx, "customers", stored, &untouched); !errors.Is(err, ErrAuthentication) || !reflect.DeepEqual(untouched, customer{}) {
		t.Fatalf("tampered: %v, %+v", err, untouched)
	}
	if _, err := c.MarshalEncrypt(ctx, "customers", 42); !errors.Is(err, ErrInvalidItem) {
		t.Fatalf("marshal an int: %v", err)
	}
	if err := c.UnmarshalDecrypt(ctx, "customers", map[string]types.AttributeValue{}, &out); !errors.Is(err, ErrFormat) {
		t.Fatalf("empty item: %v", err)
	}
	var wrong struct {
		SK bool `dynamodbav:"sk"`
	}
	stored["zip"] = &types.AttributeValueMemberS{Value: "10115"}
	if err := c.UnmarshalDecrypt(ctx, "customers", stored, &wrong); !errors.Is(err, ErrInvalidItem) {
		t.Fatalf("unmarshal into a mismatched struct: %v", err)
	}
}

// TestUnmarshalDecryptErrorHoldsNoPlaintext: a decrypted value that does
// not fit the Go field is not quoted in the error.
func TestUnmarshalDecryptErrorHoldsNoPlaintext(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	item := sampleItem()
	item["name"] = &types.AttributeValueMemberN{Value: "987654321"}
	item["ssn"] = &types.AttributeValueMemberN{Value: "1234.5"}
	stored, err := c.EncryptItem(ctx, "customers", item)
	if err != nil {
		t.Fatal(err)
	}
	var overflow struct {
		Name int8 `dynamodbav:"name"`
	}
	var notInt struct {
		SSN int `dynamodbav:"ssn"`
	}
	for _, out := range []any{&overflow, &notInt} {
		err := c.UnmarshalDecrypt(ctx, "customers", stored, out)
		if !errors.Is(err, ErrInvalidItem) {
			t.Fatalf("%T: %v, want ErrInvalidItem", out, err)
		}
		for _, v := range []string{"987654321", "1234.5"} {
			if strings.Contains(err.Error(), v) {
				t.Fatalf("%T: error %q holds a decrypted value", out, err)
			}
		}
	}
}
