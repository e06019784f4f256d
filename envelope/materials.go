package envelope

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// encryptionMaterials does the work of the default materials manager on
// encrypt: checks the context, chooses the suite, makes the signing key and
// asks the keyring (or the cache) for a data key.
func encryptionMaterials(ctx context.Context, kr keyring.Keyring, c *config) (*suite, *keyring.EncryptionMaterials, error) {
	if kr == nil {
		return nil, nil, fmt.Errorf("%w: nil keyring", ErrInvalidOption)
	}
	if err := keyring.ValidateContext(c.ec); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrContext, err)
	}
	for _, k := range c.requiredKeys {
		if _, ok := c.ec[k]; !ok {
			return nil, nil, fmt.Errorf("%w: required key %q is not in the encryption context", ErrContext, k)
		}
	}
	id := c.suite
	if id == 0 {
		id = c.policy.defaultSuite()
	}
	s, _ := lookupSuite(id)
	if !c.policy.allowsEncrypt(s) {
		return nil, nil, fmt.Errorf("%w: commitment policy %v does not allow encrypting with %v", ErrPolicy, c.policy, id)
	}
	load := func(ctx context.Context) (*keyring.EncryptionMaterials, error) {
		m := &keyring.EncryptionMaterials{
			Suite:               s.descriptor(),
			EncryptionContext:   maps.Clone(c.ec),
			RequiredContextKeys: slices.Clone(c.requiredKeys),
		}
		if m.EncryptionContext == nil {
			m.EncryptionContext = map[string]string{}
		}
		if s.signed() {
			priv, err := ecdsa.GenerateKey(s.curve, rand.Reader)
			if err != nil {
				return nil, err
			}
			m.SigningKey = priv
			m.EncryptionContext[keyring.PublicKeyContextKey] = base64.StdEncoding.EncodeToString(
				elliptic.MarshalCompressed(s.curve, priv.X, priv.Y)) //nolint:staticcheck // SEC1 compressed point is the wire format
		}
		if err := kr.OnEncrypt(ctx, m); err != nil {
			m.Zero()
			return nil, err
		}
		if len(m.PlaintextDataKey) != s.keyLen {
			m.Zero()
			return nil, fmt.Errorf("%w: keyring produced a %d-byte data key, suite %v needs %d", keyring.ErrInvalidMaterials, len(m.PlaintextDataKey), id, s.keyLen)
		}
		if len(m.EncryptedDataKeys) == 0 {
			m.Zero()
			return nil, fmt.Errorf("%w: keyring produced no encrypted data key", keyring.ErrInvalidMaterials)
		}
		return m, nil
	}
	var m *keyring.EncryptionMaterials
	var err error
	if c.cache != nil && s.kdf != kdfIdentity && c.plaintextLen >= 0 {
		m, err = lookups(c.cache).Encryption(ctx, kr, s.descriptor(), c.ec, c.plaintextLen, load)
		if m != nil {
			m.RequiredContextKeys = slices.Clone(c.requiredKeys)
		}
	} else {
		m, err = load(ctx)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: getting a data key: %w", err)
	}
	// What the keyring (or cache) returned must make a message that the
	// default decoder accepts; anything else would be data loss.
	if err := checkEncryptedDataKeys(m.EncryptedDataKeys, c.maxEDKs); err != nil {
		m.Zero()
		return nil, nil, err
	}
	return s, m, nil
}

// checkEncryptedDataKeys checks the encrypted data keys of encryption
// materials against what parseHeader accepts: at most max (and 65535)
// keys, fields of at most 65535 bytes, UTF-8 provider IDs. The whole
// header is checked against DefaultMaxHeaderSize once it is serialized.
func checkEncryptedDataKeys(edks []keyring.EncryptedDataKey, max int) error {
	if n := len(edks); n > 0xffff {
		return fmt.Errorf("%w: keyring produced %d encrypted data keys, more than the format's 65535", keyring.ErrInvalidMaterials, n)
	} else if n > max {
		return limitErr("%d encrypted data keys exceed the maximum of %d", n, max)
	}
	for i, e := range edks {
		field := ""
		switch {
		case len(e.ProviderID) > 0xffff:
			field = "provider ID"
		case len(e.ProviderInfo) > 0xffff:
			field = "provider info"
		case len(e.Ciphertext) > 0xffff:
			field = "ciphertext"
		}
		if field != "" {
			return fmt.Errorf("%w: encrypted data key %d: %s longer than 65535 bytes", keyring.ErrInvalidMaterials, i, field)
		}
		if !utf8.ValidString(e.ProviderID) {
			return fmt.Errorf("%w: encrypted data key %d: provider ID is not valid UTF-8", keyring.ErrInvalidMaterials, i)
		}
	}
	return nil
}

// splitContext returns the context stored in the header and the
// serialized required pairs authenticated beside it.
func splitContext(ec map[string]string, required []string) (stored, requiredEC []byte, err error) {
	if len(required) == 0 {
		stored, err = keyring.SerializeContext(ec)
		return stored, nil, err
	}
	storedMap := maps.Clone(ec)
	reqMap := map[string]string{}
	for _, k := range required {
		if v, ok := ec[k]; ok {
			reqMap[k] = v
			delete(storedMap, k)
		}
	}
	if stored, err = keyring.SerializeContext(storedMap); err != nil {
		return nil, nil, err
	}
	requiredEC, err = keyring.SerializeContext(reqMap)
	return stored, requiredEC, err
}

// decryptionMaterials does the work of the default materials manager on
// decrypt: merges the reproduced context, checks the verification key and
// asks the keyring (or the cache) for the data key, within a budget of
// c.maxUnwrap failed unwrap attempts. A keyring's error comes back in
// exactly one category (keyringErr).
func decryptionMaterials(ctx context.Context, kr keyring.Keyring, c *config, s *suite, h *Header) (*keyring.DecryptionMaterials, error) {
	if err := contextErr(ctx); err != nil {
		return nil, err
	}
	ec := h.Context // cloned before the first key is added; never modified otherwise
	var required []string
	for k, v := range c.ec {
		if stored, ok := h.Context[k]; ok {
			if stored != v {
				return nil, fmt.Errorf("%w: reproduced value for key %q differs from the message", ErrContext, k)
			}
			continue
		}
		if len(required) == 0 {
			ec = maps.Clone(h.Context)
		}
		ec[k] = v
		required = append(required, k)
	}
	slices.Sort(required)
	for _, k := range c.requiredKeys {
		if _, ok := c.ec[k]; !ok {
			return nil, fmt.Errorf("%w: required key %q is not in the reproduced context", ErrContext, k)
		}
	}
	m := &keyring.DecryptionMaterials{Suite: s.descriptor(), EncryptionContext: ec, RequiredContextKeys: required}
	pub, hasPub := h.Context[keyring.PublicKeyContextKey]
	switch {
	case s.signed() && !hasPub:
		return nil, formatErr("signed suite %v without %s", s.id, keyring.PublicKeyContextKey)
	case !s.signed() && hasPub:
		return nil, formatErr("unsigned suite %v with %s", s.id, keyring.PublicKeyContextKey)
	case s.signed():
		vk, err := parsePublicKey(s, pub)
		if err != nil {
			return nil, err
		}
		m.VerificationKey = vk
	}
	// Nested in any budget the caller set on ctx, which still applies: a
	// caller may bound a whole request's failed attempts with one.
	ctx = keyring.WithUnwrapBudget(ctx, c.maxUnwrap)
	if c.cache != nil && s.kdf != kdfIdentity {
		cached, err := lookups(c.cache).Decryption(ctx, kr, s.descriptor(), h.EncryptedDataKeys, ec, func(ctx context.Context) (*keyring.DecryptionMaterials, error) {
			return unwrap(ctx, kr, m, h.EncryptedDataKeys)
		})
		if err != nil {
			return nil, keyringErr(err)
		}
		cached.VerificationKey = m.VerificationKey
		cached.RequiredContextKeys = required
		return cached, nil
	}
	out, err := unwrap(ctx, kr, m, h.EncryptedDataKeys)
	if err != nil {
		return nil, keyringErr(err)
	}
	return out, nil
}

func unwrap(ctx context.Context, kr keyring.Keyring, m *keyring.DecryptionMaterials, edks []keyring.EncryptedDataKey) (*keyring.DecryptionMaterials, error) {
	out := *m
	out.EncryptionContext = maps.Clone(m.EncryptionContext)
	if err := kr.OnDecrypt(ctx, &out, edks); err != nil {
		out.Zero()
		return nil, err
	}
	if len(out.PlaintextDataKey) != out.Suite.DataKeyLength {
		out.Zero()
		return nil, fmt.Errorf("%w: keyring produced a %d-byte data key, want %d", keyring.ErrNoDecryptionKey, len(out.PlaintextDataKey), out.Suite.DataKeyLength)
	}
	return &out, nil
}

func parsePublicKey(s *suite, b64 string) (*ecdsa.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, formatErr("%s is not base64", keyring.PublicKeyContextKey)
	}
	x, y := elliptic.UnmarshalCompressed(s.curve, raw) //nolint:staticcheck // SEC1 compressed point is the wire format
	if x == nil {
		return nil, formatErr("%s is not a compressed %s point", keyring.PublicKeyContextKey, s.curve.Params().Name)
	}
	return &ecdsa.PublicKey{Curve: s.curve, X: x, Y: y}, nil
}
