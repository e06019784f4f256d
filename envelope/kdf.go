package envelope

import (
	"crypto/hkdf"
	"crypto/sha512"
	"fmt"
	"hash"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// Key derivation (RFC 5869 HKDF). Version 1 HKDF suites use the suite's
// hash with no salt and info = suite ID ‖ message ID; the committing suites
// use HKDF-SHA512 with the message ID as salt, expanded once for the
// message key and once for the commitment key. Every step runs in
// crypto/hkdf, inside the Go Cryptographic Module, so GODEBUG=fips140=on
// covers it. The golden tests pin the outputs to the specification's
// vectors.

// Info labels of the committing suites' expansions.
const (
	infoDeriveKey = "DERIVEKEY"
	infoCommitKey = "COMMITKEY"
)

// deriveKeys returns the message encryption key and, for committing
// suites, the commitment key.
func deriveKeys(s *suite, pdk, messageID []byte) (dataKey, commitKey []byte, err error) {
	if len(pdk) != s.keyLen {
		return nil, nil, fmt.Errorf("%w: data key is %d bytes, suite %v needs %d", keyring.ErrInvalidMaterials, len(pdk), s.id, s.keyLen)
	}
	switch s.kdf {
	case kdfIdentity:
		return append([]byte(nil), pdk...), nil, nil
	case kdfHKDF:
		info := make([]byte, 2, 2+len(messageID))
		info[0], info[1] = byte(s.id>>8), byte(s.id)
		k, err := deriveV1(s, pdk, append(info, messageID...))
		return k, nil, err
	default:
		return deriveCommitted(s, pdk, messageID)
	}
}

// deriveV1 derives the message key of a version 1 HKDF suite: HKDF with the
// suite's hash, no salt, and info (suite ID ‖ message ID, except in
// messages of .NET 4.0.0).
func deriveV1(s *suite, pdk, info []byte) ([]byte, error) {
	var h func() hash.Hash = s.kdfHash.New
	k, err := hkdf.Key(h, pdk, nil, string(info), s.keyLen)
	if err != nil {
		return nil, fmt.Errorf("envelope: deriving the message key: %w", err)
	}
	return k, nil
}

// deriveKeyInfo returns the HKDF info of a committing suite's message key:
// the suite ID followed by "DERIVEKEY". The info of the two suites is a
// constant, so deriving it allocates nothing.
func deriveKeyInfo(id SuiteID) string {
	switch id {
	case AES256GCMHKDFSHA512CommitKey:
		return "\x04\x78" + infoDeriveKey
	case AES256GCMHKDFSHA512CommitKeyECDSAP384:
		return "\x05\x78" + infoDeriveKey
	}
	return string([]byte{byte(id >> 8), byte(id)}) + infoDeriveKey
}

// deriveCommitted derives the message key and the commitment key of a
// committing suite from the data key pdk. One extraction serves both
// expansions.
func deriveCommitted(s *suite, pdk, messageID []byte) (dataKey, commitKey []byte, err error) {
	prk, err := hkdf.Extract(sha512.New, pdk, messageID)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: deriving the message key: %w", err)
	}
	defer clear(prk)
	if dataKey, err = hkdf.Expand(sha512.New, prk, deriveKeyInfo(s.id), s.keyLen); err != nil {
		return nil, nil, fmt.Errorf("envelope: deriving the message key: %w", err)
	}
	if commitKey, err = hkdf.Expand(sha512.New, prk, infoCommitKey, commitKeyLen); err != nil {
		clear(dataKey)
		return nil, nil, fmt.Errorf("envelope: deriving the commitment key: %w", err)
	}
	return dataKey, commitKey, nil
}
