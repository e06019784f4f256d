package s3crypto

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func rawAES(t *testing.T) (*keyring.RawAES, []byte) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := keyring.NewRawAES("ns", "name", key)
	if err != nil {
		t.Fatal(err)
	}
	return kr, key
}

var rsaKey *rsa.PrivateKey

func rawRSA(t *testing.T, p keyring.RSAPadding) (*keyring.RawRSA, *rsa.PrivateKey) {
	t.Helper()
	if rsaKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		rsaKey = k
	}
	kr, err := keyring.NewRawRSA("ns", "rsa", &rsaKey.PublicKey, rsaKey, p)
	if err != nil {
		t.Fatal(err)
	}
	return kr, rsaKey
}

// TestS3ECWrapAES checks the AES/GCM wrap byte for byte: IV ‖ AES-GCM(key)
// ‖ tag with the content algorithm string as additional data.
func TestS3ECWrapAES(t *testing.T) {
	ctx := context.Background()
	kr, key := rawAES(t)
	for _, suite := range []s3ecSuite{s3ecCommit, s3ecGCM} {
		dk, sm, err := wrapS3EC(ctx, kr, suite, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sm.wrapAlg != "AES/GCM" || len(sm.edk) != 12+32+16 || len(sm.desc) != 0 {
			t.Fatalf("%+v", sm)
		}
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		got, err := aead.Open(nil, sm.edk[:12], sm.edk[12:], []byte(s3ecCekString(suite)))
		if err != nil || string(got) != string(dk) {
			t.Fatalf("independent unwrap: %v", err)
		}
		p := envelope.ForbidEncryptAllowDecrypt
		back, err := unwrapS3EC(ctx, kr, p, sm)
		if err != nil || string(back) != string(dk) {
			t.Fatalf("unwrap: %v", err)
		}
		// The content algorithm is bound: the same EDK under the other suite fails.
		other := *sm
		other.suite = s3ecGCM + s3ecCommit - suite
		if _, err := unwrapS3EC(ctx, kr, p, &other); !errors.Is(err, envelope.ErrNoDecryptionKey) {
			t.Fatalf("cek swap: %v", err)
		}
		wrong, _ := rawAES(t)
		if _, err := unwrapS3EC(ctx, wrong, p, sm); !errors.Is(err, envelope.ErrNoDecryptionKey) {
			t.Fatalf("wrong key: %v", err)
		}
		if _, err := unwrapS3EC(WithEncryptionContext(ctx, map[string]string{"a": "b"}), kr, p, sm); !errors.Is(err, envelope.ErrContext) {
			t.Fatalf("expected context on a raw wrap: %v", err)
		}
	}
	if _, _, err := wrapS3EC(ctx, kr, s3ecCommit, map[string]string{"a": "b"}, nil); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("context with a raw wrap: %v", err)
	}
}

// TestS3ECWrapRSA checks the RSA-OAEP-SHA1 pseudo data key.
func TestS3ECWrapRSA(t *testing.T) {
	if fips140.Enabled() {
		t.Skip("RSA-OAEP-SHA1 is refused in FIPS 140-3 mode (TestS3ECRSARefusedInFIPS checks the refusal)")
	}
	ctx := context.Background()
	kr, priv := rawRSA(t, keyring.OAEPSHA1)
	dk, sm, err := wrapS3EC(ctx, kr, s3ecCommit, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pseudo, err := rsa.DecryptOAEP(sha1.New(), nil, priv, sm.edk, nil)
	if err != nil || pseudo[0] != 32 || string(pseudo[1:33]) != string(dk) || string(pseudo[33:]) != "115" {
		t.Fatalf("pseudo data key %x: %v", pseudo, err)
	}
	if back, err := unwrapS3EC(ctx, kr, envelope.RequireEncryptRequireDecrypt, sm); err != nil || string(back) != string(dk) {
		t.Fatalf("unwrap: %v", err)
	}
	// A pseudo key naming another content algorithm is refused.
	forged, _ := rsa.EncryptOAEP(sha1.New(), rand.Reader, &priv.PublicKey, append(append([]byte{32}, dk...), "AES/GCM/NoPadding"...), nil)
	f := *sm
	f.edk = forged
	if _, err := unwrapS3EC(ctx, kr, envelope.RequireEncryptRequireDecrypt, &f); !errors.Is(err, envelope.ErrNoDecryptionKey) {
		t.Fatalf("cek mismatch: %v", err)
	}
	sha256kr, _ := rawRSA(t, keyring.OAEPSHA256)
	if _, _, err := wrapS3EC(ctx, sha256kr, s3ecCommit, nil, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("OAEP-SHA256 keyring: %v", err)
	}
	if _, err := unwrapS3EC(ctx, sha256kr, envelope.RequireEncryptRequireDecrypt, sm); !errors.Is(err, envelope.ErrNoDecryptionKey) {
		t.Fatalf("OAEP-SHA256 keyring unwrap: %v", err)
	}
}

// recordingKMS records the requests of an awskms.Client.
type recordingKMS struct {
	awskms.Client
	gen []*kms.GenerateDataKeyInput
	dec []*kms.DecryptInput
}

func (r *recordingKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, o ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	r.gen = append(r.gen, in)
	return r.Client.GenerateDataKey(ctx, in, o...)
}

func (r *recordingKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, o ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	r.dec = append(r.dec, in)
	return r.Client.Decrypt(ctx, in, o...)
}

func TestS3ECWrapKMS(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.NewServer()
	defer srv.Close()
	arn, _ := srv.CreateKey()
	arn2, _ := srv.CreateKey()
	rec := &recordingKMS{Client: srv.Client()}
	kr, _ := awskms.NewKeyring(rec, arn)
	user := map[string]string{"project": "demo"}
	dk, sm, err := wrapS3EC(ctx, kr, s3ecCommit, user, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.gen) != 1 || rec.gen[0].EncryptionContext[kmsReservedKey] != "115" || rec.gen[0].EncryptionContext["project"] != "demo" {
		t.Fatalf("GenerateDataKey %+v", rec.gen)
	}
	if sm.wrapAlg != "kms+context" || sm.desc[kmsReservedKey] != "115" {
		t.Fatalf("%+v", sm)
	}
	p := envelope.RequireEncryptRequireDecrypt
	back, err := unwrapS3EC(WithEncryptionContext(ctx, user), kr, p, sm)
	if err != nil || string(back) != string(dk) {
		t.Fatalf("strict unwrap: %v", err)
	}
	if got := aws.ToString(rec.dec[0].KeyId); got != arn {
		t.Fatalf("strict Decrypt KeyId %q", got)
	}
	// Expected context: equal to the stored one without the reserved key.
	for _, want := range []map[string]string{{}, {"project": "other"}, {"project": "demo", "x": "y"}} {
		if _, err := unwrapS3EC(WithEncryptionContext(ctx, want), kr, p, sm); !errors.Is(err, envelope.ErrContext) {
			t.Fatalf("expected %v: %v", want, err)
		}
	}
	// A stored context naming another content algorithm.
	bad := *sm
	bad.desc = map[string]string{kmsReservedKey: "AES/GCM/NoPadding", "project": "demo"}
	if _, err := unwrapS3EC(ctx, kr, p, &bad); !errors.Is(err, envelope.ErrContext) {
		t.Fatalf("reserved key mismatch: %v", err)
	}
	// Another key's keyring.
	other, _ := awskms.NewKeyring(srv.Client(), arn2)
	if _, err := unwrapS3EC(ctx, other, p, sm); !errors.Is(err, envelope.ErrNoDecryptionKey) {
		t.Fatalf("other key: %v", err)
	}
	// Discovery: no KeyId sent, filter applied to the answer.
	disc, _ := awskms.NewDiscoveryKeyring(rec, awskms.WithDiscoveryFilter("aws", "123456789012", "111122223333"))
	n := len(rec.dec)
	if back, err := unwrapS3EC(ctx, disc, p, sm); err != nil || string(back) != string(dk) {
		t.Fatalf("discovery: %v", err)
	}
	if rec.dec[n].KeyId != nil {
		t.Fatalf("discovery sent KeyId %q", *rec.dec[n].KeyId)
	}
	outside, _ := awskms.NewDiscoveryKeyring(srv.Client(), awskms.WithDiscoveryFilter("aws", "999999999999"))
	if _, err := unwrapS3EC(ctx, outside, p, sm); !errors.Is(err, envelope.ErrNoDecryptionKey) {
		t.Fatalf("filtered out: %v", err)
	}
	// A multi-keyring finds the keyring that unwraps.
	multi, _ := keyring.NewMulti(other, disc)
	if back, err := unwrapS3EC(ctx, multi, p, sm); err != nil || string(back) != string(dk) {
		t.Fatalf("multi: %v", err)
	}
	if _, _, err := wrapS3EC(ctx, multi, s3ecCommit, nil, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("multi with children wraps: %v", err)
	}
	if _, _, err := wrapS3EC(ctx, kr, s3ecCommit, map[string]string{kmsReservedKey: "x"}, nil); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("reserved key in the context: %v", err)
	}
	if _, _, err := wrapS3EC(ctx, disc, s3ecCommit, nil, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("discovery wraps: %v", err)
	}
	// Re-wrapping a given data key (Rewrap) calls Encrypt and keeps the key.
	dk2, sm2, err := wrapS3EC(ctx, other, s3ecCommit, nil, dk)
	if err != nil || string(dk2) != string(dk) {
		t.Fatalf("rewrap: %v", err)
	}
	if back, err := unwrapS3EC(ctx, other, p, sm2); err != nil || string(back) != string(dk) {
		t.Fatalf("unwrap of the rewrapped key: %v", err)
	}
}

func TestS3ECPolicy(t *testing.T) {
	gcm := &s3ecMeta{suite: s3ecGCM, wrapAlg: "kms+context"}
	legacy := &s3ecMeta{suite: s3ecGCM, wrapAlg: "kms"}
	cbc := &s3ecMeta{suite: s3ecCBC, wrapAlg: "kms+context"}
	v3 := &s3ecMeta{suite: s3ecCommit, wrapAlg: "kms+context"}
	for _, tc := range []struct {
		p     envelope.CommitmentPolicy
		sm    *s3ecMeta
		allow bool
	}{
		{envelope.RequireEncryptRequireDecrypt, v3, true},
		{envelope.RequireEncryptRequireDecrypt, gcm, false},
		{envelope.RequireEncryptAllowDecrypt, gcm, true},
		{envelope.ForbidEncryptAllowDecrypt, gcm, true},
		{envelope.RequireEncryptAllowDecrypt, legacy, false},
		{envelope.ForbidEncryptAllowDecrypt, legacy, true},
		{envelope.RequireEncryptAllowDecrypt, cbc, false},
		{envelope.ForbidEncryptAllowDecrypt, cbc, true},
	} {
		err := checkS3ECPolicy(tc.p, tc.sm)
		if (err == nil) != tc.allow || (err != nil && !errors.Is(err, envelope.ErrPolicy)) {
			t.Errorf("%v %+v: %v", tc.p, tc.sm, err)
		}
	}
}
