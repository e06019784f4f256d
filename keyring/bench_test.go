package keyring_test

import (
	"context"
	"testing"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func benchKeyring(b *testing.B, kr keyring.Keyring) {
	ctx := context.Background()
	ec := map[string]string{"tenant": "acme", "purpose": "bench"}
	b.Run("OnEncrypt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := encMaterials(suite256, ec)
			if err := kr.OnEncrypt(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	m := encrypt(b, kr, suite256, ec)
	b.Run("OnDecrypt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dm := decMaterials(suite256, ec)
			if err := kr.OnDecrypt(ctx, dm, m.EncryptedDataKeys); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRawAES(b *testing.B) {
	benchKeyring(b, newAES(b, "ns", "name", seqKey(32, 1)))
}

func BenchmarkRawRSA2048(b *testing.B) {
	priv := testPrivateKey(b, "rsa2048-pkcs8.pem")
	benchKeyring(b, newRSA(b, "ns", "name", &priv.PublicKey, priv, keyring.OAEPSHA256))
}

func BenchmarkRawRSA4096(b *testing.B) {
	priv := testPrivateKey(b, "rsa4096-pkcs8.pem")
	benchKeyring(b, newRSA(b, "ns", "name", &priv.PublicKey, priv, keyring.OAEPSHA256))
}

func BenchmarkMulti(b *testing.B) {
	priv := testPrivateKey(b, "rsa2048-pkcs8.pem")
	benchKeyring(b, newMulti(b, newAES(b, "ns", "name", seqKey(32, 1)), newRSA(b, "ns", "rsa", &priv.PublicKey, priv, keyring.OAEPSHA256)))
}
