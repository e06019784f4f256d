package s3crypto

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/s3ecwrap"
	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// s3ecDataKeyLen is the data key length of every S3EC suite.
const s3ecDataKeyLen = 32

// wrapS3EC makes the data key of a new S3EC object of suite with kr (or
// wraps given, an existing one) and returns it with the metadata of its
// wrapping (edk, wrap algorithm, context or material description). user
// is the caller's encryption context; it is bound only by the
// kms+context wrap.
func wrapS3EC(ctx context.Context, kr keyring.Keyring, suite s3ecSuite, user map[string]string, given []byte) ([]byte, *s3ecMeta, error) {
	w, ok := s3ecwrap.For(kr)
	alg := ""
	if ok {
		alg = w.Alg()
	}
	if alg == "" {
		return nil, nil, fmt.Errorf("%w: keyring %T cannot write S3 Encryption Client objects (use an awskms.Keyring, a RawAES, a RawRSA with OAEPSHA1, or a Multi with one such generator and no children)", ErrUnsupported, kr)
	}
	for k := range user {
		// kms_cmk_id is left out of the context a GET checks (the legacy
		// kms wrap keeps the key id there): no GET could expect it.
		if k == kmsReservedKey || k == kmsLegacyKey || strings.HasPrefix(k, ReservedPrefix) {
			return nil, nil, invalid("encryption context key %q is reserved", k)
		}
	}
	cek := s3ecCekString(suite)
	sm := &s3ecMeta{suite: suite, wrapAlg: alg, plainLen: -1, version: 2}
	if suite == s3ecCommit {
		sm.version = 3
	}
	var ec map[string]string
	switch alg {
	case s3ecwrap.AlgKMSContext:
		ec = maps.Clone(user)
		if ec == nil {
			ec = map[string]string{}
		}
		ec[kmsReservedKey] = cek
		sm.desc = ec
	default:
		if len(user) > 0 {
			return nil, nil, invalid("an encryption context is bound only by KMS keyrings in the S3 Encryption Client formats; the %s wrap would store it unauthenticated", alg)
		}
		sm.desc = map[string]string{}
	}
	dk, edk, err := w.Wrap(ctx, given, s3ecDataKeyLen, cek, ec)
	if err != nil {
		return nil, nil, err
	}
	if len(dk) != s3ecDataKeyLen {
		if given == nil {
			keyring.Wipe(dk)
		}
		return nil, nil, fmt.Errorf("%w: keyring returned a %d-byte data key", keyring.ErrInvalidMaterials, len(dk))
	}
	sm.edk = edk
	return dk, sm, nil
}

// checkS3ECPolicy refuses what the commitment policy does not allow to
// be read: V2 GCM objects (not key-committing) under
// RequireEncryptRequireDecrypt, as the official clients do; and the
// legacy, unauthenticated or weaker formats (CBC content, the kms wrap of
// V1) under anything but ForbidEncryptAllowDecrypt, the policy that
// stands for legacy decryption here.
func checkS3ECPolicy(p envelope.CommitmentPolicy, sm *s3ecMeta) error {
	if sm.suite == s3ecCBC || sm.wrapAlg == s3ecwrap.AlgKMS {
		if p != envelope.ForbidEncryptAllowDecrypt {
			return fmt.Errorf("%w: legacy S3 Encryption Client object (content %s, wrap %s) is read only under ForbidEncryptAllowDecrypt", envelope.ErrPolicy, s3ecCekString(sm.suite), sm.wrapAlg)
		}
	}
	if sm.suite == s3ecGCM && p == envelope.RequireEncryptRequireDecrypt {
		return fmt.Errorf("%w: S3 Encryption Client V2 object (AES/GCM without key commitment) under RequireEncryptRequireDecrypt", envelope.ErrPolicy)
	}
	return nil
}

// unwrapS3EC returns the data key of an object described by sm, with kr,
// after checking the policy and, when ctx carries one
// (WithEncryptionContext), the expected encryption context.
func unwrapS3EC(ctx context.Context, kr keyring.Keyring, p envelope.CommitmentPolicy, sm *s3ecMeta) ([]byte, error) {
	if err := checkS3ECPolicy(p, sm); err != nil {
		return nil, err
	}
	cek := s3ecCekString(sm.suite)
	var ec map[string]string
	stored := maps.Clone(sm.desc)
	switch sm.wrapAlg {
	case s3ecwrap.AlgKMSContext:
		if v, ok := sm.desc[kmsReservedKey]; !ok || v != cek {
			return nil, fmt.Errorf("%w: stored encryption context names content algorithm %q, the object is %q", envelope.ErrContext, v, cek)
		}
		ec = sm.desc
		delete(stored, kmsReservedKey)
		delete(stored, kmsLegacyKey)
	case s3ecwrap.AlgKMS:
		ec = sm.desc
		delete(stored, kmsLegacyKey)
	}
	want, given := ctx.Value(ecKey{}).(map[string]string)
	if given && len(want) > 0 && ec == nil {
		// The material description of a raw wrap is not authenticated.
		return nil, fmt.Errorf("%w: an encryption context is bound only by KMS wraps; the %s wrap of this object cannot check one", envelope.ErrContext, sm.wrapAlg)
	}
	if given && !maps.Equal(want, stored) {
		return nil, fmt.Errorf("%w: the encryption context given does not match the one stored with the object", envelope.ErrContext)
	}
	w, ok := s3ecwrap.For(kr)
	if !ok {
		return nil, fmt.Errorf("%w: keyring %T cannot unwrap S3 Encryption Client data keys", envelope.ErrNoDecryptionKey, kr)
	}
	dk, err := w.Unwrap(ctx, sm.wrapAlg, s3ecDataKeyLen, cek, ec, sm.edk)
	if err != nil {
		return nil, err
	}
	if len(dk) != s3ecDataKeyLen {
		keyring.Wipe(dk)
		return nil, fmt.Errorf("%w: keyring returned a %d-byte data key", envelope.ErrNoDecryptionKey, len(dk))
	}
	return dk, nil
}

// s3ecContentOf unwraps the data key of sm and prepares the decryption of
// the object's content.
func (c *Client) s3ecContentOf(ctx context.Context, sm *s3ecMeta) (*s3ecContent, error) {
	dk, err := unwrapS3EC(ctx, c.kr, c.cfg.policy, sm)
	if err != nil {
		return nil, err
	}
	defer keyring.Wipe(dk)
	return openS3ECContent(sm.suite, dk, sm.iv, sm.commitment)
}
