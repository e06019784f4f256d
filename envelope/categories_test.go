package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// errorCategories are the categories of the decrypt error contract.
var errorCategories = []error{
	envelope.ErrFormat, envelope.ErrAuthentication, envelope.ErrCommitment, envelope.ErrLimit,
	envelope.ErrNoDecryptionKey, envelope.ErrPolicy, envelope.ErrContext, envelope.ErrTransient,
	envelope.ErrInvalidOption, envelope.ErrClosed,
}

// requireCategory checks that err matches want and no other category.
func requireCategory(t testing.TB, err, want error) {
	t.Helper()
	require.Error(t, err)
	var got []error
	for _, c := range errorCategories {
		if errors.Is(err, c) {
			got = append(got, c)
		}
	}
	require.Equal(t, []error{want}, got, "%v", err)
}

// funcKeyring decrypts with dec and writes, on encrypt, a random data key
// with the encrypted data keys of edks (nil: one placeholder).
type funcKeyring struct {
	dec  func(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error
	edks func(pdk []byte) []keyring.EncryptedDataKey
}

func (k funcKeyring) OnEncrypt(_ context.Context, m *keyring.EncryptionMaterials) error {
	m.PlaintextDataKey = randBytes(m.Suite.DataKeyLength)
	if k.edks == nil {
		m.EncryptedDataKeys = append(m.EncryptedDataKeys, keyring.EncryptedDataKey{ProviderID: "fake", ProviderInfo: []byte("k"), Ciphertext: []byte{1}})
		return nil
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, k.edks(m.PlaintextDataKey)...)
	return nil
}

func (k funcKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	return k.dec(ctx, m, edks)
}

// failingReader returns the first n bytes of data, then err.
type failingReader struct {
	data []byte
	n    int
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := copy(p[:min(len(p), r.n)], r.data)
	r.data, r.n = r.data[k:], r.n-k
	return k, nil
}

var errSource = errors.New("disk on fire")

func newAESKeyring(t testing.TB, name string, key byte) *keyring.RawAES {
	t.Helper()
	kr, err := keyring.NewRawAES("cat-ns", name, bytes.Repeat([]byte{key}, 32))
	require.NoError(t, err)
	return kr
}

// TestDecryptErrorCategories drives every category of the error contract
// through Decrypt, NewReader and Read, and checks that each error matches
// exactly one category and that transient causes stay reachable.
func TestDecryptErrorCategories(t *testing.T) {
	ctx := context.Background()
	kr := newAESKeyring(t, "k", 1)
	pt := randBytes(3*4096 + 100)
	ec := map[string]string{"tenant": "a"}
	msg, err := envelope.Encrypt(ctx, kr, pt, envelope.WithContext(ec))
	require.NoError(t, err)

	two, err := keyring.NewMulti(kr, newAESKeyring(t, "k2", 2))
	require.NoError(t, err)
	twoEDKs, err := envelope.Encrypt(ctx, two, pt)
	require.NoError(t, err)

	// Ten encrypted data keys under the reader's key name that its key
	// cannot unwrap: each costs a failed attempt.
	var decoys []keyring.Keyring
	for i := range 10 {
		decoys = append(decoys, newAESKeyring(t, "k", byte(10+i)))
	}
	many, err := keyring.NewMulti(decoys[0], decoys[1:]...)
	require.NoError(t, err)
	manyEDKs, err := envelope.Encrypt(ctx, many, pt)
	require.NoError(t, err)

	tampered := bytes.Clone(msg)
	tampered[len(msg)/2] ^= 1
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	randomKey := funcKeyring{dec: func(_ context.Context, m *keyring.DecryptionMaterials, _ []keyring.EncryptedDataKey) error {
		m.PlaintextDataKey = randBytes(m.Suite.DataKeyLength)
		return nil
	}}
	failWith := func(err error) keyring.Keyring {
		return funcKeyring{dec: func(context.Context, *keyring.DecryptionMaterials, []keyring.EncryptedDataKey) error { return err }}
	}
	shortKey := funcKeyring{dec: func(_ context.Context, m *keyring.DecryptionMaterials, _ []keyring.EncryptedDataKey) error {
		m.PlaintextDataKey = make([]byte, 5)
		return nil
	}}

	type call func() error
	decrypt := func(ctx context.Context, kr keyring.Keyring, msg []byte, opts ...envelope.Option) call {
		return func() error {
			_, _, err := envelope.Decrypt(ctx, kr, msg, opts...)
			return err
		}
	}
	stream := func(ctx context.Context, kr keyring.Keyring, src io.Reader, opts ...envelope.Option) call {
		return func() error {
			r, err := envelope.NewReader(ctx, src, kr, opts...)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, r)
			return err
		}
	}
	for desc, c := range map[string]struct {
		call  call
		want  error
		cause error
	}{
		"garbage":                {call: decrypt(ctx, kr, []byte("not a message")), want: envelope.ErrFormat},
		"truncated":              {call: decrypt(ctx, kr, msg[:len(msg)-10]), want: envelope.ErrFormat},
		"truncated stream":       {call: stream(ctx, kr, bytes.NewReader(msg[:len(msg)-10])), want: envelope.ErrFormat},
		"tampered body":          {call: decrypt(ctx, kr, tampered), want: envelope.ErrAuthentication},
		"tampered stream":        {call: stream(ctx, kr, bytes.NewReader(tampered)), want: envelope.ErrAuthentication},
		"wrong data key":         {call: decrypt(ctx, randomKey, msg), want: envelope.ErrCommitment},
		"too many keys":          {call: decrypt(ctx, kr, twoEDKs, envelope.WithMaxEncryptedDataKeys(1)), want: envelope.ErrLimit},
		"too many failures":      {call: decrypt(ctx, kr, manyEDKs), want: envelope.ErrLimit, cause: keyring.ErrUnwrapLimit},
		"stream too many fails":  {call: stream(ctx, kr, bytes.NewReader(manyEDKs)), want: envelope.ErrLimit, cause: keyring.ErrUnwrapLimit},
		"no key":                 {call: decrypt(ctx, newAESKeyring(t, "other", 1), msg), want: envelope.ErrNoDecryptionKey},
		"wrong key":              {call: decrypt(ctx, newAESKeyring(t, "k", 9), msg), want: envelope.ErrNoDecryptionKey},
		"signed refused":         {call: decrypt(ctx, kr, msg, envelope.WithUnsignedOnly()), want: envelope.ErrPolicy},
		"context mismatch":       {call: decrypt(ctx, kr, msg, envelope.WithContext(map[string]string{"tenant": "b"})), want: envelope.ErrContext},
		"bad option":             {call: decrypt(ctx, kr, msg, envelope.WithMaxUnwrapAttempts(0)), want: envelope.ErrInvalidOption},
		"cancelled":              {call: decrypt(canceled, kr, msg), want: envelope.ErrTransient, cause: context.Canceled},
		"cancelled stream":       {call: stream(canceled, kr, bytes.NewReader(msg)), want: envelope.ErrTransient, cause: context.Canceled},
		"cancelled garbage":      {call: decrypt(canceled, kr, []byte("x")), want: envelope.ErrTransient, cause: context.Canceled},
		"source fails in header": {call: stream(ctx, kr, &failingReader{msg, 20, errSource}), want: envelope.ErrTransient, cause: errSource},
		"source fails in body":   {call: stream(ctx, kr, &failingReader{msg, len(msg) - 500, errSource}), want: envelope.ErrTransient, cause: errSource},
		"source fails at end":    {call: stream(ctx, kr, &failingReader{msg, len(msg), errSource}), want: envelope.ErrTransient, cause: errSource},
		"keyring cancelled":      {call: decrypt(ctx, failWith(context.Canceled), msg), want: envelope.ErrTransient, cause: context.Canceled},
		"keyring deadline":       {call: decrypt(ctx, failWith(fmt.Errorf("kms: %w", context.DeadlineExceeded)), msg), want: envelope.ErrTransient, cause: context.DeadlineExceeded},
		"keyring invalid":        {call: decrypt(ctx, failWith(keyring.ErrInvalidMaterials), msg), want: envelope.ErrNoDecryptionKey, cause: keyring.ErrInvalidMaterials},
		"keyring plain error":    {call: decrypt(ctx, failWith(errSource), msg), want: envelope.ErrNoDecryptionKey, cause: errSource},
		"keyring short key":      {call: decrypt(ctx, shortKey, msg), want: envelope.ErrNoDecryptionKey},
		"nil keyring":            {call: decrypt(ctx, nil, msg), want: envelope.ErrInvalidOption},
	} {
		t.Run(desc, func(t *testing.T) {
			err := c.call()
			requireCategory(t, err, c.want)
			if c.cause != nil {
				require.ErrorIs(t, err, c.cause)
			}
		})
	}
}

// TestReaderContextCancelledMidStream checks that a Reader whose context
// ends after the header reports ErrTransient with the cause.
func TestReaderContextCancelledMidStream(t *testing.T) {
	kr := newAESKeyring(t, "k", 1)
	msg, err := envelope.Encrypt(context.Background(), kr, randBytes(5*4096), envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := envelope.NewReader(ctx, bytes.NewReader(msg), kr, envelope.WithConcurrency(1))
	require.NoError(t, err)
	_, err = r.Read(make([]byte, 10))
	require.NoError(t, err)
	cancel()
	_, err = io.Copy(io.Discard, r)
	requireCategory(t, err, envelope.ErrTransient)
	require.ErrorIs(t, err, context.Canceled)
}

// TestUnwrapAttemptsBounded checks that a message with many encrypted data
// keys for the reader's key costs at most WithMaxUnwrapAttempts failed
// attempts, and that a good key after a few bad ones still unwraps.
func TestUnwrapAttemptsBounded(t *testing.T) {
	ctx := context.Background()
	attempts := 0
	counting := funcKeyring{
		edks: func([]byte) []keyring.EncryptedDataKey {
			edks := make([]keyring.EncryptedDataKey, 200)
			for i := range edks {
				edks[i] = keyring.EncryptedDataKey{ProviderID: "fake", ProviderInfo: []byte("k"), Ciphertext: []byte{byte(i)}}
			}
			return edks
		},
		dec: func(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
			var errs []error
			for range edks {
				_, err := keyring.TryUnwrap(ctx, func() ([]byte, error) {
					attempts++
					return nil, errors.New("private-key operation failed")
				})
				errs = append(errs, err)
			}
			return keyring.UnwrapFailure(errs...)
		},
	}
	msg, err := envelope.Encrypt(ctx, counting, []byte("x"))
	require.NoError(t, err)

	_, _, err = envelope.Decrypt(ctx, counting, msg)
	requireCategory(t, err, envelope.ErrLimit)
	assert.Equal(t, envelope.DefaultMaxUnwrapAttempts, attempts)

	attempts = 0
	_, err = envelope.NewReader(ctx, bytes.NewReader(msg), counting, envelope.WithMaxUnwrapAttempts(50))
	requireCategory(t, err, envelope.ErrLimit)
	assert.Equal(t, 50, attempts)

	// Raw AES: four keys the reader cannot unwrap, then its own.
	reader := newAESKeyring(t, "k", 1)
	var kids []keyring.Keyring
	for i := range 4 {
		kids = append(kids, newAESKeyring(t, "k", byte(20+i)))
	}
	multi, err := keyring.NewMulti(kids[0], append(kids[1:], reader)...)
	require.NoError(t, err)
	pt := randBytes(100)
	msg, err = envelope.Encrypt(ctx, multi, pt)
	require.NoError(t, err)
	got, _, err := envelope.Decrypt(ctx, reader, msg)
	require.NoError(t, err)
	assert.Equal(t, pt, got)
}
