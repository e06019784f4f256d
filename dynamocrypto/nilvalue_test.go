package dynamocrypto

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// nilValues are the nil values a caller can put into an item or a request:
// a nil member pointer at the top, and nested in a list or map.
func nilValues() []types.AttributeValue {
	return []types.AttributeValue{
		(*types.AttributeValueMemberS)(nil),
		(*types.AttributeValueMemberB)(nil),
		(*types.AttributeValueMemberN)(nil),
		(*types.AttributeValueMemberM)(nil),
		&types.AttributeValueMemberL{Value: []types.AttributeValue{(*types.AttributeValueMemberSS)(nil)}},
		&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": (*types.AttributeValueMemberBOOL)(nil)}},
	}
}

// TestNilValuesRefused: nil member pointers in items to encrypt, in items
// to decrypt and in expression values are errors, never panics.
func TestNilValuesRefused(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	enc, err := c.EncryptItem(ctx, "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	noPanic := func(what string, f func() error) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: panic %v", what, r)
			}
		}()
		if err := f(); err == nil {
			t.Errorf("%s: no error", what)
		}
	}
	for _, nv := range nilValues() {
		for _, name := range []string{"name", "zip", "pk", "tenant", "profile"} {
			noPanic("encrypt "+name, func() error {
				m := sampleItem()
				m[name] = nv
				_, err := c.EncryptItem(ctx, "customers", m)
				if err != nil && !errors.Is(err, ErrInvalidItem) {
					t.Errorf("encrypt %s: %v, want ErrInvalidItem", name, err)
				}
				return err
			})
		}
		for _, name := range []string{headerAttr, footerAttr, "name", "zip", "pk", "tenant"} {
			noPanic("decrypt "+name, func() error {
				m := cloneItem(enc)
				m[name] = nv
				_, err := c.DecryptItem(ctx, "customers", m)
				return err
			})
		}
		values := map[string]types.AttributeValue{":v": nv, ":t": avS("acme")}
		for _, filter := range []string{"ssn = :v", "zip = :v", "ssn_zip = :v", "begins_with(ssn_zip, :v)", "zip IN (:v, :t)"} {
			noPanic("filter "+filter, func() error {
				_, err := c.planRead(ctx, "Scan", c.table("customers"), nil, aws.String(filter), nil, nil, values)
				return err
			})
		}
		noPanic("update", func() error {
			_, err := parseUpdateReq("UpdateItem", c.table("customers"), nil, aws.String("SET zip = :v"), aws.String("ssn = :v"), nil, values)
			return err
		})
	}
}
