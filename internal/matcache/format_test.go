package matcache

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Entries, copies and the cache itself print no data key with any verb.
func TestInternalTypesRedactKeys(t *testing.T) {
	key := bytes.Repeat([]byte{0xD1, 0xE2, 0xF3}, 11)[:32]
	c := newTestCache(time.Hour)
	kr := &nullKeyring{"a"}
	m, err := c.Encryption(context.Background(), kr, testSuite, nil, 1, func(context.Context) (*keyring.EncryptionMaterials, error) {
		return &keyring.EncryptionMaterials{Suite: testSuite, PlaintextDataKey: bytes.Clone(key),
			EncryptedDataKeys: []keyring.EncryptedDataKey{{ProviderID: "p", Ciphertext: []byte{1}}}}, nil
	})
	require.NoError(t, err)
	require.Equal(t, key, m.PlaintextDataKey)
	c.mu.Lock()
	var e *entry
	for _, x := range c.entries {
		e = x
	}
	c.mu.Unlock()

	ec := encryptionCopy{m: *m}
	copy(ec.key[:], key)
	dc := decryptionCopy{m: keyring.DecryptionMaterials{Suite: testSuite, PlaintextDataKey: key}}
	copy(dc.key[:], key)
	forms := []string{string(key[:4]), fmt.Sprintf("%x", key[:4]), fmt.Sprintf("%X", key[:4]), fmt.Sprintf("% x", key[:4]),
		strconv.Itoa(int(key[0])) + " " + strconv.Itoa(int(key[1])), fmt.Sprintf("%#x, %#x", key[0], key[1])}
	values := map[string]any{
		"entry": e, "entries": []*entry{e}, "encryption copy": ec, "encryption copy pointer": &ec,
		"decryption copy": dc, "decryption copy pointer": &dc, "cache": c, "cache value slice": []*Cache{c},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			out := fmt.Sprintf(verb, v)
			for _, f := range forms {
				if strings.Contains(out, f) {
					t.Errorf("%s formatted with %s leaks %q: %s", name, verb, f, out)
				}
			}
		}
	}
}
