package interop_test

import (
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// namespace is the key namespace (EDK provider ID) of every raw keyring on
// both sides.
const namespace = "cryptkeeper-interop"

// contextCase is one encryption context of the matrix.
type contextCase struct {
	name string
	ec   map[string]string
}

var contexts = []contextCase{
	{"empty", map[string]string{}},
	// Byte order and locale order differ here ("Zeta" < "key1" bytewise).
	{"ascii", map[string]string{"Zeta": "1", "key1": "v", "alpha": "B"}},
	// Characters outside the Basic Multilingual Plane sort differently in
	// UTF-8 and UTF-16.
	{"unicode", map[string]string{"😀": "🎉", "ключ": "значение", "a": "𝄞"}},
}

var frameSizes = []int{1, 4096, 1 << 20}

// plaintextKind is one plaintext size of the matrix, relative to the frame
// length.
type plaintextKind struct {
	name   string
	length func(frame int) int
}

var plaintextKinds = []plaintextKind{
	{"empty", func(int) int { return 0 }},
	{"1byte", func(int) int { return 1 }},
	{"oneframe", func(f int) int { return f }},
	{"frame+1", func(f int) int { return f + 1 }},
	{"3frames+7", func(f int) int { return 3*f + 7 }},
}

// jsKeyring is a keyring as described to the Node.js runner.
type jsKeyring struct {
	Type          string   `json:"type"`
	Namespace     string   `json:"namespace,omitempty"`
	Name          string   `json:"name,omitempty"`
	Key           string   `json:"key,omitempty"`
	LocaleSorting bool     `json:"localeSorting,omitempty"` // raw AES: the JS default context order
	Padding       string   `json:"padding,omitempty"`
	PublicKeyPEM  string   `json:"publicKeyPem,omitempty"`
	PrivateKeyPEM string   `json:"privateKeyPem,omitempty"`
	Generator     string   `json:"generator,omitempty"`
	Children      []string `json:"children,omitempty"`
}

// keyrings holds the same keyrings on both sides, by name.
type keyrings struct {
	order []string // the keyrings of the matrix, in order
	goKR  map[string]keyring.Keyring
	js    map[string]jsKeyring
	// members lists, for a multi-keyring, the single keyrings that must each
	// decrypt its messages alone.
	members map[string][]string
	// providers is the number of EDKs a keyring writes.
	providers map[string]int
}

const multiName = "multi"

// newKeyrings builds raw AES keyrings of each size (fresh random keys), raw
// RSA keyrings of each padding (one fixed 2048-bit test key under a
// different key name per padding) and a multi-keyring (AES-256 generator,
// RSA-OAEP-SHA256 child). In FIPS 140-3 mode (GODEBUG=fips140=on) it checks
// that PKCS #1 v1.5 and OAEP-SHA1 are refused and leaves them out.
func newKeyrings(t *testing.T) *keyrings {
	t.Helper()
	k := &keyrings{
		goKR:      map[string]keyring.Keyring{},
		js:        map[string]jsKeyring{},
		members:   map[string][]string{},
		providers: map[string]int{},
	}
	for _, bits := range []int{128, 192, 256} {
		name := fmt.Sprintf("aes-%d", bits)
		key := make([]byte, bits/8)
		_, err := rand.Read(key)
		require.NoError(t, err)
		kr, err := keyring.NewRawAES(namespace, name, key)
		require.NoError(t, err)
		k.add(name, kr, jsKeyring{Type: "raw-aes", Namespace: namespace, Name: name, Key: base64.StdEncoding.EncodeToString(key)}, 1)
	}

	privPEM, err := os.ReadFile(filepath.Join("testdata", "rsa-2048-private.pem"))
	require.NoError(t, err)
	pubPEM, err := os.ReadFile(filepath.Join("testdata", "rsa-2048-public.pem"))
	require.NoError(t, err)
	priv, pub := parseRSA(t, privPEM, pubPEM)
	paddings := []struct {
		name string
		p    keyring.RSAPadding
	}{
		{"pkcs1", keyring.PKCS1},
		{"oaep-sha1", keyring.OAEPSHA1},
		{"oaep-sha256", keyring.OAEPSHA256},
		{"oaep-sha384", keyring.OAEPSHA384},
		{"oaep-sha512", keyring.OAEPSHA512},
	}
	for _, p := range paddings {
		name := "rsa-" + p.name
		kr, err := keyring.NewRawRSA(namespace, "rsa-2048-"+p.name, pub, priv, p.p)
		if fips140.Enabled() && (p.p == keyring.PKCS1 || p.p == keyring.OAEPSHA1) {
			// FIPS 140-3 mode refuses the paddings the Go Cryptographic
			// Module does not approve; the matrix goes on without them.
			require.ErrorIs(t, err, keyring.ErrNotApproved, name)
			require.ErrorContains(t, err, "FIPS 140-3", name)
			t.Logf("FIPS 140-3 mode: %s refused, left out of the matrix", name)
			continue
		}
		require.NoError(t, err)
		k.add(name, kr, jsKeyring{
			Type: "raw-rsa", Namespace: namespace, Name: "rsa-2048-" + p.name, Padding: p.name,
			PublicKeyPEM: string(pubPEM), PrivateKeyPEM: string(privPEM),
		}, 1)
	}

	multi, err := keyring.NewMulti(k.goKR["aes-256"], k.goKR["rsa-oaep-sha256"])
	require.NoError(t, err)
	k.add(multiName, multi, jsKeyring{Type: "multi", Generator: "aes-256", Children: []string{"rsa-oaep-sha256"}}, 2)
	k.members[multiName] = []string{"aes-256", "rsa-oaep-sha256"}
	return k
}

func (k *keyrings) add(name string, kr keyring.Keyring, js jsKeyring, providers int) {
	k.order = append(k.order, name)
	k.goKR[name] = kr
	k.js[name] = js
	k.providers[name] = providers
}

// decryptors returns the keyrings that must each decrypt the message of c:
// its keyring and, for a multi-keyring, each of its members alone (on
// messages up to smallMessage bytes, so every suite and context is covered
// without decrypting the large messages three times).
func (k *keyrings) decryptors(c testCase) []string {
	if c.ptLen > smallMessage {
		return []string{c.keyring}
	}
	return append([]string{c.keyring}, k.members[c.keyring]...)
}

func parseRSA(t *testing.T, privPEM, pubPEM []byte) (*rsa.PrivateKey, *rsa.PublicKey) {
	t.Helper()
	block, _ := pem.Decode(privPEM)
	require.NotNil(t, block, "private key PEM")
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	priv, ok := key.(*rsa.PrivateKey)
	require.True(t, ok, "private key is %T", key)
	block, _ = pem.Decode(pubPEM)
	require.NotNil(t, block, "public key PEM")
	pk, err := x509.ParsePKIXPublicKey(block.Bytes)
	require.NoError(t, err)
	pub, ok := pk.(*rsa.PublicKey)
	require.True(t, ok, "public key is %T", pk)
	require.True(t, pub.Equal(&priv.PublicKey), "testdata public key does not match the private key")
	return priv, pub
}

// testCase is one cell of the matrix. The same cell is run in both
// directions.
type testCase struct {
	idx     int
	suite   envelope.SuiteID
	keyring string
	ctx     contextCase
	frame   int
	ptKind  string
	ptLen   int
}

func (c testCase) String() string {
	mode := "oneshot"
	if c.stream() {
		mode = "stream"
	}
	return fmt.Sprintf("%s/%s/ec=%s/frame=%d/%s/%s", c.suite, c.keyring, c.ctx.name, c.frame, c.ptKind, mode)
}

// smallMessage bounds the plaintexts of the cases that get extra work: the
// streaming API and single-member decryption. It covers frame lengths 1 and
// 4096 entirely and leaves the megabyte messages to the one-shot calls,
// which keeps the race-enabled run short.
const smallMessage = 64 << 10

// stream reports whether the Go side uses NewWriter and NewReader for the
// case rather than Encrypt and Decrypt: every other small case. Because the
// plaintext kinds are the innermost loop and their count is odd, every kind
// gets both modes.
func (c testCase) stream() bool { return c.idx%2 == 1 && c.ptLen <= smallMessage }

// matrix returns every suite × keyring × context × frame length × plaintext
// size, ordered by frame length so that batches of small messages group
// together.
func matrix(krs *keyrings) []testCase {
	var out []testCase
	for _, frame := range frameSizes {
		for _, s := range envelope.Suites() {
			for _, kr := range krs.order {
				for _, ec := range contexts {
					for _, pk := range plaintextKinds {
						out = append(out, testCase{
							idx: len(out), suite: s, keyring: kr, ctx: ec,
							frame: frame, ptKind: pk.name, ptLen: pk.length(frame),
						})
					}
				}
			}
		}
	}
	return out
}

// plaintexts makes deterministic plaintexts of a given length and
// remembers their SHA-256.
type plaintexts struct {
	data map[int][]byte
	sum  map[int]string
}

func newPlaintexts() *plaintexts {
	return &plaintexts{data: map[int][]byte{}, sum: map[int]string{}}
}

func (p *plaintexts) get(n int) []byte {
	if b, ok := p.data[n]; ok {
		return b
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>11 + n)
	}
	s := sha256.Sum256(b)
	p.data[n] = b
	p.sum[n] = hex.EncodeToString(s[:])
	return b
}

func (p *plaintexts) fileName(n int) string { return fmt.Sprintf("pt-%d.bin", n) }
