package keyring

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
)

// Multi combines keyrings: on encrypt every data key is wrapped by all of
// them, and on decrypt any one of them may unwrap it. A typical use is a
// primary key as generator plus an offline recovery key as child.
//
// Multi is safe for concurrent use if its keyrings are.
type Multi struct {
	generator Keyring
	children  []Keyring
}

var _ Keyring = (*Multi)(nil)

// NewMulti returns a keyring made of generator and children. The generator
// creates the data key on encrypt and every child then adds its own
// encrypted data key for it. generator may be nil, in which case at least
// one child is required and the encryption materials must already hold a
// data key. No keyring may be nil otherwise.
func NewMulti(generator Keyring, children ...Keyring) (*Multi, error) {
	if generator == nil && len(children) == 0 {
		return nil, fmt.Errorf("%w: multi-keyring needs a generator or at least one child", ErrInvalidConfig)
	}
	for i, c := range children {
		if c == nil {
			return nil, fmt.Errorf("%w: multi-keyring child %d is nil", ErrInvalidConfig, i)
		}
	}
	return &Multi{generator: generator, children: slices.Clone(children)}, nil
}

// OnEncrypt runs the generator (which must produce the data key) and then
// every child in order, so the encrypted data keys appear generator first.
// Without a generator, m must already hold a data key. Any failure fails
// the whole call and leaves m unchanged.
func (k *Multi) OnEncrypt(ctx context.Context, m *EncryptionMaterials) error {
	if m == nil {
		return fmt.Errorf("%w: nil materials", ErrInvalidMaterials)
	}
	n := m.Suite.DataKeyLength
	work := *m
	work.EncryptedDataKeys = slices.Clone(m.EncryptedDataKeys)
	var pdk []byte // the data key every child wraps
	fail := func(err error) error {
		if m.PlaintextDataKey == nil { // the key was made here: wipe it
			Wipe(pdk)
			Wipe(work.PlaintextDataKey)
		}
		return err
	}
	if k.generator != nil {
		if m.PlaintextDataKey != nil {
			return fmt.Errorf("%w: materials already hold a data key but the multi-keyring has a generator", ErrInvalidMaterials)
		}
		if err := k.generator.OnEncrypt(ctx, &work); err != nil {
			return fail(fmt.Errorf("multi-keyring generator: %w", err))
		}
		if len(work.PlaintextDataKey) != n {
			return fail(fmt.Errorf("%w: generator produced a %d-byte data key, suite needs %d",
				ErrInvalidMaterials, len(work.PlaintextDataKey), n))
		}
	} else if len(m.PlaintextDataKey) != n {
		return fmt.Errorf("%w: multi-keyring without generator needs a %d-byte data key, materials hold %d bytes",
			ErrInvalidMaterials, n, len(m.PlaintextDataKey))
	}
	pdk = work.PlaintextDataKey
	for i, c := range k.children {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		if err := c.OnEncrypt(ctx, &work); err != nil {
			return fail(fmt.Errorf("multi-keyring child %d: %w", i, err))
		}
		if len(work.PlaintextDataKey) != len(pdk) || subtle.ConstantTimeCompare(work.PlaintextDataKey, pdk) != 1 {
			return fail(fmt.Errorf("%w: multi-keyring child %d replaced the data key", ErrInvalidMaterials, i))
		}
	}
	m.PlaintextDataKey = work.PlaintextDataKey
	m.EncryptedDataKeys = work.EncryptedDataKeys
	return nil
}

// OnDecrypt asks the generator, then each child in order, to unwrap one of
// edks, each with the unmodified materials; the first success sets
// m.PlaintextDataKey. The keyrings share the unwrap budget of ctx (see
// WithUnwrapBudget). When none succeeds m is left unchanged and the error
// is UnwrapFailure's over the keyrings' errors: ErrTransient when any
// keyring failed transiently, ErrUnwrapLimit when the budget ran out,
// ErrNoDecryptionKey otherwise.
func (k *Multi) OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []EncryptedDataKey) error {
	if err := checkDecryptMaterials(m); err != nil {
		return err
	}
	keyrings := k.children
	if k.generator != nil {
		keyrings = append([]Keyring{k.generator}, k.children...)
	}
	var errs []error
	for _, kr := range keyrings {
		if err := ctx.Err(); err != nil {
			errs = append(errs, transient(err))
			break
		}
		work := *m
		err := kr.OnDecrypt(ctx, &work, edks)
		if err == nil && len(work.PlaintextDataKey) != m.Suite.DataKeyLength {
			Wipe(work.PlaintextDataKey)
			err = fmt.Errorf("%w: keyring returned a %d-byte data key, suite needs %d",
				ErrInvalidMaterials, len(work.PlaintextDataKey), m.Suite.DataKeyLength)
		}
		if err != nil {
			if work.PlaintextDataKey != nil {
				Wipe(work.PlaintextDataKey) // a keyring that failed must not leave a key behind
			}
			errs = append(errs, err)
			if stopsSearch(ctx, err) {
				break
			}
			continue
		}
		m.PlaintextDataKey = work.PlaintextDataKey
		return nil
	}
	return UnwrapFailure(errs...)
}
