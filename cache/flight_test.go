package cache_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/cache"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// blockingLoad wraps a load so that it signals when it starts and then
// waits until release is closed.
func blockingLoad(load func(context.Context) (*keyring.EncryptionMaterials, error), started chan<- struct{}, release <-chan struct{}) func(context.Context) (*keyring.EncryptionMaterials, error) {
	return func(ctx context.Context) (*keyring.EncryptionMaterials, error) {
		started <- struct{}{}
		<-release
		return load(ctx)
	}
}

// waitMisses spins until the cache has counted n misses: every request
// past that point holds the load in progress and waits for it.
func waitMisses(c *cache.Cache, n uint64) {
	for c.Stats().Misses < n {
		runtime.Gosched()
	}
}

func TestConcurrentMissesMakeOneLoad(t *testing.T) {
	const n = 32
	ctx := context.Background()
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	var l loader
	started, release := make(chan struct{}, n), make(chan struct{})
	load := blockingLoad(l.encrypt(kr, nil), started, release)

	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m, err := c.Encryption(ctx, kr, suite, nil, 1, load)
			if assert.NoError(t, err) {
				keys[i] = m.PlaintextDataKey
			}
		})
	}
	<-started
	waitMisses(c, n)
	close(release)
	wg.Wait()

	assert.Equal(t, 1, l.count())
	assert.Len(t, started, 0, "no second load started")
	for _, k := range keys {
		assert.Equal(t, keys[0], k)
	}
	s := c.Stats()
	assert.Equal(t, uint64(n), s.Misses)
	assert.Equal(t, uint64(1), s.KeyringCalls)
}

func TestWaiterHonoursItsContext(t *testing.T) {
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	var l loader
	started, release := make(chan struct{}, 2), make(chan struct{})
	load := blockingLoad(l.encrypt(kr, nil), started, release)

	leaderDone := make(chan error, 1)
	go func() {
		_, err := c.Encryption(context.Background(), kr, suite, nil, 1, load)
		leaderDone <- err
	}()
	<-started

	ctx, cancel := context.WithCancel(context.Background())
	waiterDone := make(chan error, 1)
	go func() {
		_, err := c.Encryption(ctx, kr, suite, nil, 1, load)
		waiterDone <- err
	}()
	waitMisses(c, 2)
	cancel()
	require.ErrorIs(t, <-waiterDone, context.Canceled)

	close(release)
	require.NoError(t, <-leaderDone)
	assert.Equal(t, 1, l.count())
	assert.Equal(t, 1, c.Len())
}

func TestLeaderErrorIsShared(t *testing.T) {
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	boom := errors.New("boom")
	started, release := make(chan struct{}, 2), make(chan struct{})
	load := blockingLoad(func(context.Context) (*keyring.EncryptionMaterials, error) { return nil, boom }, started, release)

	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := c.Encryption(context.Background(), kr, suite, nil, 1, load)
			errs <- err
		}()
	}
	<-started
	waitMisses(c, 2)
	close(release)
	require.ErrorIs(t, <-errs, boom)
	require.ErrorIs(t, <-errs, boom)
	assert.Len(t, started, 0, "the waiter did not load again")
	assert.Equal(t, uint64(1), c.Stats().KeyringCalls)
	assert.Equal(t, 0, c.Len())
}

func TestWaiterRetriesWhenLeaderIsCancelled(t *testing.T) {
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	var l loader
	started, release := make(chan struct{}, 2), make(chan struct{})
	good := l.encrypt(kr, nil)
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderLoad := func(ctx context.Context) (*keyring.EncryptionMaterials, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}

	leaderDone := make(chan error, 1)
	go func() {
		_, err := c.Encryption(leaderCtx, kr, suite, nil, 1, leaderLoad)
		leaderDone <- err
	}()
	<-started
	waiterDone := make(chan error, 1)
	go func() {
		_, err := c.Encryption(context.Background(), kr, suite, nil, 1, blockingLoad(good, started, release))
		waiterDone <- err
	}()
	waitMisses(c, 2)
	cancel()
	require.ErrorIs(t, <-leaderDone, context.Canceled)
	<-started // the waiter now leads a load of its own
	close(release)
	require.NoError(t, <-waiterDone)
	assert.Equal(t, 1, l.count())
	assert.Equal(t, uint64(2), c.Stats().KeyringCalls)
	assert.Equal(t, 1, c.Len())
}

func TestLoadPanicReleasesWaiters(t *testing.T) {
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	started, release := make(chan struct{}, 2), make(chan struct{})
	load := blockingLoad(func(context.Context) (*keyring.EncryptionMaterials, error) { panic("load failed") }, started, release)

	leaderPanic := make(chan any, 1)
	go func() {
		defer func() { leaderPanic <- recover() }()
		_, _ = c.Encryption(context.Background(), kr, suite, nil, 1, load)
	}()
	<-started
	waiterDone := make(chan error, 1)
	go func() {
		_, err := c.Encryption(context.Background(), kr, suite, nil, 1, load)
		waiterDone <- err
	}()
	waitMisses(c, 2)
	close(release)
	assert.Equal(t, "load failed", <-leaderPanic)
	require.ErrorIs(t, <-waiterDone, cache.ErrLoadPanicked)
	assert.Equal(t, 0, c.Len())

	// The key is usable again.
	var l loader
	_, err := c.Encryption(context.Background(), kr, suite, nil, 1, l.encrypt(kr, nil))
	require.NoError(t, err)
	assert.Equal(t, 1, l.count())
}

func TestCancelledContextFailsFast(t *testing.T) {
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	var l loader
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 0, l.count())
}
