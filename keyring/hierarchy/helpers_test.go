package hierarchy

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memSource is an in-memory BranchKeySource for the keyring's unit tests:
// it counts calls, can hold calls, fail, or return wrong materials.
// The real store is exercised by the tests over DynamoDB and KMS.
type memSource struct {
	mu       sync.Mutex
	versions map[string][]*BranchKey // last is active
	err      error                   // returned by every call when set
	mangle   func(*BranchKey)        // applied to results when set
	// gate, when set, holds every call until it is closed; each held
	// call first sends on started.
	gate, started chan struct{}
	calls         atomic.Int64
	given         []*BranchKey // every key handed out, to check they are wiped
}

func newMemSource() *memSource { return &memSource{versions: map[string][]*BranchKey{}} }

// hold makes the source's calls wait for the returned release.
func (s *memSource) hold() (release func()) {
	s.gate, s.started = make(chan struct{}), make(chan struct{}, 100)
	return sync.OnceFunc(func() { close(s.gate) })
}

// waitMisses waits until kr has counted n misses: with the fetch held,
// each caller past its miss is fetching or waiting for the fetch.
func waitMisses(t *testing.T, kr *Keyring, n uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return kr.Metrics().Misses >= n }, 30*time.Second, time.Millisecond)
}

func newUUID(t testing.TB) string {
	var b [16]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return versionText(b)
}

// add creates a branch key (or a new version of it) and returns the version.
func (s *memSource) add(t testing.TB, id string) string {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	v := newUUID(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions[id] = append(s.versions[id], &BranchKey{ID: id, Version: v, Key: key, Context: map[string]string{"k": "v"}})
	return v
}

func (s *memSource) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *memSource) answer(ctx context.Context, id string, pick func([]*BranchKey) *BranchKey) (*BranchKey, error) {
	s.calls.Add(1)
	if s.gate != nil {
		s.started <- struct{}{}
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	bk := pick(s.versions[id])
	if bk == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	out := &BranchKey{ID: bk.ID, Version: bk.Version, Key: append([]byte(nil), bk.Key...), Context: maps.Clone(bk.Context)}
	if s.mangle != nil {
		s.mangle(out)
	}
	s.given = append(s.given, out)
	return out, nil
}

func (s *memSource) GetActiveBranchKey(ctx context.Context, id string) (*BranchKey, error) {
	return s.answer(ctx, id, func(vs []*BranchKey) *BranchKey {
		if len(vs) == 0 {
			return nil
		}
		return vs[len(vs)-1]
	})
}

func (s *memSource) GetBranchKeyVersion(ctx context.Context, id, version string) (*BranchKey, error) {
	return s.answer(ctx, id, func(vs []*BranchKey) *BranchKey {
		for _, v := range vs {
			if v.Version == version {
				return v
			}
		}
		return nil
	})
}

// allWiped reports whether every key handed out was zeroed by the keyring.
func (s *memSource) allWiped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, bk := range s.given {
		for _, b := range bk.Key {
			if b != 0 {
				return false
			}
		}
	}
	return true
}

// fakeClock is a settable clock for cache tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestKeyring builds a keyring over src whose cache uses clock.
func newTestKeyring(t testing.TB, src BranchKeySource, clock *fakeClock, opts ...Option) *Keyring {
	t.Helper()
	k, err := NewKeyring(src, opts...)
	require.NoError(t, err)
	if clock != nil {
		k.cache.now = clock.now
	}
	return k
}
