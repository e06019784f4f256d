package dynamocrypto

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// alter returns a different value of the same type as v.
func alter(v types.AttributeValue) types.AttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: v.Value + "x"}
	case *types.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: v.Value + "1"}
	case *types.AttributeValueMemberB:
		b := slices.Clone(v.Value)
		b[len(b)-1] ^= 1
		return &types.AttributeValueMemberB{Value: b}
	case *types.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: !v.Value}
	}
	return &types.AttributeValueMemberS{Value: "changed"}
}

func isSignedStored(t *table, name string) bool {
	if name == headerAttr || name == footerAttr {
		return true
	}
	a, _ := t.action(name)
	return a.signed()
}

// TestTamperSweep changes every attribute of stored items in every way the
// format must catch: removed, altered, swapped with another item's value,
// replayed from an older version of the same item; and moves items to
// other keys and tables.
func TestTamperSweep(t *testing.T) {
	for _, suite := range []Suite{SuiteCommitHMAC, SuiteCommitHMACECDSA} {
		c := newTestClient(t, func(tc *TableConfig) { tc.Suite = suite; tc.Cache = newTestCache(t) })
		tb := c.table("customers")
		ctx := context.Background()
		enc := func(mod func(map[string]types.AttributeValue)) map[string]types.AttributeValue {
			item := sampleItem()
			mod(item)
			out, err := c.EncryptItem(ctx, "customers", item)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		a := enc(func(map[string]types.AttributeValue) {})
		// b: another item, every value different.
		b := enc(func(m map[string]types.AttributeValue) {
			for k, v := range m {
				if k != "tenant" {
					m[k] = alter(v)
				}
			}
		})
		// old: an older version of a, same key, other values.
		old := enc(func(m map[string]types.AttributeValue) {
			for k, v := range m {
				if k != "pk" && k != "sk" && k != "tenant" {
					m[k] = alter(v)
				}
			}
		})
		if _, err := c.DecryptItem(ctx, "customers", a); err != nil {
			t.Fatal(err)
		}
		check := func(what, name string, item map[string]types.AttributeValue) {
			t.Helper()
			_, err := c.DecryptItem(ctx, "customers", item)
			if !isSignedStored(tb, name) {
				if err != nil {
					t.Errorf("suite %v: %s unsigned %s: %v", suite, what, name, err)
				}
				return
			}
			if err == nil {
				t.Errorf("suite %v: %s %s: decrypted", suite, what, name)
				return
			}
			if !errors.Is(err, ErrAuthentication) && !errors.Is(err, ErrFormat) {
				t.Errorf("suite %v: %s %s: %v, want ErrAuthentication or ErrFormat", suite, what, name, err)
			}
			var e *Error
			if name != headerAttr && name != footerAttr && (!errors.As(err, &e) || e.Attribute != name) {
				t.Errorf("suite %v: %s %s: error %v does not name the attribute", suite, what, name, err)
			}
		}
		for name := range a {
			m := cloneItem(a)
			delete(m, name)
			check("removed", name, m)
			if isSignedStored(tb, name) && name != headerAttr && name != footerAttr {
				var e *Error
				if _, err := c.DecryptItem(ctx, "customers", m); !errors.As(err, &e) || e.Attribute != name {
					t.Errorf("removed %s: error %v does not name it", name, err)
				}
			}
			m = cloneItem(a)
			m[name] = alter(a[name])
			check("altered", name, m)
			if bv, ok := b[name]; ok && name != "tenant" {
				m = cloneItem(a)
				m[name] = bv
				check("swapped", name, m)
			}
			if ov, ok := old[name]; ok && name != "pk" && name != "sk" && name != "tenant" {
				m = cloneItem(a)
				m[name] = ov
				check("replayed", name, m)
			}
		}
		// Moved to another key: a's attributes under b's key.
		for _, k := range []string{"pk", "sk"} {
			m := cloneItem(a)
			m[k] = b[k]
			var e *Error
			if _, err := c.DecryptItem(ctx, "customers", m); !errors.Is(err, ErrAuthentication) || !errors.As(err, &e) || e.Attribute != k {
				t.Errorf("moved to another %s: %v", k, err)
			}
		}
		// Added: a signed attribute the item did not have.
		noZip := enc(func(m map[string]types.AttributeValue) { delete(m, "zip") })
		noZip["zip"] = a["zip"]
		var e *Error
		if _, err := c.DecryptItem(ctx, "customers", noZip); !errors.Is(err, ErrAuthentication) || !errors.As(err, &e) || e.Attribute != "zip" {
			t.Errorf("added zip: %v", err)
		}
		// Every byte of the header and footer.
		for _, name := range []string{headerAttr, footerAttr} {
			stored := a[name].(*types.AttributeValueMemberB).Value
			for i := range stored {
				m := cloneItem(a)
				v := slices.Clone(stored)
				v[i] ^= 0x40
				m[name] = &types.AttributeValueMemberB{Value: v}
				if _, err := c.DecryptItem(ctx, "customers", m); err == nil {
					t.Fatalf("suite %v: %s byte %d flipped: decrypted", suite, name, i)
				}
			}
		}
	}
}

// TestMovedToAnotherTable decrypts an item of one table as an item of
// another table with the same configuration and keyring.
func TestMovedToAnotherTable(t *testing.T) {
	tc1, tc2 := customersConfig(), customersConfig()
	tc2.Name = "customers_copy"
	c, err := New(nil, testKeyring(t), tc1, tc2)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.EncryptItem(context.Background(), "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DecryptItem(context.Background(), "customers_copy", enc)
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("item moved to another table: %v, want ErrAuthentication", err)
	}
}

// TestEncryptedValueSwappedWithinItem moves one encrypted value onto
// another encrypted attribute of the same item.
func TestEncryptedValueSwappedWithinItem(t *testing.T) {
	c := newTestClient(t, nil)
	enc, err := c.EncryptItem(context.Background(), "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	enc["name"], enc["ssn"] = enc["ssn"], enc["name"]
	if _, err := c.DecryptItem(context.Background(), "customers", enc); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("swapped within the item: %v", err)
	}
}

// TestSignedTableRefusesUnsignedItems: on a table of the signed suite, a
// reader who can unwrap data keys (and so can make HMAC-suite items) cannot
// pass off an item it made as one of the table's.
func TestSignedTableRefusesUnsignedItems(t *testing.T) {
	ctx := context.Background()
	signed := newTestClient(t, func(tc *TableConfig) { tc.Suite = SuiteCommitHMACECDSA })
	forger := newTestClient(t, func(tc *TableConfig) { tc.Suite = SuiteCommitHMAC })
	forged, err := forger.EncryptItem(ctx, "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if _, err := signed.DecryptItem(ctx, "customers", forged); !errors.Is(err, ErrAuthentication) || !errors.As(err, &e) || e.Attribute != headerAttr {
		t.Fatalf("unsigned item on a signed table: %v, want ErrAuthentication naming the header", err)
	}
	genuine, err := signed.EncryptItem(ctx, "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signed.DecryptItem(ctx, "customers", genuine); err != nil {
		t.Fatal(err)
	}
	// A table of the HMAC suite reads signed items too.
	if _, err := forger.DecryptItem(ctx, "customers", genuine); err != nil {
		t.Fatalf("signed item on an HMAC table: %v", err)
	}
}
