package dynamocrypto

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// beaconKeyLen is the length of the beacon keys NewBeaconKey makes.
const beaconKeyLen = 32

// The encryption context of a wrapped beacon key.
const (
	beaconKeyPurpose = contextPrefix + "purpose"
	beaconKeyIDKey   = contextPrefix + "beacon-key-id"
)

func beaconKeyContext(id string) map[string]string {
	return map[string]string{beaconKeyPurpose: "beacon-key", beaconKeyIDKey: id}
}

// NewBeaconKey generates a random 256-bit beacon key and returns it wrapped
// by kr: an envelope message (key-committing, unsigned suite) whose
// encryption context names its purpose and id, so that a wrapped key
// cannot be passed off under another id. Store the result where the
// application keeps configuration (a secret store, a DynamoDB item) and
// give it to NewWrappedBeaconKeys; any AWS Encryption SDK can unwrap it.
func NewBeaconKey(ctx context.Context, kr keyring.Keyring, id string) ([]byte, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: empty beacon key id", ErrInvalidConfig)
	}
	var key [beaconKeyLen]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	defer clear(key[:])
	wrapped, err := envelope.Encrypt(ctx, kr, key[:], envelope.WithContext(beaconKeyContext(id)),
		envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey))
	if err != nil {
		return nil, keyErr("wrap beacon key", "", err)
	}
	return wrapped, nil
}

// WrappedBeaconKeys is a BeaconKeySource over beacon keys made by
// NewBeaconKey: it unwraps each key with the keyring on first use (one
// keyring call per id and process) and keeps it in memory until Close.
// Per-tenant keys are simply several ids. It is safe for concurrent use.
type WrappedBeaconKeys struct {
	kr      keyring.Keyring
	mu      sync.Mutex
	wrapped map[string][]byte
	keys    map[string][]byte
	closed  bool
}

// NewWrappedBeaconKeys returns a source of the wrapped keys (id to the
// bytes NewBeaconKey returned). The map is copied.
func NewWrappedBeaconKeys(kr keyring.Keyring, wrapped map[string][]byte) (*WrappedBeaconKeys, error) {
	if kr == nil {
		return nil, fmt.Errorf("%w: nil keyring", ErrInvalidConfig)
	}
	w := &WrappedBeaconKeys{kr: kr, wrapped: make(map[string][]byte, len(wrapped)), keys: map[string][]byte{}}
	for id, b := range wrapped {
		w.wrapped[id] = append([]byte(nil), b...)
	}
	return w, nil
}

// Add adds (or replaces, when not yet unwrapped) the wrapped key of id.
func (w *WrappedBeaconKeys) Add(id string, wrapped []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.wrapped[id] = append([]byte(nil), wrapped...)
}

// BeaconKey returns the beacon key of id, unwrapping it on first use. An
// id without a wrapped key, or a wrapped key that does not unwrap under
// its id, is ErrKeyUnavailable; a keyring failure that may pass is
// ErrTransient (and is not remembered). The result is a copy: Close does
// not wipe it under a caller still deriving from it.
func (w *WrappedBeaconKeys) BeaconKey(ctx context.Context, id string) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, fmt.Errorf("%w: beacon key source closed", ErrKeyUnavailable)
	}
	if k, ok := w.keys[id]; ok {
		return append([]byte(nil), k...), nil
	}
	wrapped, ok := w.wrapped[id]
	if !ok {
		return nil, fmt.Errorf("%w: no beacon key with id %q", ErrKeyUnavailable, id)
	}
	k, _, err := envelope.Decrypt(ctx, w.kr, wrapped, envelope.WithContext(beaconKeyContext(id)),
		envelope.WithUnsignedOnly(), envelope.WithMaxEncryptedDataKeys(16))
	if err != nil {
		if errors.Is(err, envelope.ErrTransient) {
			return nil, fmt.Errorf("unwrapping beacon key %q: %w", id, err)
		}
		return nil, fmt.Errorf("%w: unwrapping beacon key %q: %w", ErrKeyUnavailable, id, err)
	}
	if len(k) != beaconKeyLen {
		clear(k)
		return nil, fmt.Errorf("%w: beacon key %q is %d bytes", ErrKeyUnavailable, id, len(k))
	}
	w.keys[id] = k
	return append([]byte(nil), k...), nil
}

// Close wipes the unwrapped keys; later calls of BeaconKey fail. Clients
// keep the per-beacon keys they derived.
func (w *WrappedBeaconKeys) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range w.keys {
		clear(k)
	}
	w.keys, w.closed = nil, true
}

// SuggestBeaconBits suggests the length of a standard beacon over an
// attribute with about distinct different values: log2(distinct)/2,
// rounded, at least 1 and at most 63. Each beacon value is then shared
// by about sqrt(distinct) plaintext values, so that equal beacons do not
// identify equal plaintexts while a query still narrows to about
// sqrt(distinct) candidates (filtered after decryption). Use fewer bits
// when values are unevenly distributed (see the package documentation).
func SuggestBeaconBits(distinct int) int {
	if distinct < 4 {
		return 1
	}
	bits := int(math.Round(math.Log2(float64(distinct)) / 2))
	return max(1, min(63, bits))
}
