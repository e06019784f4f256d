package keyring

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// Materials print without their secrets. EncryptionMaterials and
// DecryptionMaterials implement fmt.Formatter, fmt.Stringer and
// fmt.GoStringer: every verb (%v, %+v, %#v, %s, %q, %x, %d, ...) prints the
// suite, context, required keys, encrypted data keys and the curve of the
// signing or verification key, and replaces the plaintext data key by
// "[REDACTED n bytes]" and the signing key by "[REDACTED ECDSA P-384 private
// key]". This holds for materials printed directly, through a pointer, in
// a slice or map, or in an exported struct field. fmt reads unexported
// struct fields by reflection without calling any method, so a struct that
// holds materials by value in an unexported field prints their key: hold
// materials by pointer.
//
// The same goes for encoding/json (MarshalJSON) and log/slog (LogValue):
// both show every field but the secrets, which appear as the same
// "[REDACTED ...]" strings.

// Format implements fmt.Formatter with the data key and signing key
// redacted; %#v prints Go syntax (see GoString), every other verb the
// fields as %v (or %+v) would.
func (m EncryptionMaterials) Format(f fmt.State, verb rune) { format(f, verb, m) }

// String describes m as %v does, with the data key and signing key
// redacted.
func (m EncryptionMaterials) String() string { return m.describe(false) }

// GoString describes m in Go syntax, with the data key and signing key
// redacted.
func (m EncryptionMaterials) GoString() string {
	var b strings.Builder
	fmt.Fprintf(&b, "keyring.EncryptionMaterials{Suite:%#v, EncryptionContext:%#v, RequiredContextKeys:%#v, PlaintextDataKey:%s, EncryptedDataKeys:%#v, SigningKey:%s}",
		m.Suite, m.EncryptionContext, m.RequiredContextKeys, goRedactedKey(m.PlaintextDataKey), m.EncryptedDataKeys, goRedactedSigner(m.SigningKey))
	return b.String()
}

func (m EncryptionMaterials) describe(plus bool) string {
	var b strings.Builder
	if plus {
		fmt.Fprintf(&b, "{Suite:%+v EncryptionContext:%+v RequiredContextKeys:%+v PlaintextDataKey:%s EncryptedDataKeys:%v SigningKey:%s}",
			m.Suite, m.EncryptionContext, m.RequiredContextKeys, redactedKey(m.PlaintextDataKey), m.EncryptedDataKeys, redactedSigner(m.SigningKey))
	} else {
		fmt.Fprintf(&b, "{%v %v %v %s %v %s}",
			m.Suite, m.EncryptionContext, m.RequiredContextKeys, redactedKey(m.PlaintextDataKey), m.EncryptedDataKeys, redactedSigner(m.SigningKey))
	}
	return b.String()
}

// Format implements fmt.Formatter with the data key redacted; %#v prints
// Go syntax (see GoString), every other verb the fields as %v (or %+v)
// would.
func (m DecryptionMaterials) Format(f fmt.State, verb rune) { format(f, verb, m) }

// String describes m as %v does, with the data key redacted.
func (m DecryptionMaterials) String() string { return m.describe(false) }

// GoString describes m in Go syntax, with the data key redacted.
func (m DecryptionMaterials) GoString() string {
	return fmt.Sprintf("keyring.DecryptionMaterials{Suite:%#v, EncryptionContext:%#v, RequiredContextKeys:%#v, PlaintextDataKey:%s, VerificationKey:%s}",
		m.Suite, m.EncryptionContext, m.RequiredContextKeys, goRedactedKey(m.PlaintextDataKey), goVerifier(m.VerificationKey))
}

func (m DecryptionMaterials) describe(plus bool) string {
	if plus {
		return fmt.Sprintf("{Suite:%+v EncryptionContext:%+v RequiredContextKeys:%+v PlaintextDataKey:%s VerificationKey:%s}",
			m.Suite, m.EncryptionContext, m.RequiredContextKeys, redactedKey(m.PlaintextDataKey), verifier(m.VerificationKey))
	}
	return fmt.Sprintf("{%v %v %v %s %s}",
		m.Suite, m.EncryptionContext, m.RequiredContextKeys, redactedKey(m.PlaintextDataKey), verifier(m.VerificationKey))
}

type describer interface {
	describe(plus bool) string
	GoString() string
}

func format(f fmt.State, verb rune, m describer) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, m.GoString())
		return
	}
	io.WriteString(f, m.describe(f.Flag('+')))
}

func redactedKey(k []byte) string {
	if k == nil {
		return "<nil>"
	}
	return "[REDACTED " + strconv.Itoa(len(k)) + " bytes]"
}

func goRedactedKey(k []byte) string {
	if k == nil {
		return "[]byte(nil)"
	}
	return "[]byte{/* REDACTED " + strconv.Itoa(len(k)) + " bytes */}"
}

func curveName(pub *ecdsa.PublicKey) string {
	if pub == nil || pub.Curve == nil {
		return "ECDSA"
	}
	return "ECDSA " + pub.Curve.Params().Name
}

func redactedSigner(k *ecdsa.PrivateKey) string {
	if k == nil {
		return "<nil>"
	}
	return "[REDACTED " + curveName(&k.PublicKey) + " private key]"
}

func goRedactedSigner(k *ecdsa.PrivateKey) string {
	if k == nil {
		return "(*ecdsa.PrivateKey)(nil)"
	}
	return "&ecdsa.PrivateKey{/* REDACTED " + curveName(&k.PublicKey) + " */}"
}

func verifier(k *ecdsa.PublicKey) string {
	if k == nil {
		return "<nil>"
	}
	return "[" + curveName(k) + " public key]"
}

func goVerifier(k *ecdsa.PublicKey) string {
	if k == nil {
		return "(*ecdsa.PublicKey)(nil)"
	}
	return "&ecdsa.PublicKey{/* " + curveName(k) + " */}"
}

// encryptionJSON is what EncryptionMaterials marshal to: the secrets
// replaced by descriptions.
type encryptionJSON struct {
	Suite               Suite
	EncryptionContext   map[string]string
	RequiredContextKeys []string
	PlaintextDataKey    string
	EncryptedDataKeys   []EncryptedDataKey
	SigningKey          string
}

// MarshalJSON implements json.Marshaler with the data key and signing key
// redacted.
func (m EncryptionMaterials) MarshalJSON() ([]byte, error) {
	return json.Marshal(encryptionJSON{
		Suite:               m.Suite,
		EncryptionContext:   m.EncryptionContext,
		RequiredContextKeys: m.RequiredContextKeys,
		PlaintextDataKey:    redactedKey(m.PlaintextDataKey),
		EncryptedDataKeys:   m.EncryptedDataKeys,
		SigningKey:          redactedSigner(m.SigningKey),
	})
}

// LogValue implements slog.LogValuer with the data key and signing key
// redacted.
func (m EncryptionMaterials) LogValue() slog.Value { return slog.StringValue(m.describe(true)) }

// decryptionJSON is what DecryptionMaterials marshal to: the data key
// replaced by a description.
type decryptionJSON struct {
	Suite               Suite
	EncryptionContext   map[string]string
	RequiredContextKeys []string
	PlaintextDataKey    string
	VerificationKey     string
}

// MarshalJSON implements json.Marshaler with the data key redacted.
func (m DecryptionMaterials) MarshalJSON() ([]byte, error) {
	return json.Marshal(decryptionJSON{
		Suite:               m.Suite,
		EncryptionContext:   m.EncryptionContext,
		RequiredContextKeys: m.RequiredContextKeys,
		PlaintextDataKey:    redactedKey(m.PlaintextDataKey),
		VerificationKey:     verifier(m.VerificationKey),
	})
}

// LogValue implements slog.LogValuer with the data key redacted.
func (m DecryptionMaterials) LogValue() slog.Value { return slog.StringValue(m.describe(true)) }
