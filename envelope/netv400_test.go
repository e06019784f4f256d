package envelope_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// The messages written by the AWS Encryption SDK for .NET 4.0.0 come from
// the official SDK's test resources, with their awses-decrypt manifest
// (version 4), in ../shared/vectors/net-4.0.0-retry beside the module.

const netV400Vectors = "net-4.0.0-retry"

// decryptManifest is the part of an awses-decrypt manifest these vectors use.
type decryptManifest struct {
	Manifest struct {
		Type    string `json:"type"`
		Version int    `json:"version"`
	} `json:"manifest"`
	Client struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"client"`
	Keys  string                   `json:"keys"`
	Tests map[string]decryptVector `json:"tests"`
}

type decryptVector struct {
	Ciphertext string `json:"ciphertext"`
	MasterKeys []struct {
		Type       string `json:"type"`
		Key        string `json:"key"`
		ProviderID string `json:"provider-id"`
		Algorithm  string `json:"encryption-algorithm"`
	} `json:"master-keys"`
	CMM               string            `json:"cmm"`
	EncryptionContext map[string]string `json:"encryption-context"`
	Result            struct {
		Output *struct {
			Plaintext string `json:"plaintext"`
		} `json:"output"`
		Error *struct {
			Message string `json:"error-description"`
		} `json:"error"`
	} `json:"result"`
}

type keysManifest struct {
	Keys map[string]struct {
		Type      string `json:"type"`
		KeyID     string `json:"key-id"`
		Algorithm string `json:"algorithm"`
		Bits      int    `json:"bits"`
		Encoding  string `json:"encoding"`
		Material  string `json:"material"`
	} `json:"keys"`
}

// sharedVectors returns the directory of the named official vectors: the
// shared folder beside the module root. CI always has it.
func sharedVectors(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory: cannot find the module root")
		}
		dir = parent
	}
	vectors := filepath.Join(dir, "..", "shared", "vectors", name)
	if _, err := os.Stat(filepath.Join(vectors, "manifest.json")); err != nil {
		t.Fatalf("official test vectors missing: %s/manifest.json not found (%v); "+
			"the vectors live in ../shared/vectors beside the module root", vectors, err)
	}
	return vectors
}

// readManifestFile reads a "file://" reference of a manifest in dir.
func readManifestFile(t *testing.T, dir, ref string) []byte {
	t.Helper()
	rel, ok := strings.CutPrefix(ref, "file://")
	require.True(t, ok, "reference %q is not file://", ref)
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	require.NoError(t, err)
	return b
}

type netV400Case struct {
	name     string
	kr       keyring.Keyring
	ct, pt   []byte
	ec       map[string]string
	required bool // the context was authenticated but not stored
	opts     []envelope.Option
}

func loadNetV400(t *testing.T) []netV400Case {
	t.Helper()
	dir := sharedVectors(t, netV400Vectors)
	var m decryptManifest
	require.NoError(t, json.Unmarshal(readManifestFile(t, dir, "file://manifest.json"), &m))
	require.Equal(t, "awses-decrypt", m.Manifest.Type)
	require.Equal(t, 4, m.Manifest.Version)
	require.Equal(t, "ESDK-NET", m.Client.Name)
	require.Equal(t, "4.0.0", m.Client.Version)
	var keys keysManifest
	require.NoError(t, json.Unmarshal(readManifestFile(t, dir, m.Keys), &keys))

	var cases []netV400Case
	for _, name := range slices.Sorted(maps.Keys(m.Tests)) {
		v := m.Tests[name]
		require.NotNil(t, v.Result.Output, "%s: every message must decrypt", name)
		require.Len(t, v.MasterKeys, 1, name)
		mk := v.MasterKeys[0]
		require.Equal(t, "raw", mk.Type, name)
		require.Equal(t, "aes", mk.Algorithm, name)
		key, ok := keys.Keys[mk.Key]
		require.True(t, ok, "%s: key %q not in the keys manifest", name, mk.Key)
		require.Equal(t, "symmetric", key.Type)
		require.Equal(t, "base64", key.Encoding)
		material, err := base64.StdEncoding.DecodeString(key.Material)
		require.NoError(t, err)
		require.Len(t, material, key.Bits/8)
		kr, err := keyring.NewRawAES(mk.ProviderID, key.KeyID, material)
		require.NoError(t, err)

		c := netV400Case{
			name: name,
			kr:   kr,
			ct:   readManifestFile(t, dir, v.Ciphertext),
			pt:   readManifestFile(t, dir, v.Result.Output.Plaintext),
			ec:   v.EncryptionContext,
			opts: []envelope.Option{
				envelope.WithCommitmentPolicy(envelope.RequireEncryptAllowDecrypt),
				envelope.WithContext(v.EncryptionContext),
			},
		}
		switch v.CMM {
		case "Default":
		case "RequiredEncryptionContext":
			c.required = true
			c.opts = append(c.opts, envelope.WithRequiredContextKeys(slices.Sorted(maps.Keys(v.EncryptionContext))...))
		default:
			t.Fatalf("%s: unknown materials manager %q", name, v.CMM)
		}
		cases = append(cases, c)
	}
	require.Len(t, cases, 28, "the manifest lists 28 messages")
	return cases
}

// checkNetV400Header checks the header of a decrypted vector: its suite is
// the one the test is named after, and the manifest's context is either
// stored in it (default materials manager) or was only authenticated
// (required-context materials manager).
func checkNetV400Header(t *testing.T, c netV400Case, h *envelope.Header) {
	t.Helper()
	assert.True(t, strings.HasPrefix(c.name, fmt.Sprintf("%04X-", uint16(h.Suite))), "suite %v", h.Suite)
	for k, v := range c.ec {
		stored, ok := h.Context[k]
		if c.required {
			assert.False(t, ok, "required key %q must not be stored", k)
		} else {
			assert.True(t, ok, "key %q must be stored", k)
			assert.Equal(t, v, stored)
		}
	}
}

// TestNetV400Vectors decrypts every message of .NET 4.0.0 with the default
// retry, through Decrypt and NewReader, and checks that each fails header
// authentication with the retry forbidden.
func TestNetV400Vectors(t *testing.T) {
	ctx := context.Background()
	cases := loadNetV400(t)
	required := 0
	for _, c := range cases {
		if c.required {
			required++
		}
		t.Run(c.name, func(t *testing.T) {
			pt, h, err := envelope.Decrypt(ctx, c.kr, c.ct, c.opts...)
			require.NoError(t, err, "Decrypt")
			assert.True(t, bytes.Equal(c.pt, pt), "Decrypt plaintext")
			checkNetV400Header(t, c, h)

			r, err := envelope.NewReader(ctx, bytes.NewReader(c.ct), c.kr, c.opts...)
			require.NoError(t, err, "NewReader")
			got, err := io.ReadAll(r)
			require.NoError(t, err, "Read")
			assert.True(t, bytes.Equal(c.pt, got), "Reader plaintext")
			checkNetV400Header(t, c, r.Header())

			forbid := append(slices.Clip(c.opts), envelope.WithoutNetV400Retry())
			_, _, err = envelope.Decrypt(ctx, c.kr, c.ct, forbid...)
			require.ErrorIs(t, err, envelope.ErrAuthentication, "Decrypt without the retry")
			_, err = envelope.NewReader(ctx, bytes.NewReader(c.ct), c.kr, forbid...)
			require.ErrorIs(t, err, envelope.ErrAuthentication, "NewReader without the retry")
		})
	}
	assert.Equal(t, 6, required, "six messages use the required-context materials manager")
}

// TestNetV400RetryIsNoBypass checks that the retry accepts nothing else:
// a .NET 4.0.0 message with one header byte changed, a wrong reproduced
// context or another wrapping key still fails, each in its own category.
func TestNetV400RetryIsNoBypass(t *testing.T) {
	ctx := context.Background()
	for _, c := range loadNetV400(t) {
		t.Run(c.name, func(t *testing.T) {
			// .NET 4.0.0 left the message ID out of the version 1 key
			// derivation, but the header tag still covers it; on version
			// 2 it feeds the key commitment.
			idAt := 4 // version, type, suite
			if c.ct[0] == 2 {
				idAt = 3 // version, suite
			}
			tampered := bytes.Clone(c.ct)
			tampered[idAt] ^= 0x01
			_, _, err := envelope.Decrypt(ctx, c.kr, tampered, c.opts...)
			if c.ct[0] == 2 {
				require.ErrorIs(t, err, envelope.ErrCommitment)
			} else {
				require.ErrorIs(t, err, envelope.ErrAuthentication)
			}
			_, err = envelope.NewReader(ctx, bytes.NewReader(tampered), c.kr, c.opts...)
			require.Error(t, err)

			if len(c.ec) > 0 {
				wrong := maps.Clone(c.ec)
				wrong["key1"] = "other"
				opts := append(slices.Clip(c.opts), envelope.WithContext(wrong))
				_, _, err = envelope.Decrypt(ctx, c.kr, c.ct, opts...)
				if c.required {
					// The raw AES keyring binds the whole context to the
					// wrapped data key, so a differing authenticated-only
					// value fails before the header.
					require.ErrorIs(t, err, envelope.ErrNoDecryptionKey)
				} else {
					require.ErrorIs(t, err, envelope.ErrContext)
				}
			}

			other, err := keyring.NewRawAES("aws-raw-vectors-persistant", "aes-256", bytes.Repeat([]byte{7}, 32))
			require.NoError(t, err)
			_, _, err = envelope.Decrypt(ctx, other, c.ct, c.opts...)
			require.ErrorIs(t, err, envelope.ErrNoDecryptionKey)
		})
	}
}

// A service whose stored messages were all re-encrypted since .NET 4.0.0
// can forbid the retry; messages of every other writer are unaffected.
func ExampleWithoutNetV400Retry() {
	ctx := context.Background()
	kr := exampleKeyring()
	ct, err := envelope.Encrypt(ctx, kr, []byte("hello"))
	if err != nil {
		log.Fatal(err)
	}
	pt, _, err := envelope.Decrypt(ctx, kr, ct, envelope.WithoutNetV400Retry())
	fmt.Println(string(pt), err)
	// Output:
	// hello <nil>
}
