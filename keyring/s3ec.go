package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // RSA-OAEP-SHA1 is the S3 Encryption Client's wrap algorithm
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/internal/s3ecwrap"
)

// The raw keyrings and Multi wrap data keys for the Amazon S3 Encryption
// Client formats too (package s3crypto) through internal/s3ecwrap, which
// keeps the wrapping keys inside this package.
func init() {
	s3ecwrap.Register(func(kr any) (s3ecwrap.Wrapper, bool) {
		switch k := kr.(type) {
		case *RawAES:
			return s3ecAES{k}, true
		case *RawRSA:
			return s3ecRSA{k}, true
		case *Multi:
			return s3ecMulti{k}, true
		}
		return nil, false
	})
}

func s3ecNotMine(alg string) error {
	return fmt.Errorf("%w: %w (wrap algorithm %q)", ErrNotMine, s3ecwrap.ErrNotMine, alg)
}

// s3ecAES is the AES/GCM wrap: EDK = IV ‖ AES-GCM(dataKey) ‖ tag with the
// content-encryption algorithm string as additional data.
type s3ecAES struct{ k *RawAES }

func (w s3ecAES) Alg() string { return s3ecwrap.AlgAESGCM }

func (w s3ecAES) Wrap(ctx context.Context, given []byte, n int, cek string, _ map[string]string) ([]byte, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, w.k.fail(transient(err))
	}
	dk, err := s3ecDataKey(given, n)
	if err != nil {
		return nil, nil, w.k.fail(err)
	}
	iv := make([]byte, aesIVLen, aesIVLen+n+16)
	if _, err := rand.Read(iv); err != nil {
		if given == nil {
			Wipe(dk)
		}
		return nil, nil, w.k.fail(err)
	}
	return dk, w.k.aead.Seal(iv, iv, dk, []byte(cek)), nil
}

func (w s3ecAES) Unwrap(ctx context.Context, alg string, n int, cek string, _ map[string]string, edk []byte) ([]byte, error) {
	if alg != s3ecwrap.AlgAESGCM {
		return nil, w.k.fail(s3ecNotMine(alg))
	}
	if err := ctx.Err(); err != nil {
		return nil, w.k.fail(transient(err))
	}
	if len(edk) != aesIVLen+n+16 {
		return nil, w.k.fail(fmt.Errorf("%w: AES/GCM encrypted data key of %d bytes", ErrNoDecryptionKey, len(edk)))
	}
	dk, err := w.k.aead.Open(nil, edk[:aesIVLen], edk[aesIVLen:], []byte(cek))
	if err != nil {
		return nil, w.k.fail(fmt.Errorf("%w: %w", ErrNoDecryptionKey, errUnwrap))
	}
	return dk, nil
}

// s3ecRSA is the RSA-OAEP-SHA1 wrap of a pseudo data key: one length byte
// ‖ data key ‖ content-encryption algorithm string. Only a RawRSA made
// with OAEPSHA1 padding takes part, so no RSA key is used with two
// paddings.
type s3ecRSA struct{ k *RawRSA }

func (w s3ecRSA) Alg() string {
	if w.k.pub == nil || w.k.padding != OAEPSHA1 {
		return ""
	}
	return s3ecwrap.AlgRSAOAEP
}

func (w s3ecRSA) Wrap(ctx context.Context, given []byte, n int, cek string, _ map[string]string) ([]byte, []byte, error) {
	if w.k.padding != OAEPSHA1 {
		return nil, nil, w.k.fail(fmt.Errorf("%w: the S3 Encryption Client wrap RSA-OAEP-SHA1 needs a RawRSA with OAEPSHA1 padding, this one has %v", ErrInvalidConfig, w.k.padding))
	}
	if w.k.pub == nil {
		return nil, nil, w.k.fail(ErrDecryptOnly)
	}
	if err := checkFIPSPadding(w.k.padding); err != nil {
		return nil, nil, w.k.fail(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, w.k.fail(transient(err))
	}
	if n > 255 {
		return nil, nil, w.k.fail(fmt.Errorf("%w: data key of %d bytes", ErrInvalidMaterials, n))
	}
	dk, err := s3ecDataKey(given, n)
	if err != nil {
		return nil, nil, w.k.fail(err)
	}
	pseudo := make([]byte, 0, 1+n+len(cek))
	pseudo = append(append(append(pseudo, byte(n)), dk...), cek...)
	edk, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, w.k.pub, pseudo, nil)
	Wipe(pseudo)
	if err != nil {
		if given == nil {
			Wipe(dk)
		}
		return nil, nil, w.k.fail(err)
	}
	return dk, edk, nil
}

func (w s3ecRSA) Unwrap(ctx context.Context, alg string, n int, cek string, _ map[string]string, edk []byte) ([]byte, error) {
	if alg != s3ecwrap.AlgRSAOAEP || w.k.padding != OAEPSHA1 || w.k.priv == nil {
		return nil, w.k.fail(s3ecNotMine(alg))
	}
	if err := checkFIPSPadding(w.k.padding); err != nil {
		return nil, w.k.fail(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, w.k.fail(transient(err))
	}
	rsaPrivateOps.Add(1)
	pseudo, err := rsa.DecryptOAEP(sha1.New(), nil, w.k.priv, edk, nil)
	if err != nil {
		return nil, w.k.fail(fmt.Errorf("%w: %w", ErrNoDecryptionKey, errUnwrap))
	}
	defer Wipe(pseudo)
	if len(pseudo) != 1+n+len(cek) || int(pseudo[0]) != n ||
		subtle.ConstantTimeCompare(pseudo[1+n:], []byte(cek)) != 1 {
		return nil, w.k.fail(fmt.Errorf("%w: %w: the wrapped key does not name content algorithm %q", ErrNoDecryptionKey, errUnwrap, cek))
	}
	return bytes.Clone(pseudo[1 : 1+n]), nil
}

// s3ecMulti wraps with the generator (an S3EC object holds one encrypted
// data key, so a multi-keyring with children cannot write one) and
// unwraps with the first keyring that can.
type s3ecMulti struct{ k *Multi }

func (w s3ecMulti) Alg() string {
	if w.k.generator == nil || len(w.k.children) > 0 {
		return ""
	}
	g, ok := s3ecwrap.For(w.k.generator)
	if !ok {
		return ""
	}
	return g.Alg()
}

func (w s3ecMulti) Wrap(ctx context.Context, given []byte, n int, cek string, ec map[string]string) ([]byte, []byte, error) {
	if w.k.generator == nil || len(w.k.children) > 0 {
		return nil, nil, fmt.Errorf("%w: an S3 Encryption Client object holds one encrypted data key: only a multi-keyring with a generator and no children can write one", ErrInvalidConfig)
	}
	g, ok := s3ecwrap.For(w.k.generator)
	if !ok {
		return nil, nil, fmt.Errorf("%w: keyring %T cannot wrap S3 Encryption Client data keys", ErrInvalidConfig, w.k.generator)
	}
	return g.Wrap(ctx, given, n, cek, ec)
}

func (w s3ecMulti) Unwrap(ctx context.Context, alg string, n int, cek string, ec map[string]string, edk []byte) ([]byte, error) {
	keyrings := w.k.children
	if w.k.generator != nil {
		keyrings = append([]Keyring{w.k.generator}, w.k.children...)
	}
	var errs []error
	for _, kr := range keyrings {
		if err := ctx.Err(); err != nil {
			errs = append(errs, transient(err))
			break
		}
		u, ok := s3ecwrap.For(kr)
		if !ok {
			continue
		}
		dk, err := u.Unwrap(ctx, alg, n, cek, ec, edk)
		if err == nil {
			return dk, nil
		}
		if !errors.Is(err, s3ecwrap.ErrNotMine) {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil, s3ecNotMine(alg)
	}
	return nil, UnwrapFailure(errs...)
}

// s3ecDataKey returns given when it is n bytes long, or a new random
// n-byte key when it is nil.
func s3ecDataKey(given []byte, n int) ([]byte, error) {
	if given != nil {
		if len(given) != n {
			return nil, fmt.Errorf("%w: data key is %d bytes, want %d", ErrInvalidMaterials, len(given), n)
		}
		return given, nil
	}
	dk := make([]byte, n)
	if _, err := rand.Read(dk); err != nil {
		return nil, err
	}
	return dk, nil
}
