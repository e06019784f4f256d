package dynamocrypto

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// countingKeyring counts the calls that reach the keyring and can fail
// unwrapping with a set error.
type countingKeyring struct {
	kr               keyring.Keyring
	encrypts, unwrap atomic.Int64
	failDecrypt      error
}

func (k *countingKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	k.encrypts.Add(1)
	return k.kr.OnEncrypt(ctx, m)
}

func (k *countingKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	k.unwrap.Add(1)
	if k.failDecrypt != nil {
		return k.failDecrypt
	}
	return k.kr.OnDecrypt(ctx, m, edks)
}

func TestCacheServesManyItems(t *testing.T) {
	kr := &countingKeyring{kr: testKeyring(t)}
	tc := customersConfig()
	tc.Cache = newTestCache(t)
	c, err := New(nil, kr, tc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var stored []map[string]types.AttributeValue
	ids := map[string]bool{}
	values := map[string]bool{}
	for i := range 50 {
		item := sampleItem()
		item["pk"] = &types.AttributeValueMemberS{Value: fmt.Sprint("c#", i)}
		enc, err := c.EncryptItem(ctx, "customers", item)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, enc)
		ids[string(enc[headerAttr].(*types.AttributeValueMemberB).Value[3:35])] = true
		values[string(enc["ssn"].(*types.AttributeValueMemberB).Value)] = true
	}
	for _, enc := range stored {
		if _, err := c.DecryptItem(ctx, "customers", enc); err != nil {
			t.Fatal(err)
		}
	}
	if kr.encrypts.Load() != 1 || kr.unwrap.Load() != 1 {
		t.Fatalf("keyring calls: %d encrypt, %d decrypt; want 1 and 1", kr.encrypts.Load(), kr.unwrap.Load())
	}
	if len(ids) != 50 || len(values) != 50 {
		t.Fatalf("items sharing a data key share item ids (%d distinct) or ciphertexts (%d distinct)", len(ids), len(values))
	}
}

func TestKeyErrorsAreClassified(t *testing.T) {
	ctx := context.Background()
	enc, err := newTestClient(t, nil).EncryptItem(ctx, "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		fail      error
		transient bool
	}{
		"throttled":  {fmt.Errorf("%w: throttled", keyring.ErrTransient), true},
		"canceled":   {context.Canceled, true},
		"network":    {&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		"untrusted":  {&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, false},
		"no key":     {keyring.ErrNoDecryptionKey, false},
		"not mine":   {keyring.ErrNotMine, false},
		"permission": {errors.New("access denied"), false},
	} {
		kr := &countingKeyring{kr: testKeyring(t), failDecrypt: tc.fail}
		c, err := New(nil, kr, customersConfig())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.DecryptItem(ctx, "customers", enc)
		if errors.Is(err, ErrTransient) != tc.transient || errors.Is(err, ErrKeyUnavailable) == tc.transient {
			t.Errorf("%s: %v (transient %v)", name, err, errors.Is(err, ErrTransient))
		}
		if !errors.Is(err, tc.fail) {
			t.Errorf("%s: cause lost: %v", name, err)
		}
	}
	other, _ := keyring.NewRawAES("test", "key-1", bytes.Repeat([]byte{1}, 32))
	c, _ := New(nil, other, customersConfig())
	if _, err := c.DecryptItem(ctx, "customers", enc); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("wrong wrapping key: %v", err)
	}
}

func TestDecryptAttributeRules(t *testing.T) {
	c := newTestClient(t, nil)
	ctx := context.Background()
	enc, err := c.EncryptItem(ctx, "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	// DoNothing and unsigned-prefix attributes may change and be added.
	m := cloneItem(enc)
	m["note"] = &types.AttributeValueMemberS{Value: "edited"}
	m["u_new"] = &types.AttributeValueMemberN{Value: "1"}
	dec, err := c.DecryptItem(ctx, "customers", m)
	if err != nil || dec["note"].(*types.AttributeValueMemberS).Value != "edited" || dec["u_new"] == nil {
		t.Fatalf("unsigned changes: %v", err)
	}
	for name := range dec {
		if len(name) >= 3 && name[:3] == ReservedPrefix {
			t.Fatalf("plaintext holds reserved attribute %s", name)
		}
	}
	// An attribute the configuration does not know.
	m = cloneItem(enc)
	m["stranger"] = &types.AttributeValueMemberS{Value: "x"}
	var e *Error
	if _, err := c.DecryptItem(ctx, "customers", m); !errors.Is(err, ErrUnknownAttribute) || !errors.As(err, &e) || e.Attribute != "stranger" {
		t.Fatalf("unknown attribute: %v", err)
	}
	// A context-bound value changed: named before any key is unwrapped.
	m = cloneItem(enc)
	m["tenant"] = &types.AttributeValueMemberS{Value: "globex"}
	if _, err := c.DecryptItem(ctx, "customers", m); !errors.Is(err, ErrAuthentication) || !errors.As(err, &e) || e.Attribute != "tenant" {
		t.Fatalf("context value changed: %v", err)
	}
	// Not an encrypted item at all.
	if _, err := c.DecryptItem(ctx, "customers", sampleItem()); !errors.Is(err, ErrFormat) {
		t.Fatalf("plaintext item: %v", err)
	}
	// A stored item of a table whose configured context changed.
	c2 := newTestClient(t, func(tc *TableConfig) { tc.Context = map[string]string{"app": "billing"} })
	if _, err := c2.DecryptItem(ctx, "customers", enc); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("configured context missing from the item: %v", err)
	}
}

func TestEncryptRejectsInvalidItems(t *testing.T) {
	c := newTestClient(t, nil)
	for name, tc := range map[string]struct {
		mod  func(map[string]types.AttributeValue)
		attr string
		kind error
	}{
		"reserved name":  {func(m map[string]types.AttributeValue) { m["ck$b_ssn"] = &types.AttributeValueMemberS{Value: "0000"} }, "ck$b_ssn", ErrInvalidItem},
		"missing pk":     {func(m map[string]types.AttributeValue) { delete(m, "pk") }, "pk", ErrInvalidItem},
		"missing sk":     {func(m map[string]types.AttributeValue) { delete(m, "sk") }, "sk", ErrInvalidItem},
		"BOOL key":       {func(m map[string]types.AttributeValue) { m["pk"] = &types.AttributeValueMemberBOOL{} }, "pk", ErrInvalidItem},
		"nil value":      {func(m map[string]types.AttributeValue) { m["zip"] = nil }, "zip", ErrInvalidItem},
		"bad number":     {func(m map[string]types.AttributeValue) { m["age"] = &types.AttributeValueMemberN{Value: "x"} }, "age", ErrInvalidItem},
		"bad enc number": {func(m map[string]types.AttributeValue) { m["name"] = &types.AttributeValueMemberN{Value: "1..2"} }, "name", ErrInvalidItem},
		"NULL false":     {func(m map[string]types.AttributeValue) { m["ssn"] = &types.AttributeValueMemberNULL{} }, "ssn", ErrInvalidItem},
		"context type":   {func(m map[string]types.AttributeValue) { m["tenant"] = &types.AttributeValueMemberL{} }, "tenant", ErrInvalidItem},
		"huge context value": {func(m map[string]types.AttributeValue) {
			m["tenant"] = &types.AttributeValueMemberS{Value: string(bytes.Repeat([]byte{'a'}, 70000))}
		}, "", ErrInvalidItem},
		"unknown": {func(m map[string]types.AttributeValue) { m["x"] = &types.AttributeValueMemberS{} }, "x", ErrUnknownAttribute},
	} {
		item := sampleItem()
		tc.mod(item)
		_, err := c.EncryptItem(context.Background(), "customers", item)
		var e *Error
		if !errors.Is(err, tc.kind) || !errors.As(err, &e) || e.Attribute != tc.attr {
			t.Errorf("%s: %v, want %v naming %q", name, err, tc.kind, tc.attr)
		}
	}
}

// TestConcurrentUse encrypts and decrypts from many goroutines through
// one client, cache and beacon key cache (run with -race).
func TestConcurrentUse(t *testing.T) {
	c := newTestClient(t, func(tc *TableConfig) { tc.Cache = newTestCache(t); tc.Suite = SuiteCommitHMACECDSA })
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				item := sampleItem()
				item["pk"] = &types.AttributeValueMemberS{Value: fmt.Sprint(g, "#", i)}
				enc, err := c.EncryptItem(ctx, "customers", item)
				if err == nil {
					var dec map[string]types.AttributeValue
					dec, err = c.DecryptItem(ctx, "customers", enc)
					if err == nil && dec["pk"].(*types.AttributeValueMemberS).Value != fmt.Sprint(g, "#", i) {
						err = errors.New("wrong item back")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestPlaintextReads(t *testing.T) {
	ctx := context.Background()
	legacy := sampleItem()
	strict := newTestClient(t, nil)
	if _, err := strict.DecryptItem(ctx, "customers", legacy); !errors.Is(err, ErrFormat) {
		t.Fatalf("plaintext item without PlaintextReads: %v", err)
	}
	c := newTestClient(t, func(tc *TableConfig) { tc.PlaintextReads = true })
	got, err := c.DecryptItem(ctx, "customers", legacy)
	if err != nil || len(got) != len(legacy) || got["ssn"] != legacy["ssn"] {
		t.Fatalf("legacy item: %v", err)
	}
	// Encrypted items still verify, and an item with only one of header
	// and footer is not a legacy item.
	enc, err := c.EncryptItem(ctx, "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DecryptItem(ctx, "customers", enc); err != nil {
		t.Fatal(err)
	}
	delete(enc, footerAttr)
	if _, err := c.DecryptItem(ctx, "customers", enc); !errors.Is(err, ErrFormat) {
		t.Fatalf("footer removed: %v", err)
	}
	legacy["stranger"] = &types.AttributeValueMemberS{Value: "x"}
	if _, err := c.DecryptItem(ctx, "customers", legacy); !errors.Is(err, ErrUnknownAttribute) {
		t.Fatalf("legacy item with an unknown attribute: %v", err)
	}
}

// unwrapFailingKeyring fails every unwrap attempt through TryUnwrap, like
// a key service refusing each encrypted data key.
type unwrapFailingKeyring struct{ attempts atomic.Int64 }

func (k *unwrapFailingKeyring) OnEncrypt(context.Context, *keyring.EncryptionMaterials) error {
	return errors.New("decrypt only")
}

func (k *unwrapFailingKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	var errs []error
	for range edks {
		_, err := keyring.TryUnwrap(ctx, func() ([]byte, error) {
			k.attempts.Add(1)
			return nil, keyring.ErrNoDecryptionKey
		})
		errs = append(errs, err)
		if errors.Is(err, keyring.ErrUnwrapLimit) {
			break
		}
	}
	return errors.Join(errs...)
}

// TestUnwrapAttemptsBounded: a stored item whose header lists many
// encrypted data keys costs at most maxUnwrapAttempts keyring attempts.
func TestUnwrapAttemptsBounded(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, nil)
	enc, err := c.EncryptItem(ctx, "customers", sampleItem())
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(enc[headerAttr].(*types.AttributeValueMemberB).Value)
	if err != nil {
		t.Fatal(err)
	}
	for len(h.edks) < 200 {
		h.edks = append(h.edks, h.edks[0])
	}
	keys := make([]string, 0, len(h.context))
	for k := range h.context {
		keys = append(keys, k)
	}
	sortStrings(keys)
	enc[headerAttr] = &types.AttributeValueMemberB{Value: h.marshal(nil, keys)}
	kr := &unwrapFailingKeyring{}
	c2, err := New(nil, kr, customersConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.DecryptItem(ctx, "customers", enc); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if n := kr.attempts.Load(); n > maxUnwrapAttempts {
		t.Fatalf("%d unwrap attempts for one item, want at most %d", n, maxUnwrapAttempts)
	}
}

// TestEncryptRejectsLongSignedNames: the header holds attribute names with
// a 16-bit length; a longer signed name is refused rather than written
// into a header no reader can parse.
func TestEncryptRejectsLongSignedNames(t *testing.T) {
	long := string(bytes.Repeat([]byte{'n'}, 0x10000))
	c := newTestClient(t, func(tc *TableConfig) { tc.Actions[long] = SignOnly })
	item := sampleItem()
	item[long] = &types.AttributeValueMemberS{Value: "v"}
	if _, err := c.EncryptItem(context.Background(), "customers", item); !errors.Is(err, ErrInvalidItem) {
		t.Fatalf("signed name of 65536 bytes: %v, want ErrInvalidItem", err)
	}
}
