package hierarchy_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/hierarchy"
)

// exampleSource is an in-memory BranchKeySource standing in for a *Store,
// so that the examples run without DynamoDB and KMS.
type exampleSource map[string]*hierarchy.BranchKey

func newExampleSource(ids ...string) exampleSource {
	s := exampleSource{}
	for _, id := range ids {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		s[id] = &hierarchy.BranchKey{ID: id, Version: "83eec007-5659-4554-bf11-699b90f41ac6", Key: key}
	}
	return s
}

func (s exampleSource) GetActiveBranchKey(_ context.Context, id string) (*hierarchy.BranchKey, error) {
	if bk, ok := s[id]; ok {
		return bk.Clone(), nil
	}
	return nil, hierarchy.ErrNotFound
}

func (s exampleSource) GetBranchKeyVersion(_ context.Context, id, version string) (*hierarchy.BranchKey, error) {
	if bk, ok := s[id]; ok && bk.Version == version {
		return bk.Clone(), nil
	}
	return nil, hierarchy.ErrNotFound
}

// A keyring for one branch key. With a *Store as the source (see
// NewStore), each branch key costs one DynamoDB read and one KMS call per
// TTL.
func ExampleNewKeyring() {
	var store hierarchy.BranchKeySource = newExampleSource("orders") // a *hierarchy.Store in production
	kr, err := hierarchy.NewKeyring(store, hierarchy.WithBranchKeyID("orders"), hierarchy.WithTTL(10*time.Minute))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for range 20 {
		ct, err := envelope.Encrypt(ctx, kr, []byte("order 1"))
		if err != nil {
			panic(err)
		}
		if _, _, err := envelope.Decrypt(ctx, kr, ct); err != nil {
			panic(err)
		}
	}
	m := kr.Metrics()
	fmt.Printf("store calls: %d, cache hits: %d\n", m.StoreCalls, m.Hits)
	// Output: store calls: 1, cache hits: 39
}

// Multi-tenant encryption: the tenant pair of the encryption context picks
// the branch key, on encryption and on decryption.
func ExampleContextKeySupplier() {
	store := newExampleSource("bk-acme", "bk-globex")
	kr, err := hierarchy.NewKeyring(store, hierarchy.WithBranchKeyIDSupplier(
		hierarchy.ContextKeySupplier("tenant", map[string]string{"acme": "bk-acme", "globex": "bk-globex"})))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	acme := map[string]string{"tenant": "acme"}
	ct, err := envelope.Encrypt(ctx, kr, []byte("acme's invoice"), envelope.WithContext(acme))
	if err != nil {
		panic(err)
	}
	pt, hdr, err := envelope.Decrypt(ctx, kr, ct, envelope.WithContext(acme))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s, wrapped by branch key %s\n", pt, hdr.EncryptedDataKeys[0].ProviderInfo)

	_, _, err = envelope.Decrypt(ctx, kr, ct, envelope.WithContext(map[string]string{"tenant": "globex"}))
	fmt.Println("read as globex's:", err != nil)
	// Output:
	// acme's invoice, wrapped by branch key bk-acme
	// read as globex's: true
}

// Keyrings sharing one cache: those with the same partition share branch
// keys; another partition never sees them.
func ExampleWithSharedCache() {
	store := newExampleSource("orders")
	cache, err := hierarchy.NewBranchKeyCache(1000)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, partition := range []string{"billing", "billing", "reports"} {
		kr, err := hierarchy.NewKeyring(store, hierarchy.WithBranchKeyID("orders"), hierarchy.WithSharedCache(cache, partition))
		if err != nil {
			panic(err)
		}
		if _, err := envelope.Encrypt(ctx, kr, []byte("x")); err != nil {
			panic(err)
		}
	}
	fmt.Println("store calls:", cache.Metrics().StoreCalls)
	// Output: store calls: 2
}
