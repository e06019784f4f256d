package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
)

// serveProxy serves S3 and KMS on one address, as moto_server does, for
// an S3 server without KMS (and clients such as the peer CLI that take
// one endpoint for both): KMS requests go to an in-process kmstest
// server, the rest to the S3 server at s3URL, re-signed with its
// credentials. It prints the address it listens on, then serves until
// killed.
//
// With s3URL "gofakes3" it serves S3 itself, from memory, with gofakes3.
func serveProxy(listen, s3URL, access, secret string) error {
	kmsSrv := kmstest.NewServer()
	defer kmsSrv.Close()
	kmsURL, err := url.Parse(kmsSrv.URL)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	if s3URL == "gofakes3" {
		fmt.Println(ln.Addr())
		fake := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
		toKMS := newRouter(kmsURL, kmsURL, nil)
		return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isKMS(r) {
				toKMS.ServeHTTP(w, r)
				return
			}
			fake.ServeHTTP(w, r)
		}))
	}
	target, err := url.Parse(s3URL)
	if err != nil || target.Host == "" {
		return fmt.Errorf("bad -s3 %q", s3URL)
	}
	fmt.Println(ln.Addr())
	creds := aws.Credentials{AccessKeyID: access, SecretAccessKey: secret}
	return http.Serve(ln, newRouter(kmsURL, target, resigner(creds)))
}

// isKMS reports whether r is a KMS request (JSON protocol, X-Amz-Target
// TrentService.<Operation>).
func isKMS(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
}

// newRouter sends KMS requests to kms as they are, and the others to s3
// after sign has re-signed them.
func newRouter(kms, s3 *url.URL, sign func(*http.Request) error) http.Handler {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.DisableCompression = true
	toKMS := &httputil.ReverseProxy{Transport: tr, Rewrite: func(p *httputil.ProxyRequest) { p.SetURL(kms) }}
	toS3 := &httputil.ReverseProxy{
		Transport: &signingTransport{base: tr, sign: sign},
		Rewrite: func(p *httputil.ProxyRequest) {
			p.SetURL(s3)
			p.Out.Host = s3.Host
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isKMS(r) {
			toKMS.ServeHTTP(w, r)
			return
		}
		toS3.ServeHTTP(w, r)
	})
}

// signingTransport signs each request just before it is sent.
type signingTransport struct {
	base http.RoundTripper
	sign func(*http.Request) error
}

func (t *signingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.sign(r); err != nil {
		return nil, err
	}
	return t.base.RoundTrip(r)
}

// resigner returns a function that replaces the SigV4 signature of an S3
// request with one made with creds. The payload hash is the one the
// client declared (X-Amz-Content-Sha256), so the body is not read.
func resigner(creds aws.Credentials) func(*http.Request) error {
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	return func(r *http.Request) error {
		hash := r.Header.Get("X-Amz-Content-Sha256")
		if hash == "" {
			hash = "UNSIGNED-PAYLOAD"
			r.Header.Set("X-Amz-Content-Sha256", hash)
		}
		for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
			r.Header.Del(h)
		}
		return signer.SignHTTP(context.Background(), creds, r, hash, "s3", region, time.Now())
	}
}
