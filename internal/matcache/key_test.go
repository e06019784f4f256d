package matcache

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// The reference identifiers below build every field as a byte slice, as
// the layout in key.go is written; the streamed identifiers must equal them
// bit for bit, and must fail exactly where keyring.SerializeContext fails.

func refAppendSuite(b []byte, s keyring.Suite) []byte {
	b = binary.BigEndian.AppendUint16(b, s.ID)
	b = binary.BigEndian.AppendUint32(b, uint32(s.DataKeyLength))
	if s.Signed {
		return append(b, 1)
	}
	return append(b, 0)
}

func refEncryptionID(pid [48]byte, s keyring.Suite, ec map[string]string) ([48]byte, error) {
	ser, err := keyring.SerializeContext(ec)
	if err != nil {
		return [48]byte{}, err
	}
	ecd := sha512.Sum384(ser)
	b := []byte{resourceCachingCMM, 0, scopeEncrypt, 0}
	b = append(b, pid[:]...)
	b = append(b, 0)
	b = refAppendSuite(b, s)
	b = append(b, 0)
	b = append(b, ecd[:]...)
	return sha512.Sum384(b), nil
}

func refDecryptionID(pid [48]byte, s keyring.Suite, edks []keyring.EncryptedDataKey, ec map[string]string) ([48]byte, error) {
	ser, err := keyring.SerializeContext(ec)
	if err != nil {
		return [48]byte{}, err
	}
	ecd := sha512.Sum384(ser)
	var digests [][48]byte
	for _, k := range edks {
		var buf []byte
		for _, f := range [][]byte{[]byte(k.ProviderID), k.ProviderInfo, k.Ciphertext} {
			buf = binary.BigEndian.AppendUint64(buf, uint64(len(f)))
			buf = append(buf, f...)
		}
		digests = append(digests, sha512.Sum384(buf))
	}
	slices.SortFunc(digests, func(a, b [48]byte) int { return bytes.Compare(a[:], b[:]) })
	b := []byte{resourceCachingCMM, 0, scopeDecrypt, 0}
	b = append(b, pid[:]...)
	b = append(b, 0)
	b = refAppendSuite(b, s)
	b = append(b, 0)
	for _, d := range digests {
		b = append(b, d[:]...)
	}
	b = append(b, 0)
	b = append(b, ecd[:]...)
	return sha512.Sum384(b), nil
}

func keyTestContexts() map[string]map[string]string {
	many := map[string]string{}
	for i := range 3 * inlineContextKeys {
		many[fmt.Sprintf("key-%02d", i)] = strings.Repeat("v", i)
	}
	// 2 + 4 + 1 + len(v) bytes: exactly the 65,535-byte limit, and one over.
	limit := map[string]string{"k": strings.Repeat("x", 0xffff-7)}
	over := map[string]string{"k": strings.Repeat("x", 0xffff-6)}
	return map[string]map[string]string{
		"nil":            nil,
		"empty":          {},
		"one":            {"tenant": "acme"},
		"two":            {"tenant": "acme", "purpose": "test"},
		"shifted":        {"tenan": "tacme", "purpose": "test"},
		"empty strings":  {"": ""},
		"unicode":        {"clé": "valeur ✓", "z": "\U0001F600"},
		"long value":     {"k": strings.Repeat("0123456789", 300)},
		"long key":       {strings.Repeat("k", 1500): "v"},
		"many keys":      many,
		"at size limit":  limit,
		"over limit":     over,
		"bad utf8 key":   {"a\xff": "v"},
		"bad utf8 value": {"k": "v\xc3"},
	}
}

func keyTestEDKs() map[string][]keyring.EncryptedDataKey {
	edk := func(id, info string, ct []byte) keyring.EncryptedDataKey {
		return keyring.EncryptedDataKey{ProviderID: id, ProviderInfo: []byte(info), Ciphertext: ct}
	}
	var many []keyring.EncryptedDataKey
	for i := range 2*inlineEDKs + 1 {
		many = append(many, edk("p", fmt.Sprint("key-", i), bytes.Repeat([]byte{byte(i)}, 40+i)))
	}
	return map[string][]keyring.EncryptedDataKey{
		"none":      nil,
		"one":       {edk("aws-kms", "arn:aws:kms:us-east-1:111122223333:key/k", []byte{1, 2, 3})},
		"shifted":   {edk("aws-km", "saarn:aws:kms:us-east-1:111122223333:key/k", []byte{1, 2, 3})},
		"empty":     {{ProviderInfo: []byte{}, Ciphertext: []byte{}}},
		"nil bytes": {{}},
		"three":     {edk("a", "1", []byte("x")), edk("b", "2", []byte("y")), edk("c", "3", []byte("z"))},
		"long":      {edk("p", strings.Repeat("i", 700), bytes.Repeat([]byte{7}, 3000))},
		"many":      many,
	}
}

func TestStreamedIdentifiersMatchLayout(t *testing.T) {
	suites := []keyring.Suite{
		{ID: 0x0478, DataKeyLength: 32},
		{ID: 0x0578, DataKeyLength: 32, Signed: true},
		{ID: 0x0014, DataKeyLength: 16},
	}
	kr := &keyring.RawAES{}
	seen := map[[48]byte]string{}
	record := func(id [48]byte, what string) {
		if prev, dup := seen[id]; dup {
			assert.Failf(t, "identifier collision", "%s and %s", prev, what)
		}
		seen[id] = what
	}
	for _, part := range []string{"", "p", "q"} {
		c := &Cache{partition: part, pid: sha512.Sum384([]byte(part))}
		for _, s := range suites {
			for ecName, ec := range keyTestContexts() {
				want, err := refEncryptionID(c.pid, s, ec)
				got, ok := c.encryptionKey(kr, s, ec)
				what := fmt.Sprintf("encrypt %q %#x %s", part, s.ID, ecName)
				require.Equal(t, err == nil, ok, what)
				if ok {
					require.Equal(t, want, got.id, what)
					assert.Equal(t, keyring.Keyring(kr), got.kr)
					if ecName != "empty" { // serializes like nil
						record(got.id, what)
					}
				}
				for edkName, edks := range keyTestEDKs() {
					want, err := refDecryptionID(c.pid, s, edks, ec)
					got, ok := c.decryptionKey(kr, s, edks, ec)
					what := fmt.Sprintf("decrypt %q %#x %s %s", part, s.ID, ecName, edkName)
					require.Equal(t, err == nil, ok, what)
					if ok {
						require.Equal(t, want, got.id, what)
						if ecName != "empty" && edkName != "nil bytes" { // nil and empty fields hash alike
							record(got.id, what)
						}
					}
				}
			}
		}
	}
}

func TestDecryptionIdentifierIgnoresEDKOrder(t *testing.T) {
	c := &Cache{pid: sha512.Sum384(nil)}
	edks := keyTestEDKs()["many"]
	a, ok := c.decryptionKey(nil, keyring.Suite{}, edks, nil)
	require.True(t, ok)
	rev := slices.Clone(edks)
	slices.Reverse(rev)
	b, ok := c.decryptionKey(nil, keyring.Suite{}, rev, nil)
	require.True(t, ok)
	assert.Equal(t, a.id, b.id)
	assert.Equal(t, edks, keyTestEDKs()["many"], "the caller's EDKs are not reordered")
}

func TestKeyringIdentity(t *testing.T) {
	type structKeyring struct{ keyring.Keyring }
	assert.False(t, keyringIdentity(nil))
	assert.True(t, keyringIdentity(&keyring.RawAES{}))
	assert.True(t, keyringIdentity(structKeyring{&keyring.RawAES{}}))
	assert.False(t, keyringIdentity(structKeyring{funcKeyring(nil)}), "a struct holding an uncomparable value")
	assert.False(t, keyringIdentity(funcKeyring(nil)))
}

type funcKeyring func()

func (funcKeyring) OnEncrypt(context.Context, *keyring.EncryptionMaterials) error { return nil }
func (funcKeyring) OnDecrypt(context.Context, *keyring.DecryptionMaterials, []keyring.EncryptedDataKey) error {
	return nil
}
