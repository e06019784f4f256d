package awskms_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func ExampleNewKeyring() {
	ctx := context.Background()
	srv := kmstest.NewServer() // stands in for AWS KMS
	defer srv.Close()
	keyARN, err := srv.CreateKey()
	if err != nil {
		log.Fatal(err)
	}

	// With AWS: kr, err := awskms.NewKeyring(kms.NewFromConfig(cfg), keyARN)
	kr, err := awskms.NewKeyring(srv.Client(), keyARN)
	if err != nil {
		log.Fatal(err)
	}
	ec := map[string]string{"tenant": "acme"} // KMS binds it to the data key
	ct, err := envelope.Encrypt(ctx, kr, []byte("hello"), envelope.WithContext(ec))
	if err != nil {
		log.Fatal(err)
	}
	pt, hdr, err := envelope.Decrypt(ctx, kr, ct, envelope.WithContext(ec)) // the context this reader expects
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt), hdr.Context["tenant"], hdr.Providers())
	// Output: hello acme [aws-kms]
}

func ExampleNewDiscoveryKeyring() {
	ctx := context.Background()
	srv := kmstest.NewServer()
	defer srv.Close()
	keyARN, _ := srv.CreateKey()
	writer, _ := awskms.NewKeyring(srv.Client(), keyARN)
	ct, _ := envelope.Encrypt(ctx, writer, []byte("hello"))

	// The reader does not know the key ARN in advance, but only trusts
	// keys of its own account.
	reader, err := awskms.NewDiscoveryKeyring(srv.Client(), awskms.WithDiscoveryFilter("aws", kmstest.DefaultAccount))
	if err != nil {
		log.Fatal(err)
	}
	pt, _, err := envelope.Decrypt(ctx, reader, ct)
	fmt.Println(string(pt), err)
	// Output: hello <nil>
}

func ExampleNewRSAKeyring() {
	ctx := context.Background()
	srv := kmstest.NewServer()
	defer srv.Close()
	keyARN, _ := srv.CreateKey(kmstest.KeySpec(kmstest.RSA2048))

	// Encrypts with the public key (fetched once); decrypts through KMS.
	kr, err := awskms.NewRSAKeyring(srv.Client(), keyARN, types.EncryptionAlgorithmSpecRsaesOaepSha256)
	if err != nil {
		log.Fatal(err)
	}
	// The aws-kms-rsa keyring refuses signing suites.
	ct, err := envelope.Encrypt(ctx, kr, []byte("hello"), envelope.WithSuite(envelope.AES256GCMHKDFSHA512CommitKey))
	if err != nil {
		log.Fatal(err)
	}
	pt, _, err := envelope.Decrypt(ctx, kr, ct)
	fmt.Println(string(pt), err, srv.Calls("GetPublicKey"), srv.Calls("Encrypt"))
	// Output: hello <nil> 1 0
}

func ExampleNewMultiKeyring() {
	ctx := context.Background()
	srv := kmstest.NewServer()
	defer srv.Close()
	primary, _ := srv.CreateKey(kmstest.KeyRegion("us-east-1"))
	backup, _ := srv.CreateKey(kmstest.KeyRegion("eu-west-1"))

	// With AWS: awskms.SDKSupplier(cfg)
	clients := awskms.CachingSupplier(func(region string) (awskms.Client, error) {
		return srv.Client(kmstest.ClientRegion(region)), nil
	})
	kr, err := awskms.NewMultiKeyring(clients, primary, []string{backup})
	if err != nil {
		log.Fatal(err)
	}
	ct, _ := envelope.Encrypt(ctx, kr, []byte("hello"))

	_ = srv.DisableKey(primary) // the backup Region still decrypts
	pt, hdr, err := envelope.Decrypt(ctx, kr, ct)
	fmt.Println(string(pt), len(hdr.EncryptedDataKeys), err)
	// Output: hello 2 <nil>
}

func ExampleIsAccessDenied() {
	ctx := context.Background()
	srv := kmstest.NewServer()
	defer srv.Close()
	keyARN, _ := srv.CreateKey(kmstest.AllowedCallers("AKIDAPP"))

	kr, _ := awskms.NewKeyring(srv.Client(kmstest.ClientAccessKey("AKIDOTHER")), keyARN)
	_, err := envelope.Encrypt(ctx, kr, []byte("hello"))
	fmt.Println(awskms.IsAccessDenied(err))
	// Output: true
}
