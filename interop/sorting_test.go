package interop_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/jsenv"
)

// TestJSRawAESNeedsUTF8Sorting shows why the JavaScript peers in TestInterop
// build RawAesKeyringNode with utf8Sorting: true. Without it the JavaScript
// keyring orders the encryption context with localeCompare when it builds
// the key-wrapping AAD, so a message whose context sorts differently by
// bytes ("Zeta" < "key1") and by locale ("key1" < "Zeta") does not decrypt,
// while an empty context still does.
func TestJSRawAESNeedsUTF8Sorting(t *testing.T) {
	jsDir := jsenv.Dir(t)
	krs := newKeyrings(t)
	locale := krs.js["aes-256"]
	locale.LocaleSorting = true
	js := map[string]jsKeyring{"utf8": krs.js["aes-256"], "locale": locale}

	dir := t.TempDir()
	pt := []byte("sorted by bytes")
	m := &jsManifest{Keyrings: js, Concurrency: 1}
	for _, ec := range []contextCase{contexts[0], contexts[1]} {
		ct, err := envelope.Encrypt(t.Context(), krs.goKR["aes-256"], pt,
			envelope.WithContext(ec.ec), envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, ec.name+".ct"), ct, 0o600))
		for name := range js {
			m.Cases = append(m.Cases, jsCase{ID: ec.name + "/" + name, Op: "decrypt", Keyring: name, Input: ec.name + ".ct"})
		}
	}
	res := runNode(t.Context(), t, jsDir, dir, m)

	assert.True(t, res["empty/utf8"].OK, "%+v", res["empty/utf8"])
	assert.True(t, res["empty/locale"].OK, "an empty context has no order: %+v", res["empty/locale"])
	assert.True(t, res["ascii/utf8"].OK, "%+v", res["ascii/utf8"])
	assert.False(t, res["ascii/locale"].OK, "localeCompare order must not match the byte order of %q", contexts[1].ec)
}
