package cache_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A cache holding entries, and the materials it hands out, print no data
// key with any verb.
func TestCacheFormattingRedactsKeys(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	kr := &fakeKeyring{name: "k"}
	var l loader
	m, err := c.Encryption(ctx, kr, suite, nil, 1, l.encrypt(kr, nil))
	require.NoError(t, err)
	edks := m.EncryptedDataKeys
	d, err := c.Decryption(ctx, kr, suite, edks, nil, l.decrypt(kr, edks, nil))
	require.NoError(t, err)
	key := l.key(0)
	require.Equal(t, key, d.PlaintextDataKey)
	m.EncryptedDataKeys = nil // the fake keyring "wraps" by copying the key

	type holder struct{ C any }
	forms := []string{string(key[:4]), fmt.Sprintf("%x", key[:4]), fmt.Sprintf("%X", key[:4]), fmt.Sprintf("% x", key[:4]),
		strings.Trim(fmt.Sprint(key[:3]), "[]"), fmt.Sprintf("%#x, %#x", key[0], key[1])}
	for name, v := range map[string]any{
		"cache": c, "cache in struct": holder{c}, "stats": c.Stats(),
		"encryption materials": m, "decryption materials": d, "materials in slice": []any{m, d, *m, *d},
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			out := fmt.Sprintf(verb, v)
			for _, f := range forms {
				assert.NotContains(t, out, f, "%s formatted with %s", name, verb)
			}
		}
	}
	assert.Equal(t, `cache.Cache{Partition:"" Entries:2 MaxAge:1h0m0s}`, fmt.Sprint(c))
	assert.Equal(t, fmt.Sprint(c), fmt.Sprintf("%#v", c))
}
