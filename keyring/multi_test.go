package keyring_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// fakeKeyring records calls and misbehaves on request.
type fakeKeyring struct {
	name         string
	calls        *[]string // shared call log
	mu           *sync.Mutex
	encErr       error
	decErr       error
	noKey        bool   // OnEncrypt "succeeds" without producing a data key
	replaceKey   bool   // OnEncrypt swaps the data key
	setKeyOnFail bool   // OnDecrypt sets a key and then fails
	decKey       []byte // OnDecrypt result on success
	generated    []byte // the data key this keyring generated, if any
}

func newLog() (*[]string, *sync.Mutex) { return new([]string), new(sync.Mutex) }

func (f *fakeKeyring) log(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.calls = append(*f.calls, op+":"+f.name)
}

func (f *fakeKeyring) OnEncrypt(_ context.Context, m *keyring.EncryptionMaterials) error {
	f.log("enc")
	if m.PlaintextDataKey == nil && !f.noKey {
		f.generated = seqKey(m.Suite.DataKeyLength, 0x33)
		m.PlaintextDataKey = f.generated
	}
	if f.replaceKey {
		m.PlaintextDataKey = seqKey(m.Suite.DataKeyLength, 0x77)
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, keyring.EncryptedDataKey{ProviderID: "fake", ProviderInfo: []byte(f.name)})
	return f.encErr
}

func (f *fakeKeyring) OnDecrypt(_ context.Context, m *keyring.DecryptionMaterials, _ []keyring.EncryptedDataKey) error {
	f.log("dec")
	if m.PlaintextDataKey != nil {
		return errors.New("fake: materials already hold a data key")
	}
	if f.decErr != nil {
		if f.setKeyOnFail {
			m.PlaintextDataKey = seqKey(m.Suite.DataKeyLength, 0x55)
		}
		return f.decErr
	}
	m.PlaintextDataKey = f.decKey
	return nil
}

func newMulti(t testing.TB, gen keyring.Keyring, children ...keyring.Keyring) *keyring.Multi {
	t.Helper()
	m, err := keyring.NewMulti(gen, children...)
	require.NoError(t, err)
	return m
}

func TestNewMultiConfig(t *testing.T) {
	kr := newAES(t, "ns", "k", seqKey(16, 0))
	_, err := keyring.NewMulti(nil)
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	_, err = keyring.NewMulti(kr, kr, nil)
	require.ErrorIs(t, err, keyring.ErrInvalidConfig)
	_, err = keyring.NewMulti(nil, kr)
	require.NoError(t, err, "children only")
	_, err = keyring.NewMulti(kr)
	require.NoError(t, err, "generator only")
}

func TestMultiRoundTrip(t *testing.T) {
	priv := testPrivateKey(t, "rsa2048-pkcs8.pem")
	gen := newAES(t, "primary", "aes", seqKey(32, 1))
	c1 := newRSA(t, "recovery", "rsa", &priv.PublicKey, priv, keyring.OAEPSHA256)
	c2 := newAES(t, "backup", "aes", seqKey(16, 2))
	multi := newMulti(t, gen, c1, c2)
	ec := map[string]string{"tenant": "acme"}

	for _, s := range suites {
		m := encrypt(t, multi, s, ec)
		require.Len(t, m.EncryptedDataKeys, 3)
		ids := []string{m.EncryptedDataKeys[0].ProviderID, m.EncryptedDataKeys[1].ProviderID, m.EncryptedDataKeys[2].ProviderID}
		assert.Equal(t, []string{"primary", "recovery", "backup"}, ids, "generator first, then children in order")

		// Each member alone, and the multi-keyring, recover the same key.
		for _, kr := range []keyring.Keyring{gen, c1, c2, multi, newMulti(t, nil, c2), newMulti(t, c2, gen)} {
			requireDecrypts(t, kr, s, ec, m.EncryptedDataKeys, m.PlaintextDataKey)
		}
	}

	// Nested multi-keyrings work like flat ones.
	nested := newMulti(t, multi, newAES(t, "outer", "aes", seqKey(24, 3)))
	m := encrypt(t, nested, suite256, nil)
	require.Len(t, m.EncryptedDataKeys, 4)
	assert.Equal(t, "outer", m.EncryptedDataKeys[3].ProviderID)
	requireDecrypts(t, newAES(t, "outer", "aes", seqKey(24, 3)), suite256, nil, m.EncryptedDataKeys, m.PlaintextDataKey)
}

func TestMultiEncryptWithoutGenerator(t *testing.T) {
	c := newAES(t, "ns", "k", seqKey(32, 1))
	multi := newMulti(t, nil, c)

	m := encMaterials(suite256, nil)
	err := multi.OnEncrypt(context.Background(), m)
	require.ErrorIs(t, err, keyring.ErrInvalidMaterials, "no generator and no data key")
	assert.Nil(t, m.PlaintextDataKey)
	assert.Empty(t, m.EncryptedDataKeys)

	pdk := seqKey(32, 9)
	m.PlaintextDataKey = pdk
	require.NoError(t, multi.OnEncrypt(context.Background(), m))
	assert.Equal(t, seqKey(32, 9), m.PlaintextDataKey)
	require.Len(t, m.EncryptedDataKeys, 1)
	requireDecrypts(t, c, suite256, nil, m.EncryptedDataKeys, pdk)

	m = &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: seqKey(16, 0)}
	require.ErrorIs(t, multi.OnEncrypt(context.Background(), m), keyring.ErrInvalidMaterials, "wrong length")
}

func TestMultiEncryptGeneratorRejectsExistingKey(t *testing.T) {
	multi := newMulti(t, newAES(t, "ns", "k", seqKey(32, 1)))
	m := &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: seqKey(32, 0)}
	require.ErrorIs(t, multi.OnEncrypt(context.Background(), m), keyring.ErrInvalidMaterials)
	assert.Empty(t, m.EncryptedDataKeys)
	require.ErrorIs(t, multi.OnEncrypt(context.Background(), nil), keyring.ErrInvalidMaterials)
}

// TestMultiEncryptAllOrNothing checks that a failure anywhere leaves the
// caller's materials as they were, including the spare capacity of the
// EDK slice, and wipes a data key generated on the way.
func TestMultiEncryptAllOrNothing(t *testing.T) {
	boom := errors.New("boom")
	prior := keyring.EncryptedDataKey{ProviderID: "prior", ProviderInfo: []byte("p")}
	for desc, build := range map[string]func(log *[]string, mu *sync.Mutex) (*fakeKeyring, []keyring.Keyring){
		"generator fails": func(l *[]string, mu *sync.Mutex) (*fakeKeyring, []keyring.Keyring) {
			g := &fakeKeyring{name: "g", calls: l, mu: mu, encErr: boom}
			return g, []keyring.Keyring{&fakeKeyring{name: "c", calls: l, mu: mu}}
		},
		"second child fails": func(l *[]string, mu *sync.Mutex) (*fakeKeyring, []keyring.Keyring) {
			g := &fakeKeyring{name: "g", calls: l, mu: mu}
			return g, []keyring.Keyring{&fakeKeyring{name: "c1", calls: l, mu: mu}, &fakeKeyring{name: "c2", calls: l, mu: mu, encErr: boom}}
		},
		"generator makes no key": func(l *[]string, mu *sync.Mutex) (*fakeKeyring, []keyring.Keyring) {
			return &fakeKeyring{name: "g", calls: l, mu: mu, noKey: true}, nil
		},
		"child replaces key": func(l *[]string, mu *sync.Mutex) (*fakeKeyring, []keyring.Keyring) {
			g := &fakeKeyring{name: "g", calls: l, mu: mu}
			return g, []keyring.Keyring{&fakeKeyring{name: "c", calls: l, mu: mu, replaceKey: true}}
		},
	} {
		t.Run(desc, func(t *testing.T) {
			log, mu := newLog()
			gen, children := build(log, mu)
			multi := newMulti(t, gen, children...)
			edks := make([]keyring.EncryptedDataKey, 1, 8)
			edks[0] = prior
			m := &keyring.EncryptionMaterials{Suite: suite256, EncryptedDataKeys: edks}
			before := cloneEnc(m)

			err := multi.OnEncrypt(context.Background(), m)
			require.Error(t, err)
			if desc != "generator makes no key" && desc != "child replaces key" {
				require.ErrorIs(t, err, boom)
			} else {
				require.ErrorIs(t, err, keyring.ErrInvalidMaterials)
			}
			assert.Equal(t, before, m, "materials unchanged")
			assert.Equal(t, make([]keyring.EncryptedDataKey, 7), edks[1:8], "no write into spare capacity")
			if gen.generated != nil {
				assert.Equal(t, make([]byte, 32), gen.generated, "generated data key wiped")
			}
		})
	}
}

func TestMultiDecryptOrder(t *testing.T) {
	boom := errors.New("boom")
	log, mu := newLog()
	want := seqKey(32, 0x42)
	gen := &fakeKeyring{name: "g", calls: log, mu: mu, decErr: boom, setKeyOnFail: true}
	c1 := &fakeKeyring{name: "c1", calls: log, mu: mu, decErr: keyring.ErrNotMine}
	c2 := &fakeKeyring{name: "c2", calls: log, mu: mu, decKey: want}
	c3 := &fakeKeyring{name: "c3", calls: log, mu: mu, decKey: seqKey(32, 0)}
	multi := newMulti(t, gen, c1, c2, c3)

	// Each keyring sees materials without a data key even though the
	// generator left one behind before failing; c3 is never asked.
	requireDecrypts(t, multi, suite256, nil, nil, want)
	assert.Equal(t, []string{"dec:g", "dec:c1", "dec:c2"}, *log)
}

func TestMultiDecryptJoinsErrors(t *testing.T) {
	boom := errors.New("network down")
	gen := newAES(t, "gen-ns", "gen", seqKey(32, 1))
	wrongKey := newAES(t, "ns", "k", seqKey(32, 2))
	log, mu := newLog()
	broken := &fakeKeyring{name: "broken", calls: log, mu: mu, decErr: boom, setKeyOnFail: true}
	multi := newMulti(t, gen, wrongKey, broken)

	m := encrypt(t, newAES(t, "ns", "k", seqKey(32, 1)), suite256, nil)
	err := requireNoKey(t, multi, suite256, nil, m.EncryptedDataKeys)
	assert.ErrorIs(t, err, boom, "every keyring's error is kept")
	assert.ErrorIs(t, err, keyring.ErrNotMine, "the generator found nothing of its own")
	var kerr *keyring.KeyringError
	require.ErrorAs(t, err, &kerr)
	for _, part := range []string{"gen-ns", `"k"`, "network down"} {
		assert.Contains(t, err.Error(), part)
	}

	// The result matches ErrNoDecryptionKey even when no member's error does.
	err = requireNoKey(t, newMulti(t, nil, broken), suite256, nil, nil)
	assert.ErrorIs(t, err, boom)
}

func TestMultiDecryptRejects(t *testing.T) {
	log, mu := newLog()
	short := &fakeKeyring{name: "short", calls: log, mu: mu, decKey: seqKey(16, 0)}
	err := requireNoKey(t, newMulti(t, short), suite256, nil, nil)
	assert.ErrorIs(t, err, keyring.ErrInvalidMaterials, "a member's wrong-length key is refused")

	dm := decMaterials(suite256, nil)
	dm.PlaintextDataKey = seqKey(32, 1)
	require.ErrorIs(t, newMulti(t, short).OnDecrypt(context.Background(), dm, nil), keyring.ErrInvalidMaterials)
	assert.Equal(t, []string{"dec:short"}, *log, "not called when a key is already present")
}

func TestMultiCanceledContext(t *testing.T) {
	log, mu := newLog()
	gen := &fakeKeyring{name: "g", calls: log, mu: mu}
	c := &fakeKeyring{name: "c", calls: log, mu: mu, decKey: seqKey(32, 0)}
	multi := newMulti(t, gen, c)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	em := encMaterials(suite256, nil)
	require.ErrorIs(t, multi.OnEncrypt(ctx, em), context.Canceled)
	assert.Nil(t, em.PlaintextDataKey)

	dm := decMaterials(suite256, nil)
	err := multi.OnDecrypt(ctx, dm, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, keyring.ErrTransient)
	require.NotErrorIs(t, err, keyring.ErrNoDecryptionKey)
	assert.Nil(t, dm.PlaintextDataKey)
	assert.Equal(t, []string{"enc:g"}, *log, "no keyring asked to decrypt after cancellation")
}
