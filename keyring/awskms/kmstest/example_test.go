package kmstest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func ExampleNewServer() {
	ctx := context.Background()
	srv := kmstest.NewServer()
	defer srv.Close()
	keyARN, err := srv.CreateKey(kmstest.KeyAlias("alias/app"))
	if err != nil {
		log.Fatal(err)
	}

	client := srv.Client() // a real *kms.Client pointed at srv
	enc, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/app"), Plaintext: []byte("hi")})
	if err != nil {
		log.Fatal(err)
	}
	dec, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(dec.Plaintext), aws.ToString(dec.KeyId) == keyARN, srv.Calls("Decrypt"))
	// Output: hi true 1
}

func ExampleServer_FailNext() {
	ctx := context.Background()
	srv := kmstest.NewServer()
	defer srv.Close()
	keyARN, _ := srv.CreateKey()

	srv.FailNext("GenerateDataKey", 2, kmstest.Throttling)
	client := srv.Client(kmstest.ClientRetries(3))
	_, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyARN), NumberOfBytes: aws.Int32(32)})
	fmt.Println(err, srv.Calls("GenerateDataKey"))
	// Output: <nil> 3
}

func ExampleServer_ReplicateKey() {
	ctx := context.Background()
	srv := kmstest.NewServer()
	defer srv.Close()
	primary, _ := srv.CreateKey(kmstest.MultiRegion(), kmstest.KeyRegion("us-east-1"))
	replica, _ := srv.ReplicateKey(primary, "eu-west-1")

	enc, _ := srv.Client(kmstest.ClientRegion("us-east-1")).Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(primary), Plaintext: []byte("hi")})
	dec, err := srv.Client(kmstest.ClientRegion("eu-west-1")).Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(replica), CiphertextBlob: enc.CiphertextBlob})
	fmt.Println(string(dec.Plaintext), err)
	// Output: hi <nil>
}
