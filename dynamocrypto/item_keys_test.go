package dynamocrypto

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"testing"
)

// TestDeriveItemKeysIsHKDF checks the written-out HKDF against
// crypto/hkdf for both suites and random keys and ids, and that the keys
// and scratch space are zero after putItemKeys.
func TestDeriveItemKeysIsHKDF(t *testing.T) {
	for _, s := range []Suite{SuiteCommitHMAC, SuiteCommitHMACECDSA} {
		for range 20 {
			dk, id := make([]byte, dataKeyLen), make([]byte, itemIDLen)
			rand.Read(dk)
			rand.Read(id)
			info := binary.BigEndian.AppendUint16([]byte(itemLabel), uint16(s))
			want, err := hkdf.Key(sha512.New, dk, id, string(info), itemKeysLen)
			if err != nil {
				t.Fatal(err)
			}
			k := getItemKeys()
			if err := deriveItemKeys(k, dk, s, id); err != nil {
				t.Fatal(err)
			}
			got := append(append(append([]byte{}, k.enc...), k.mac...), k.commit...)
			if !bytes.Equal(got, want) {
				t.Fatalf("suite %#04x: derived keys differ from crypto/hkdf", uint16(s))
			}
			putItemKeys(k)
			if k.enc != nil || !allZero(k.buf[:]) || !allZero(k.prk[:]) || !allZero(k.block[:]) || !allZero(k.sum[:]) {
				t.Fatal("keys or scratch space not wiped")
			}
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
