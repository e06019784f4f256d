package keyring_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// distinctiveKey returns n bytes, each at least 0x80, so that every way fmt
// could print them (hex, decimal, raw) is unlikely to occur by chance.
func distinctiveKey(t testing.TB, n int) []byte {
	t.Helper()
	k := make([]byte, n)
	_, err := rand.Read(k)
	require.NoError(t, err)
	for i := range k {
		k[i] |= 0x80
	}
	return k
}

// secretForms returns strings any of which, found in printed output, shows
// that (part of) secret leaked: every window of 4 bytes as raw bytes, lower
// and upper hex (packed, spaced and in Go syntax), decimal lists, and the
// whole key in base64.
func secretForms(secret []byte) []string {
	forms := []string{base64.StdEncoding.EncodeToString(secret)}
	for i := 0; i+4 <= len(secret); i++ {
		w := secret[i : i+4]
		var dec, goHex []string
		for _, b := range w {
			dec = append(dec, strconv.Itoa(int(b)))
			goHex = append(goHex, fmt.Sprintf("0x%x", b))
		}
		forms = append(forms,
			string(w),
			fmt.Sprintf("%x", w), fmt.Sprintf("%X", w),
			fmt.Sprintf("% x", w), fmt.Sprintf("% X", w),
			strings.Join(dec, " "), strings.Join(dec, ", "), strings.Join(dec, ","),
			strings.Join(goHex, ", "),
		)
	}
	return forms
}

// verbs are the verbs and flags tried on every value.
var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%o", "%b", "%10v", "%.3v"}

// requireRedacted formats v with every verb and fails if any output holds
// any form of any secret, or any of texts whole; it returns the %+v output.
func requireRedacted(t *testing.T, name string, v any, texts []string, secrets ...[]byte) string {
	t.Helper()
	forms := texts
	for _, s := range secrets {
		forms = append(forms, secretForms(s)...)
	}
	for _, verb := range verbs {
		out := fmt.Sprintf(verb, v)
		for _, f := range forms {
			if strings.Contains(out, f) {
				t.Errorf("%s formatted with %s leaks %q:\n%s", name, verb, f, out)
				break
			}
		}
	}
	for _, out := range []string{fmt.Sprint(v), fmt.Sprintln(v)} {
		for _, f := range forms {
			if strings.Contains(out, f) {
				t.Errorf("%s printed with Sprint leaks %q:\n%s", name, f, out)
				break
			}
		}
	}
	return fmt.Sprintf("%+v", v)
}

// containers returns v (of type T) printed directly and inside every
// container an exported path can reach: pointer, slices, map, exported
// struct fields (embedding is tried by the caller: a type parameter cannot
// be embedded).
func containers[T any](v T) map[string]any {
	type field struct {
		Name string
		M    T
		P    *T
	}
	return map[string]any{
		"value":           v,
		"pointer":         &v,
		"slice":           []T{v, v},
		"pointer slice":   []*T{&v},
		"map":             map[string]T{"k": v},
		"pointer map":     map[string]*T{"k": &v},
		"struct field":    field{Name: "n", M: v, P: &v},
		"struct pointer":  &field{Name: "n", M: v, P: &v},
		"nested slice":    [][]T{{v}},
		"array":           [1]T{v},
		"interface slice": []any{v, &v},
	}
}

func TestMaterialsFormattingRedactsKeys(t *testing.T) {
	dk := distinctiveKey(t, 32)
	sk, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	d := sk.D.Bytes()
	secrets := [][]byte{dk, d}
	texts := []string{sk.D.Text(10), sk.D.Text(16), fmt.Sprintf("%X", d)}
	edk := keyring.EncryptedDataKey{ProviderID: "aws-kms", ProviderInfo: []byte("arn:aws:kms:us-east-1:111122223333:key/k"), Ciphertext: []byte("wrapped")}

	enc := keyring.EncryptionMaterials{
		Suite:               keyring.Suite{ID: 0x0578, DataKeyLength: 32, Signed: true},
		EncryptionContext:   map[string]string{"tenant": "acme"},
		RequiredContextKeys: []string{"tenant"},
		PlaintextDataKey:    dk,
		EncryptedDataKeys:   []keyring.EncryptedDataKey{edk},
		SigningKey:          sk,
	}
	type embedsEnc struct {
		keyring.EncryptionMaterials
		N int
	}
	type embedsEncPtr struct {
		*keyring.EncryptionMaterials
		N int
	}
	encs := containers(enc)
	encs["embedded"] = embedsEnc{enc, 7}
	encs["embedded pointer"] = &embedsEncPtr{&enc, 7}
	for name, v := range encs {
		out := requireRedacted(t, "EncryptionMaterials "+name, v, texts, secrets...)
		assert.Contains(t, out, "[REDACTED 32 bytes]", name)
		assert.Contains(t, out, "[REDACTED ECDSA P-384 private key]", name)
		assert.Contains(t, out, "tenant:acme", name, "the context is shown")
		assert.Contains(t, out, "arn:aws:kms:us-east-1:111122223333:key/k", name, "the wrapping key is named")
	}

	dec := keyring.DecryptionMaterials{
		Suite:             enc.Suite,
		EncryptionContext: enc.EncryptionContext,
		PlaintextDataKey:  dk,
		VerificationKey:   &sk.PublicKey,
	}
	type embedsDec struct {
		keyring.DecryptionMaterials
		N int
	}
	type embedsDecPtr struct {
		*keyring.DecryptionMaterials
		N int
	}
	decs := containers(dec)
	decs["embedded"] = embedsDec{dec, 7}
	decs["embedded pointer"] = &embedsDecPtr{&dec, 7}
	for name, v := range decs {
		out := requireRedacted(t, "DecryptionMaterials "+name, v, texts, secrets...)
		assert.Contains(t, out, "[REDACTED 32 bytes]", name)
		assert.Contains(t, out, "[ECDSA P-384 public key]", name)
	}

	// The exact forms, and Go syntax that still compiles in spirit.
	assert.Equal(t, `{Suite:{ID:1400 DataKeyLength:32 Signed:true} EncryptionContext:map[tenant:acme] RequiredContextKeys:[] PlaintextDataKey:[REDACTED 32 bytes] VerificationKey:[ECDSA P-384 public key]}`,
		fmt.Sprintf("%+v", dec))
	assert.Equal(t, `keyring.DecryptionMaterials{Suite:keyring.Suite{ID:0x578, DataKeyLength:32, Signed:true}, EncryptionContext:map[string]string{"tenant":"acme"}, RequiredContextKeys:[]string(nil), PlaintextDataKey:[]byte{/* REDACTED 32 bytes */}, VerificationKey:&ecdsa.PublicKey{/* ECDSA P-384 */}}`,
		fmt.Sprintf("%#v", dec))
	assert.Equal(t, fmt.Sprintf("%v", enc), enc.String())
	assert.Equal(t, fmt.Sprintf("%#v", &enc), enc.GoString())

	// Empty and nil materials print without panicking.
	assert.Equal(t, "{{0 0 false} map[] [] <nil> [] <nil>}", fmt.Sprint(keyring.EncryptionMaterials{}))
	assert.Equal(t, "<nil>", fmt.Sprint((*keyring.DecryptionMaterials)(nil)))
}

// TestMaterialsJSONAndSlogRedactKeys checks encoding/json and log/slog
// (JSON and text handlers), which do not go through fmt's verbs.
func TestMaterialsJSONAndSlogRedactKeys(t *testing.T) {
	dk := distinctiveKey(t, 32)
	sk, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	forms := append(secretForms(dk), secretForms(sk.D.Bytes())...)
	forms = append(forms, sk.D.Text(10), sk.D.Text(16), base64.StdEncoding.EncodeToString(sk.D.Bytes()))
	enc := keyring.EncryptionMaterials{
		Suite:             keyring.Suite{ID: 0x0578, DataKeyLength: 32, Signed: true},
		EncryptionContext: map[string]string{"tenant": "acme"},
		PlaintextDataKey:  dk,
		SigningKey:        sk,
	}
	dec := keyring.DecryptionMaterials{Suite: enc.Suite, EncryptionContext: enc.EncryptionContext, PlaintextDataKey: dk, VerificationKey: &sk.PublicKey}
	for name, v := range map[string]any{"encryption": enc, "encryption pointer": &enc, "decryption": dec, "decryption pointer": &dec, "in a map": map[string]any{"m": &enc, "d": dec}} {
		var outs []string
		j, err := json.Marshal(v)
		require.NoError(t, err, name)
		outs = append(outs, string(j))
		for _, h := range []func(io.Writer) slog.Handler{
			func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
			func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		} {
			var buf bytes.Buffer
			slog.New(h(&buf)).Info("materials", "m", v)
			outs = append(outs, buf.String())
		}
		for _, out := range outs {
			assert.Contains(t, out, "REDACTED 32 bytes", name)
			assert.Contains(t, out, "tenant", name, "the context is shown")
			for _, f := range forms {
				if strings.Contains(out, f) {
					t.Errorf("%s leaks %q:\n%s", name, f, out)
					break
				}
			}
		}
	}
}

func TestEncryptionMaterialsZeroDropsKeys(t *testing.T) {
	dk := distinctiveKey(t, 32)
	sk, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	m := keyring.EncryptionMaterials{PlaintextDataKey: dk, SigningKey: sk}
	m.Zero()
	assert.Nil(t, m.PlaintextDataKey)
	assert.Nil(t, m.SigningKey)
	assert.Equal(t, make([]byte, 32), dk, "the data key's bytes are overwritten")
}
