package keyring_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log"

	"github.com/cryptkeeper-go/cryptkeeper/keyring"
)

func ExampleNewRawAES() {
	ctx := context.Background()
	wrappingKey := make([]byte, 32) // in practice, from your key store
	if _, err := rand.Read(wrappingKey); err != nil {
		log.Fatal(err)
	}
	kr, err := keyring.NewRawAES("billing", "key-2026", wrappingKey)
	if err != nil {
		log.Fatal(err)
	}
	suite := keyring.Suite{ID: 0x0478, DataKeyLength: 32}
	ec := map[string]string{"tenant": "acme"}

	// Generate and wrap a data key.
	enc := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
	if err := kr.OnEncrypt(ctx, enc); err != nil {
		log.Fatal(err)
	}
	edk := enc.EncryptedDataKeys[0]
	fmt.Println(kr)
	fmt.Println("provider:", edk.ProviderID)
	fmt.Println("provider info bytes:", len(edk.ProviderInfo), "ciphertext bytes:", len(edk.Ciphertext))

	// Unwrap it again: the same encryption context is required.
	dec := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: ec}
	if err := kr.OnDecrypt(ctx, dec, enc.EncryptedDataKeys); err != nil {
		log.Fatal(err)
	}
	fmt.Println("same data key:", bytes.Equal(dec.PlaintextDataKey, enc.PlaintextDataKey))
	dec.Zero()

	// Under another context the data key does not unwrap.
	other := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: map[string]string{"tenant": "globex"}}
	err = kr.OnDecrypt(ctx, other, enc.EncryptedDataKeys)
	fmt.Println("other context:", errors.Is(err, keyring.ErrNoDecryptionKey))
	enc.Zero()
	// Output:
	// RawAES{namespace: "billing", name: "key-2026"}
	// provider: billing
	// provider info bytes: 28 ciphertext bytes: 48
	// same data key: true
	// other context: true
}

func ExampleNewRawRSA() {
	ctx := context.Background()
	priv, err := rsa.GenerateKey(rand.Reader, 3072) // or keyring.ParseRSAPrivateKeyPEM
	if err != nil {
		log.Fatal(err)
	}
	// Senders need only the public key; the recovery service holds the
	// private key.
	sender, err := keyring.NewRawRSA("recovery", "rsa-2026", &priv.PublicKey, nil, keyring.OAEPSHA256)
	if err != nil {
		log.Fatal(err)
	}
	recovery, err := keyring.NewRawRSA("recovery", "rsa-2026", nil, priv, keyring.OAEPSHA256)
	if err != nil {
		log.Fatal(err)
	}
	suite := keyring.Suite{ID: 0x0578, DataKeyLength: 32, Signed: true}

	enc := &keyring.EncryptionMaterials{Suite: suite}
	if err := sender.OnEncrypt(ctx, enc); err != nil {
		log.Fatal(err)
	}
	edk := enc.EncryptedDataKeys[0]
	fmt.Printf("%s %s, %d-byte ciphertext\n", edk.ProviderID, edk.ProviderInfo, len(edk.Ciphertext))

	dec := &keyring.DecryptionMaterials{Suite: suite}
	if err := recovery.OnDecrypt(ctx, dec, enc.EncryptedDataKeys); err != nil {
		log.Fatal(err)
	}
	fmt.Println("data key bytes:", len(dec.PlaintextDataKey))
	// Output:
	// recovery rsa-2026, 384-byte ciphertext
	// data key bytes: 32
}

func ExampleNewMulti() {
	ctx := context.Background()
	primary, err := keyring.NewRawAES("app", "primary", make([]byte, 32)) // demo keys only
	if err != nil {
		log.Fatal(err)
	}
	backup, err := keyring.NewRawAES("app", "backup", bytes.Repeat([]byte{1}, 16))
	if err != nil {
		log.Fatal(err)
	}
	// The primary key generates the data key; the backup key wraps it too.
	kr, err := keyring.NewMulti(primary, backup)
	if err != nil {
		log.Fatal(err)
	}
	suite := keyring.Suite{ID: 0x0478, DataKeyLength: 32}
	enc := &keyring.EncryptionMaterials{Suite: suite}
	if err := kr.OnEncrypt(ctx, enc); err != nil {
		log.Fatal(err)
	}
	for _, edk := range enc.EncryptedDataKeys {
		fmt.Println(edk)
	}

	// The backup keyring alone can recover the data key.
	dec := &keyring.DecryptionMaterials{Suite: suite}
	if err := backup.OnDecrypt(ctx, dec, enc.EncryptedDataKeys); err != nil {
		log.Fatal(err)
	}
	fmt.Println("recovered with backup:", bytes.Equal(dec.PlaintextDataKey, enc.PlaintextDataKey))
	// Output:
	// EncryptedDataKey{app "primary", 48 bytes}
	// EncryptedDataKey{app "backup", 48 bytes}
	// recovered with backup: true
}
