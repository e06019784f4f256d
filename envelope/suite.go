package envelope

import (
	"crypto"
	"crypto/elliptic"
	"fmt"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// SuiteID is the two-byte wire identifier of an algorithm suite.
type SuiteID uint16

// The algorithm suites of the message format. All use AES-GCM with a
// 12-byte IV and a 16-byte tag.
const (
	// AES128GCMNoKDF and its siblings use the data key directly. They are
	// read for backward compatibility; do not use them for new messages.
	AES128GCMNoKDF SuiteID = 0x0014
	AES192GCMNoKDF SuiteID = 0x0046
	AES256GCMNoKDF SuiteID = 0x0078
	// AES128GCMHKDFSHA256 and its siblings derive a per-message key with
	// HKDF but neither sign nor commit to the key.
	AES128GCMHKDFSHA256 SuiteID = 0x0114
	AES192GCMHKDFSHA256 SuiteID = 0x0146
	AES256GCMHKDFSHA256 SuiteID = 0x0178
	// AES128GCMHKDFSHA256ECDSAP256 and its siblings add an ECDSA signature.
	AES128GCMHKDFSHA256ECDSAP256 SuiteID = 0x0214
	AES192GCMHKDFSHA384ECDSAP384 SuiteID = 0x0346
	AES256GCMHKDFSHA384ECDSAP384 SuiteID = 0x0378
	// AES256GCMHKDFSHA512CommitKey commits to the data key (message format
	// version 2). Use it when every reader is as trusted as every writer.
	AES256GCMHKDFSHA512CommitKey SuiteID = 0x0478
	// AES256GCMHKDFSHA512CommitKeyECDSAP384 commits to the data key and
	// signs the message. It is the default.
	AES256GCMHKDFSHA512CommitKeyECDSAP384 SuiteID = 0x0578
)

type kdfKind uint8

const (
	kdfIdentity kdfKind = iota
	kdfHKDF             // v1: HKDF(hash, no salt, info = suite id ‖ message id)
	kdfCommit           // v2: HKDF-SHA512 with the message id as salt, plus a commitment key
)

// suite holds everything the format needs to know about a SuiteID.
type suite struct {
	id      SuiteID
	name    string
	version byte // message format version
	keyLen  int
	kdf     kdfKind
	kdfHash crypto.Hash
	curve   elliptic.Curve // nil when unsigned
	sigHash crypto.Hash
}

func (s *suite) signed() bool     { return s.curve != nil }
func (s *suite) committing() bool { return s.kdf == kdfCommit }

// messageIDLen is 16 bytes in format version 1 and 32 in version 2.
func (s *suite) messageIDLen() int {
	if s.version == 2 {
		return 32
	}
	return 16
}

func (s *suite) descriptor() keyring.Suite {
	return keyring.Suite{ID: uint16(s.id), DataKeyLength: s.keyLen, Signed: s.signed()}
}

var suites = map[SuiteID]*suite{
	AES128GCMNoKDF:                        {AES128GCMNoKDF, "AES_128_GCM_IV12_TAG16_NO_KDF", 1, 16, kdfIdentity, 0, nil, 0},
	AES192GCMNoKDF:                        {AES192GCMNoKDF, "AES_192_GCM_IV12_TAG16_NO_KDF", 1, 24, kdfIdentity, 0, nil, 0},
	AES256GCMNoKDF:                        {AES256GCMNoKDF, "AES_256_GCM_IV12_TAG16_NO_KDF", 1, 32, kdfIdentity, 0, nil, 0},
	AES128GCMHKDFSHA256:                   {AES128GCMHKDFSHA256, "AES_128_GCM_IV12_TAG16_HKDF_SHA256", 1, 16, kdfHKDF, crypto.SHA256, nil, 0},
	AES192GCMHKDFSHA256:                   {AES192GCMHKDFSHA256, "AES_192_GCM_IV12_TAG16_HKDF_SHA256", 1, 24, kdfHKDF, crypto.SHA256, nil, 0},
	AES256GCMHKDFSHA256:                   {AES256GCMHKDFSHA256, "AES_256_GCM_IV12_TAG16_HKDF_SHA256", 1, 32, kdfHKDF, crypto.SHA256, nil, 0},
	AES128GCMHKDFSHA256ECDSAP256:          {AES128GCMHKDFSHA256ECDSAP256, "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256", 1, 16, kdfHKDF, crypto.SHA256, elliptic.P256(), crypto.SHA256},
	AES192GCMHKDFSHA384ECDSAP384:          {AES192GCMHKDFSHA384ECDSAP384, "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 1, 24, kdfHKDF, crypto.SHA384, elliptic.P384(), crypto.SHA384},
	AES256GCMHKDFSHA384ECDSAP384:          {AES256GCMHKDFSHA384ECDSAP384, "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 1, 32, kdfHKDF, crypto.SHA384, elliptic.P384(), crypto.SHA384},
	AES256GCMHKDFSHA512CommitKey:          {AES256GCMHKDFSHA512CommitKey, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", 2, 32, kdfCommit, crypto.SHA512, nil, 0},
	AES256GCMHKDFSHA512CommitKeyECDSAP384: {AES256GCMHKDFSHA512CommitKeyECDSAP384, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384", 2, 32, kdfCommit, crypto.SHA512, elliptic.P384(), crypto.SHA384},
}

// Suites returns every supported suite, in ascending wire order.
func Suites() []SuiteID {
	return []SuiteID{
		AES128GCMNoKDF, AES192GCMNoKDF, AES256GCMNoKDF,
		AES128GCMHKDFSHA256, AES192GCMHKDFSHA256, AES256GCMHKDFSHA256,
		AES128GCMHKDFSHA256ECDSAP256, AES192GCMHKDFSHA384ECDSAP384, AES256GCMHKDFSHA384ECDSAP384,
		AES256GCMHKDFSHA512CommitKey, AES256GCMHKDFSHA512CommitKeyECDSAP384,
	}
}

func lookupSuite(id SuiteID) (*suite, bool) {
	s, ok := suites[id]
	return s, ok
}

// String returns the suite's specification name, or its hex id when unknown.
func (id SuiteID) String() string {
	if s, ok := suites[id]; ok {
		return s.name
	}
	return fmt.Sprintf("SuiteID(0x%04X)", uint16(id))
}

// Committing reports whether the suite commits to its data key.
func (id SuiteID) Committing() bool {
	s, ok := suites[id]
	return ok && s.committing()
}

// Signed reports whether messages of the suite carry an ECDSA signature.
func (id SuiteID) Signed() bool {
	s, ok := suites[id]
	return ok && s.signed()
}

// DataKeyLength returns the length in bytes of the suite's data key, or 0
// for an unknown suite.
func (id SuiteID) DataKeyLength() int {
	if s, ok := suites[id]; ok {
		return s.keyLen
	}
	return 0
}
