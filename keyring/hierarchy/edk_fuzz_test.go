package hierarchy

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

// FuzzEDK feeds arbitrary encrypted data keys to the parser and to
// OnDecrypt: parsing never panics and round-trips what it accepts, and
// OnDecrypt fails with one category and leaves the materials unchanged
// unless it unwrapped a real key.
func FuzzEDK(f *testing.F) {
	src := newMemSource()
	v := src.add(f, "bbb9baf1-03e6-4716-a586-6bf29995314b")
	kr, err := NewKeyring(src, WithBranchKeyID("bbb9baf1-03e6-4716-a586-6bf29995314b"))
	if err != nil {
		f.Fatal(err)
	}
	m := &keyring.EncryptionMaterials{Suite: keyring.Suite{DataKeyLength: 32}}
	if err := kr.OnEncrypt(ctxBG, m); err != nil {
		f.Fatal(err)
	}
	good := m.EncryptedDataKeys[0]
	f.Add(good.ProviderInfo, good.Ciphertext, uint8(2))
	f.Add([]byte(golden.branchKeyID), []byte(golden.edk), uint8(2))
	f.Add([]byte{0xff}, good.Ciphertext[:76], uint8(0))
	f.Add([]byte(v), good.Ciphertext[:84], uint8(1))
	f.Fuzz(func(t *testing.T, info, ct []byte, sel uint8) {
		n := []int{16, 24, 32}[int(sel)%3]
		if fs, err := parseEDK(ct, n); err == nil {
			if !bytes.Equal(appendEDK(nil, fs), ct) {
				t.Fatal("parse does not round-trip")
			}
			if got, err := versionBytes(versionText(fs.version)); err != nil || got != fs.version {
				t.Fatal("version text does not round-trip")
			}
		} else if !errors.Is(err, ErrMalformedEDK) {
			t.Fatalf("parse error %v is not ErrMalformedEDK", err)
		}
		d := &keyring.DecryptionMaterials{Suite: keyring.Suite{DataKeyLength: n}}
		err := kr.OnDecrypt(keyring.WithUnwrapBudget(ctxBG, 2), d,
			[]keyring.EncryptedDataKey{{ProviderID: ProviderID, ProviderInfo: info, Ciphertext: ct}})
		if err == nil {
			if !bytes.Equal(ct, good.Ciphertext) || !bytes.Equal(d.PlaintextDataKey, m.PlaintextDataKey) {
				t.Fatal("unwrapped a key from a forged encrypted data key")
			}
			return
		}
		if d.PlaintextDataKey != nil {
			t.Fatal("materials changed on failure")
		}
		if !errors.Is(err, keyring.ErrNoDecryptionKey) && !errors.Is(err, keyring.ErrUnwrapLimit) {
			t.Fatalf("error %v has no category", err)
		}
	})
}
