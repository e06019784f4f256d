package keyring_test

import (
	"context"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/internal/s3ecwrap"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// TestS3ECWrappers: the raw keyrings and Multi register S3EC wrappers;
// each unwraps only its own algorithm, and a given data key is wrapped as
// is.
func TestS3ECWrappers(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, 32)
	rand.Read(key)
	aes, _ := keyring.NewRawAES("ns", "n", key)
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	krs := []keyring.Keyring{aes}
	rsaKR, err := keyring.NewRawRSA("ns", "r", &priv.PublicKey, priv, keyring.OAEPSHA1)
	if fips140.Enabled() {
		// RSA-OAEP-SHA1 is refused in FIPS 140-3 mode, so no S3EC wrap uses it.
		if !errors.Is(err, keyring.ErrNotApproved) {
			t.Fatalf("OAEP-SHA1 keyring in FIPS mode: %v", err)
		}
	} else {
		krs = append(krs, rsaKR)
	}
	for _, kr := range krs {
		w, ok := s3ecwrap.For(kr)
		if !ok || w.Alg() == "" {
			t.Fatalf("%T: no wrapper", kr)
		}
		given := make([]byte, 32)
		rand.Read(given)
		dk, edk, err := w.Wrap(ctx, given, 32, "115", nil)
		if err != nil || &dk[0] != &given[0] {
			t.Fatalf("%T: wrap of a given key: %v", kr, err)
		}
		back, err := w.Unwrap(ctx, w.Alg(), 32, "115", nil, edk)
		if err != nil || string(back) != string(given) {
			t.Fatalf("%T: unwrap: %v", kr, err)
		}
		if _, err := w.Unwrap(ctx, "kms+context", 32, "115", nil, edk); !errors.Is(err, keyring.ErrNoDecryptionKey) || !errors.Is(err, s3ecwrap.ErrNotMine) {
			t.Fatalf("%T: other algorithm: %v", kr, err)
		}
		if _, _, err := w.Wrap(ctx, make([]byte, 31), 32, "115", nil); !errors.Is(err, keyring.ErrInvalidMaterials) {
			t.Fatalf("%T: short given key: %v", kr, err)
		}
	}
	// A Multi unwraps with whichever child can (in FIPS mode, a second AES
	// keyring stands in for the RSA one).
	var second keyring.Keyring = rsaKR
	alg := "RSA-OAEP-SHA1"
	if fips140.Enabled() {
		key2 := make([]byte, 32)
		rand.Read(key2)
		second, _ = keyring.NewRawAES("ns", "n2", key2)
		alg = "AES/GCM"
	}
	m, _ := keyring.NewMulti(nil, aes, second)
	w, _ := s3ecwrap.For(m)
	rw, _ := s3ecwrap.For(second)
	dk, edk, _ := rw.Wrap(ctx, nil, 32, "AES/GCM/NoPadding", nil)
	if back, err := w.Unwrap(ctx, alg, 32, "AES/GCM/NoPadding", nil, edk); err != nil || string(back) != string(dk) {
		t.Fatalf("multi: %v", err)
	}
	if _, err := w.Unwrap(ctx, alg, 32, "115", nil, edk); !errors.Is(err, keyring.ErrNoDecryptionKey) {
		t.Fatalf("multi, wrong cek: %v", err)
	}
	if w.Alg() != "" {
		t.Fatal("a multi-keyring without generator writes")
	}
	if _, ok := s3ecwrap.For(struct{ keyring.Keyring }{aes}); ok {
		t.Fatal("an unknown keyring type has a wrapper")
	}
}
