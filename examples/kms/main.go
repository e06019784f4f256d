// Command kms encrypts and decrypts a message with AWS KMS keyrings,
// offline: an in-process KMS (package kmstest) stands in for AWS, and the
// real AWS SDK client talks to it.
//
// It shows a strict keyring on a multi-Region key, decryption by the
// key's replica in another Region, a discovery keyring with an account
// filter, and what a caller the key policy does not allow sees.
//
//	go run ./examples/kms
//
// Against AWS, replace srv.Client(...) with kms.NewFromConfig(cfg) and the
// created keys with your key ARNs.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	srv := kmstest.NewServer()
	defer srv.Close()
	fmt.Println("local KMS at", srv.URL)

	primary, err := srv.CreateKey(kmstest.MultiRegion(), kmstest.KeyRegion("us-east-1"), kmstest.AllowedCallers(kmstest.DefaultAccessKey))
	if err != nil {
		return err
	}
	replica, err := srv.ReplicateKey(primary, "eu-west-1")
	if err != nil {
		return err
	}
	fmt.Println("key:    ", primary)
	fmt.Println("replica:", replica)

	east := srv.Client(kmstest.ClientRegion("us-east-1"))
	eu := srv.Client(kmstest.ClientRegion("eu-west-1"))

	kr, err := awskms.NewKeyring(east, primary)
	if err != nil {
		return err
	}
	ec := map[string]string{"tenant": "acme", "purpose": "example"}
	ct, err := envelope.Encrypt(ctx, kr, []byte("the eagle lands at dawn"), envelope.WithContext(ec))
	if err != nil {
		return err
	}
	fmt.Printf("encrypted: %d bytes, %d KMS call(s)\n", len(ct), srv.TotalCalls())

	// The replica in eu-west-1 decrypts without calling us-east-1. Every
	// reader passes the context it expects, so a message made for another
	// tenant or purpose fails with envelope.ErrContext.
	rk, err := awskms.NewKeyring(eu, replica)
	if err != nil {
		return err
	}
	pt, hdr, err := envelope.Decrypt(ctx, rk, ct, envelope.WithContext(ec))
	if err != nil {
		return err
	}
	fmt.Printf("replica decrypted: %q (tenant %s)\n", pt, hdr.Context["tenant"])

	// A discovery keyring reads the key ARN from the message but only
	// trusts keys of our account, and stays in its Region.
	dk, err := awskms.NewMRKDiscoveryKeyring(eu, "", awskms.WithDiscoveryFilter("aws", kmstest.DefaultAccount))
	if err != nil {
		return err
	}
	if pt, _, err = envelope.Decrypt(ctx, dk, ct, envelope.WithContext(ec)); err != nil {
		return err
	}
	fmt.Printf("discovery decrypted: %q\n", pt)

	// A caller the key policy does not allow.
	stranger, err := awskms.NewKeyring(srv.Client(kmstest.ClientRegion("us-east-1"), kmstest.ClientAccessKey("AKIDSTRANGER")), primary)
	if err != nil {
		return err
	}
	_, _, err = envelope.Decrypt(ctx, stranger, ct, envelope.WithContext(ec))
	fmt.Println("stranger denied:", awskms.IsAccessDenied(err))
	return nil
}
