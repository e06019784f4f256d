package keyring_test

import (
	"context"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// categories are the outcomes UnwrapFailure chooses between.
var categories = []error{keyring.ErrTransient, keyring.ErrUnwrapLimit, keyring.ErrNoDecryptionKey}

// requireCategory checks that err matches want and no other category.
func requireCategory(t testing.TB, err, want error) {
	t.Helper()
	for _, c := range categories {
		assert.Equal(t, c == want, errors.Is(err, c), "%v: category %v", err, c)
	}
}

// badEDKs returns n encrypted data keys for ns/k whose ciphertexts do not
// decrypt under any key (random 2048-bit values).
func badEDKs(t testing.TB, n int) []keyring.EncryptedDataKey {
	edks := make([]keyring.EncryptedDataKey, n)
	for i := range edks {
		ct := make([]byte, 256)
		_, err := rand.Read(ct)
		require.NoError(t, err)
		ct[0] = 0 // below any 2048-bit modulus
		edks[i] = keyring.EncryptedDataKey{ProviderID: "ns", ProviderInfo: []byte("k"), Ciphertext: ct}
	}
	return edks
}

func TestUnwrapBudgetRawRSA(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	kr := newRSA(t, "ns", "k", &priv.PublicKey, priv, keyring.OAEPSHA256)
	good := encrypt(t, kr, suite256, nil)
	bad := badEDKs(t, 200)

	// Without a budget every encrypted data key costs a private-key operation.
	before := keyring.RSAPrivateOps()
	requireNoKey(t, kr, suite256, nil, bad)
	assert.Equal(t, int64(200), keyring.RSAPrivateOps()-before)

	// With one, the failures stop at the budget.
	ctx := keyring.WithUnwrapBudget(context.Background(), 5)
	before = keyring.RSAPrivateOps()
	m := decMaterials(suite256, nil)
	err := kr.OnDecrypt(ctx, m, bad)
	assert.Equal(t, int64(5), keyring.RSAPrivateOps()-before)
	requireCategory(t, err, keyring.ErrUnwrapLimit)
	assert.Nil(t, m.PlaintextDataKey)

	// A key after fewer failures than the budget still unwraps.
	edks := append(cloneEDKs(bad[:4]), good.EncryptedDataKeys...)
	m = decMaterials(suite256, nil)
	require.NoError(t, kr.OnDecrypt(keyring.WithUnwrapBudget(context.Background(), 5), m, edks))
	assert.Equal(t, good.PlaintextDataKey, m.PlaintextDataKey)

	// Foreign encrypted data keys cost nothing.
	foreign := cloneEDKs(bad)
	for i := range foreign {
		foreign[i].ProviderID = "other"
	}
	before = keyring.RSAPrivateOps()
	m = decMaterials(suite256, nil)
	require.NoError(t, kr.OnDecrypt(keyring.WithUnwrapBudget(context.Background(), 1), m, append(foreign, good.EncryptedDataKeys...)))
	assert.Equal(t, int64(1), keyring.RSAPrivateOps()-before)
}

// TestRawRSAPKCS1ImplicitRejection checks that PKCS#1 v1.5 encrypted data
// keys with bad padding, a wrong length or another key all unwrap, to a
// key of the suite's length, with one private-key operation each: nothing
// tells them apart before the message's own checks.
func TestRawRSAPKCS1ImplicitRejection(t *testing.T) {
	if !approved(t, keyring.PKCS1) {
		return
	}
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	kr := newRSA(t, "ns", "k", nil, priv, keyring.PKCS1)
	short, err := rsa.EncryptPKCS1v15(rand.Reader, &priv.PublicKey, []byte("short")) //nolint:staticcheck // padding under test
	require.NoError(t, err)
	other := seqKey(32, 9)
	right, err := rsa.EncryptPKCS1v15(rand.Reader, &priv.PublicKey, other) //nolint:staticcheck // padding under test
	require.NoError(t, err)
	for desc, ct := range map[string][]byte{
		"bad padding":          badEDKs(t, 1)[0].Ciphertext,
		"wrong length":         short,
		"right length":         right,
		"short ciphertext":     right[:255],
		"ciphertext too large": append(right, 0),
	} {
		t.Run(desc, func(t *testing.T) {
			edks := []keyring.EncryptedDataKey{{ProviderID: "ns", ProviderInfo: []byte("k"), Ciphertext: ct}}
			m := decMaterials(suite256, nil)
			before := keyring.RSAPrivateOps()
			require.NoError(t, kr.OnDecrypt(context.Background(), m, edks))
			assert.Equal(t, int64(1), keyring.RSAPrivateOps()-before)
			assert.Len(t, m.PlaintextDataKey, 32)
			if desc == "right length" {
				assert.Equal(t, other, m.PlaintextDataKey)
			} else {
				assert.NotEqual(t, make([]byte, 32), m.PlaintextDataKey, "a random key, not zeros")
			}
		})
	}

	// 200 hostile PKCS1 encrypted data keys cost one operation.
	before := keyring.RSAPrivateOps()
	m := decMaterials(suite256, nil)
	require.NoError(t, kr.OnDecrypt(context.Background(), m, badEDKs(t, 200)))
	assert.Equal(t, int64(1), keyring.RSAPrivateOps()-before)
}

// attempter is a keyring whose every encrypted data key fails to unwrap
// after one counted attempt through TryUnwrap.
type attempter struct {
	calls *int
	err   error
}

func (a attempter) OnEncrypt(context.Context, *keyring.EncryptionMaterials) error {
	return keyring.ErrDecryptOnly
}

func (a attempter) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) error {
	var errs []error
	for range edks {
		_, err := keyring.TryUnwrap(ctx, func() ([]byte, error) {
			*a.calls++
			return nil, a.err
		})
		errs = append(errs, err)
	}
	return keyring.UnwrapFailure(errs...)
}

func TestUnwrapBudgetSharedByMulti(t *testing.T) {
	calls := 0
	a := attempter{calls: &calls, err: errors.New("no")}
	multi := newMulti(t, nil, a, a, a)
	edks := badEDKs(t, 3)
	m := decMaterials(suite256, nil)
	err := multi.OnDecrypt(keyring.WithUnwrapBudget(context.Background(), 5), m, edks)
	assert.Equal(t, 5, calls, "one budget for all children")
	requireCategory(t, err, keyring.ErrUnwrapLimit)

	calls = 0
	err = multi.OnDecrypt(context.Background(), m, edks)
	assert.Equal(t, 9, calls)
	requireCategory(t, err, keyring.ErrNoDecryptionKey)

	// A budget below 1 allows one failure.
	calls = 0
	err = multi.OnDecrypt(keyring.WithUnwrapBudget(context.Background(), 0), m, edks)
	assert.Equal(t, 1, calls)
	requireCategory(t, err, keyring.ErrUnwrapLimit)
}

func TestTransientChildMakesMultiTransient(t *testing.T) {
	calls := 0
	outage := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	multi := newMulti(t, nil, attempter{calls: &calls, err: errors.New("no")}, attempter{calls: &calls, err: outage})
	err := multi.OnDecrypt(context.Background(), decMaterials(suite256, nil), badEDKs(t, 1))
	requireCategory(t, err, keyring.ErrTransient)
	var ne *net.OpError
	require.ErrorAs(t, err, &ne, "the cause stays reachable")
	assert.Contains(t, err.Error(), "no", "the permanent failure is still described")
}

func TestUnwrapFailure(t *testing.T) {
	plain := errors.New("wrong key")
	limit := fmt.Errorf("edk 3: %w", keyring.ErrUnwrapLimit)
	canceled := fmt.Errorf("edk 1: %w", context.Canceled)
	marked := fmt.Errorf("kms: %w: throttled", keyring.ErrTransient)
	for desc, c := range map[string]struct {
		errs  []error
		want  error
		cause error
	}{
		"nothing tried":       {nil, keyring.ErrNoDecryptionKey, keyring.ErrNotMine},
		"permanent":           {[]error{plain, plain}, keyring.ErrNoDecryptionKey, plain},
		"cancelled":           {[]error{plain, canceled}, keyring.ErrTransient, context.Canceled},
		"marked transient":    {[]error{marked, plain}, keyring.ErrTransient, marked},
		"limit":               {[]error{plain, limit}, keyring.ErrUnwrapLimit, limit},
		"transient and limit": {[]error{limit, canceled}, keyring.ErrTransient, context.Canceled},
		"deadline": {[]error{fmt.Errorf("x: %w", context.DeadlineExceeded)},
			keyring.ErrTransient, context.DeadlineExceeded},
		"nested": {[]error{keyring.UnwrapFailure(plain, canceled), keyring.UnwrapFailure(plain)},
			keyring.ErrTransient, context.Canceled},
	} {
		t.Run(desc, func(t *testing.T) {
			err := keyring.UnwrapFailure(c.errs...)
			requireCategory(t, err, c.want)
			require.ErrorIs(t, err, c.cause)
		})
	}
}

func TestTryUnwrapEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	_, err := keyring.TryUnwrap(ctx, func() ([]byte, error) { called = true; return nil, nil })
	assert.False(t, called)
	require.ErrorIs(t, err, keyring.ErrTransient)
	require.ErrorIs(t, err, context.Canceled)

	// A failure while the context ends is transient.
	ctx, cancel = context.WithCancel(context.Background())
	_, err = keyring.TryUnwrap(ctx, func() ([]byte, error) { cancel(); return nil, errors.New("aborted") })
	require.ErrorIs(t, err, keyring.ErrTransient)
}

// TestRawRSAFIPS checks what FIPS 140-3 mode refuses and what it keeps.
func TestRawRSAFIPS(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	smallE := &rsa.PublicKey{N: priv.N, E: 3}
	oddN := &rsa.PublicKey{N: new(big.Int).Add(new(big.Int).Lsh(priv.N, 1), big.NewInt(1)), E: 65537}
	for _, p := range []keyring.RSAPadding{keyring.PKCS1, keyring.OAEPSHA1} {
		_, err := keyring.NewRawRSA("ns", "k", &priv.PublicKey, priv, p)
		if fips140.Enabled() {
			require.ErrorIs(t, err, keyring.ErrNotApproved, "%v", p)
			assert.NotErrorIs(t, err, keyring.ErrNoDecryptionKey)
		} else {
			require.NoError(t, err, "%v", p)
		}
	}
	for desc, pub := range map[string]*rsa.PublicKey{"exponent 3": smallE, "odd modulus length": oddN} {
		_, err := keyring.NewRawRSA("ns", "k", pub, nil, keyring.OAEPSHA256)
		if fips140.Enabled() {
			require.ErrorIs(t, err, keyring.ErrNotApproved, desc)
			require.ErrorIs(t, err, keyring.ErrInvalidConfig, desc)
		} else {
			require.NoError(t, err, desc)
		}
	}
	// OAEP with SHA-2 works in both modes.
	kr := newRSA(t, "ns", "k", &priv.PublicKey, priv, keyring.OAEPSHA256)
	m := encrypt(t, kr, suite256, nil)
	requireDecrypts(t, kr, suite256, nil, m.EncryptedDataKeys, m.PlaintextDataKey)
}
