package hierarchy_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/hierarchy"
)

// krBackend is a branch key store on moto's DynamoDB with its KMS key in
// kmstest, where the KMS calls are counted.
type krBackend struct {
	ddb   *dynamodb.Client
	kms   *kmstest.Server
	arn   string
	store *hierarchy.Store
}

func newKRBackend(t *testing.T) *krBackend {
	t.Helper()
	url := testserver.Moto(t)
	ddb := ddbClient(url)
	srv := kmstest.NewServer(kmstest.WithRegion(region))
	t.Cleanup(srv.Close)
	arn, err := srv.CreateKey()
	require.NoError(t, err)
	store, err := hierarchy.NewStore(ddb, srv.Client(kmstest.ClientRetries(1)), "keyring-tests", arn,
		hierarchy.WithLogicalName("keyring-tests"))
	require.NoError(t, err)
	require.NoError(t, store.CreateTable(context.Background()))
	return &krBackend{ddb: ddb, kms: srv, arn: arn, store: store}
}

// tenants creates n branch keys named prefix-0 ... prefix-(n-1).
func (b *krBackend) tenants(t *testing.T, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		id, err := b.store.CreateKey(context.Background(), hierarchy.WithNewKeyID(fmt.Sprintf("%s-%d", prefix, i)),
			hierarchy.WithKeyContext(map[string]string{"tenant": fmt.Sprint(i)}))
		require.NoError(t, err)
		ids[i] = id
	}
	return ids
}

func TestKeyringWithStore(t *testing.T) {
	b := newKRBackend(t)
	t.Run("Counting", func(t *testing.T) { testCounting(t, b) })
	t.Run("Rotation", func(t *testing.T) { testRotation(t, b) })
	t.Run("Categories", func(t *testing.T) { testStoreCategories(t, b) })
}

// testCounting: 10,000 messages across 10 tenants from 64 goroutines,
// with a 60 s TTL, make exactly 10 KMS Decrypt calls and 10 DynamoDB
// reads: one per tenant.
func testCounting(t *testing.T, b *krBackend) {
	const tenants, messages, workers = 10, 10_000, 64
	ids := b.tenants(t, "count", tenants)
	kr, err := hierarchy.NewKeyring(b.store, hierarchy.WithBranchKeyIDSupplier(hierarchy.ContextKeySupplier("tenant", nil)),
		hierarchy.WithTTL(60*time.Second))
	require.NoError(t, err)
	b.kms.ResetCalls()

	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= messages {
					return
				}
				ec := map[string]string{"tenant": ids[i%tenants], "message": fmt.Sprint(i)}
				pt := []byte(fmt.Sprintf("message %d", i))
				ct, err := envelope.Encrypt(context.Background(), kr, pt, envelope.WithContext(ec),
					envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey))
				if err == nil {
					var got []byte
					got, _, err = envelope.Decrypt(context.Background(), kr, ct, envelope.WithContext(ec))
					if err == nil && string(got) != string(pt) {
						err = fmt.Errorf("message %d: wrong plaintext", i)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Less(t, time.Since(start), 60*time.Second, "the run must fit in one TTL for the count to mean anything")
	require.Equal(t, tenants, b.kms.Calls("Decrypt"), "KMS Decrypt calls")
	require.Equal(t, tenants, b.kms.TotalCalls(), "no other KMS calls")
	m := kr.Metrics()
	require.Equal(t, uint64(tenants), m.StoreCalls, "store calls: one DynamoDB GetItem each")
	require.Equal(t, uint64(0), m.StoreErrors)
	require.Equal(t, uint64(2*messages), m.Hits+m.Misses)
	t.Logf("%d messages, %d tenants, %d goroutines in %v: %d KMS Decrypt calls, metrics %+v",
		messages, tenants, workers, time.Since(start).Round(time.Millisecond), b.kms.Calls("Decrypt"), m)
}

// testRotation: after VersionKey, encryption moves to the new version once
// the TTL has run out, and messages of both versions decrypt.
func testRotation(t *testing.T, b *krBackend) {
	ctx := context.Background()
	id := b.tenants(t, "rotate", 1)[0]
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cache, err := hierarchy.NewBranchKeyCache(10)
	require.NoError(t, err)
	hierarchy.SetCacheClock(cache, clock)
	kr, err := hierarchy.NewKeyring(b.store, hierarchy.WithBranchKeyID(id), hierarchy.WithTTL(time.Minute),
		hierarchy.WithSharedCache(cache, "rotation"))
	require.NoError(t, err)

	before, err := b.store.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	defer before.Zero()
	old, err := envelope.Encrypt(ctx, kr, []byte("old"))
	require.NoError(t, err)
	require.NoError(t, b.store.VersionKey(ctx, id))
	after, err := b.store.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	defer after.Zero()
	require.NotEqual(t, before.Version, after.Version)

	version := func(msg []byte) string {
		_, h, err := envelope.Decrypt(ctx, kr, msg)
		require.NoError(t, err)
		ct := h.EncryptedDataKeys[0].Ciphertext
		return fmt.Sprintf("%x-%x-%x-%x-%x", ct[28:32], ct[32:34], ct[34:36], ct[36:38], ct[38:44])
	}
	same, err := envelope.Encrypt(ctx, kr, []byte("still old"))
	require.NoError(t, err)
	require.Equal(t, before.Version, version(same), "the cached active version is used until the TTL ends")

	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	newer, err := envelope.Encrypt(ctx, kr, []byte("new"))
	require.NoError(t, err)
	require.Equal(t, after.Version, version(newer))

	fresh, err := hierarchy.NewKeyring(b.store, hierarchy.WithBranchKeyID(id))
	require.NoError(t, err)
	for msg, want := range map[*[]byte]string{&old: "old", &same: "still old", &newer: "new"} {
		pt, _, err := envelope.Decrypt(ctx, fresh, *msg)
		require.NoError(t, err)
		require.Equal(t, want, string(pt))
	}
	require.Equal(t, uint64(2), fresh.Metrics().StoreCalls, "one version fetch per version")
}

// testStoreCategories: a KMS outage is transient, a missing branch key
// version is not, and neither is cached.
func testStoreCategories(t *testing.T, b *krBackend) {
	ctx := context.Background()
	id := b.tenants(t, "categories", 1)[0]
	kr, err := hierarchy.NewKeyring(b.store, hierarchy.WithBranchKeyID(id))
	require.NoError(t, err)
	msg, err := envelope.Encrypt(ctx, kr, []byte("x"))
	require.NoError(t, err)

	reader, err := hierarchy.NewKeyring(b.store, hierarchy.WithBranchKeyID(id))
	require.NoError(t, err)
	b.kms.FailNext("Decrypt", 1, kmstest.Unavailable) // the client makes one attempt
	_, _, err = envelope.Decrypt(ctx, reader, msg)
	require.ErrorIs(t, err, keyring.ErrTransient)
	require.NotErrorIs(t, err, keyring.ErrNoDecryptionKey)
	pt, _, err := envelope.Decrypt(ctx, reader, msg)
	require.NoError(t, err, "the failure was not cached")
	require.Equal(t, "x", string(pt))

	// A message naming a branch key id the store does not have.
	other, err := hierarchy.NewKeyring(b.store, hierarchy.WithBranchKeyID("no-such-branch-key"))
	require.NoError(t, err)
	_, err = envelope.Encrypt(ctx, other, []byte("x"))
	require.ErrorIs(t, err, hierarchy.ErrNotFound)
	_, _, err = envelope.Decrypt(ctx, other, msg)
	require.ErrorIs(t, err, keyring.ErrNoDecryptionKey, "another branch key id's message is not this keyring's")
	require.False(t, keyring.IsTransient(err))
}
