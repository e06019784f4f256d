package sqlcrypto_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/sqlcrypto"
)

// TestRecoverByFormat opens a value the way FORMAT.md describes, without
// this package: unwrap the key table's row with plain envelope.Decrypt and
// the documented context, then AES-256-GCM with the documented nonce and
// associated data. It checks the document as much as the code.
func TestRecoverByFormat(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *dbEnv) {
		ctx := context.Background()
		kr := newKeyring(t)
		ks := openKeyset(t, e, kr)
		col, err := ks.Column(ctx, "customers", "ssn", sqlcrypto.WithRowBinding())
		require.NoError(t, err)
		v, err := col.SealRow(int64(42), "123-45-6789").Value()
		require.NoError(t, err)
		stored := v.([]byte)

		var wrapped []byte
		require.NoError(t, e.db.QueryRow(e.q("SELECT wrapped_key FROM cryptkeeper_keys WHERE table_name = ? AND column_name = ? AND purpose = ? AND key_id = ?"),
			"customers", "ssn", "data", 1).Scan(&wrapped))
		key, hdr, err := envelope.Decrypt(ctx, kr, wrapped, envelope.WithContext(map[string]string{
			"cryptkeeper:sql:table":   "customers",
			"cryptkeeper:sql:column":  "ssn",
			"cryptkeeper:sql:purpose": "data",
			"cryptkeeper:sql:key-id":  "1",
		}))
		require.NoError(t, err)
		assert.Equal(t, envelope.AES256GCMHKDFSHA512CommitKey, hdr.Suite)
		require.Len(t, key, 32)

		assert.Equal(t, byte(1), stored[0], "version")
		assert.Equal(t, byte(2), stored[1], "string")
		assert.Equal(t, uint32(1), binary.BigEndian.Uint32(stored[2:6]), "key id")
		aad := append([]byte(nil), stored[:6]...)
		aad = append(aad, "cryptkeeper-sql-v1"...)
		aad = append(aad, byte(len("customers")))
		aad = append(aad, "customers"...)
		aad = append(aad, byte(len("ssn")))
		aad = append(aad, "ssn"...)
		aad = append(aad, 1, 'i')
		aad = binary.BigEndian.AppendUint64(aad, 42)
		block, err := aes.NewCipher(key)
		require.NoError(t, err)
		gcm, err := cipher.NewGCM(block)
		require.NoError(t, err)
		pt, err := gcm.Open(nil, stored[6:18], stored[18:], aad)
		require.NoError(t, err)
		assert.Equal(t, "123-45-6789", string(pt))
	})
}
