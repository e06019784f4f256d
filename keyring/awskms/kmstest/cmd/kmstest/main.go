// Command kmstest runs the in-process KMS of package kmstest as a local
// server on 127.0.0.1, for trying the KMS keyrings and examples without an
// AWS account. It prints the endpoint URL and the ARN of a symmetric key it
// creates, then serves until interrupted.
//
//	go run ./keyring/awskms/kmstest/cmd/kmstest -port 4566
//
// Point an SDK at it with the printed endpoint, any Region and any
// credentials (signatures are not checked).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0 picks a free one)")
	region := flag.String("region", kmstest.DefaultRegion, "default Region")
	rsaKey := flag.Bool("rsa", false, "also create an RSA_2048 key")
	flag.Parse()

	srv := kmstest.NewServer(kmstest.WithRegion(*region))
	defer srv.Close()
	arn, err := srv.CreateKey(kmstest.KeyAlias("alias/kmstest"))
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("endpoint: http://%s\nkey: %s\nalias: alias/kmstest\n", ln.Addr(), arn)
	if *rsaKey {
		rsaARN, err := srv.CreateKey(kmstest.KeySpec(kmstest.RSA2048))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("rsa key: %s\n", rsaARN)
	}
	hs := &http.Server{Handler: srv}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt)
		<-stop
		_ = hs.Close()
	}()
	if err := hs.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
