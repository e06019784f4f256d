// Command hierarchy encrypts and decrypts messages for several tenants
// with the AWS KMS hierarchical keyring, offline: an in-process KMS
// (package kmstest) stands in for AWS KMS, and moto_server, when it is on
// PATH, for DynamoDB, which holds the branch key store. Without
// moto_server there is no DynamoDB, and the example says so and runs the
// same keyring over an in-memory branch key source instead.
//
//	go run ./examples/hierarchy
//
// It shows one branch key per tenant chosen from the encryption context,
// the KMS calls that saves (one per tenant per TTL, not one per message),
// a message refused under another tenant's context, and a rotation after
// which old messages still decrypt.
//
// Against AWS, use kms.NewFromConfig(cfg) and dynamodb.NewFromConfig(cfg)
// and your KMS key ARN.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os/exec"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/hierarchy"
)

func main() {
	ctx := context.Background()
	endpoint, stop, err := startMoto()
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	if endpoint == "" {
		fmt.Println("moto_server is not on PATH: there is no DynamoDB for the branch key store here,")
		fmt.Println("so this run uses an in-memory branch key source (pip install 'moto[server]' to run the store)")
	}
	if err := run(ctx, endpoint); err != nil {
		log.Fatal(err)
	}
}

// run is the example. With endpoint empty the branch keys come from
// memory; otherwise from a branch key store in the DynamoDB at endpoint.
func run(ctx context.Context, endpoint string) error {
	kmsSrv := kmstest.NewServer()
	defer kmsSrv.Close()
	arn, err := kmsSrv.CreateKey()
	if err != nil {
		return err
	}

	tenants := []string{"acme", "globex", "initech"}
	var (
		src    hierarchy.BranchKeySource
		rotate func(branchKeyID string) error
	)
	if endpoint != "" {
		store, err := newStore(ctx, endpoint, kmsSrv, arn)
		if err != nil {
			return err
		}
		for _, t := range tenants {
			if _, err := store.CreateKey(ctx, hierarchy.WithNewKeyID("branch-"+t),
				hierarchy.WithKeyContext(map[string]string{"tenant": t})); err != nil {
				return err
			}
		}
		fmt.Printf("branch key store: DynamoDB table %q, KMS key %s\n", store.Table(), arn)
		src, rotate = store, func(id string) error { return store.VersionKey(ctx, id) }
	} else {
		mem := newMemorySource()
		for _, t := range tenants {
			mem.create("branch-" + t)
		}
		src, rotate = mem, func(id string) error { mem.create(id); return nil }
	}

	// The tenant pair of the encryption context picks the branch key.
	ids := map[string]string{}
	for _, t := range tenants {
		ids[t] = "branch-" + t
	}
	kr, err := hierarchy.NewKeyring(src,
		hierarchy.WithBranchKeyIDSupplier(hierarchy.ContextKeySupplier("tenant", ids)),
		hierarchy.WithTTL(5*time.Minute))
	if err != nil {
		return err
	}

	kmsSrv.ResetCalls()
	msgs := map[string][][]byte{}
	for i := range 300 {
		t := tenants[i%len(tenants)]
		ec := map[string]string{"tenant": t, "order": fmt.Sprint(i)}
		ct, err := envelope.Encrypt(ctx, kr, []byte(fmt.Sprintf("order %d of %s", i, t)), envelope.WithContext(ec))
		if err != nil {
			return err
		}
		pt, _, err := envelope.Decrypt(ctx, kr, ct, envelope.WithContext(ec))
		if err != nil {
			return err
		}
		if i < len(tenants) {
			fmt.Printf("%s: %q\n", t, pt)
		}
		msgs[t] = append(msgs[t], ct)
	}
	m := kr.Metrics()
	fmt.Printf("300 messages for %d tenants: %d KMS call(s), %d branch key fetch(es), %d cache hits\n",
		len(tenants), kmsSrv.TotalCalls(), m.StoreCalls, m.Hits)
	if m.StoreCalls != uint64(len(tenants)) {
		return fmt.Errorf("%d branch key fetches, want one per tenant", m.StoreCalls)
	}

	// A reader that expects another tenant gets that tenant's branch key,
	// which did not wrap the message.
	_, _, err = envelope.Decrypt(ctx, kr, msgs["acme"][0], envelope.WithContext(map[string]string{"tenant": "globex"}))
	fmt.Println("acme's message read as globex's:", err != nil)
	if err == nil {
		return errors.New("a message decrypted under another tenant's context")
	}

	// Rotate acme's branch key. A new keyring (or this one, once its TTL
	// has run out) encrypts with the new version; old messages decrypt.
	if err := rotate("branch-acme"); err != nil {
		return err
	}
	fresh, err := hierarchy.NewKeyring(src, hierarchy.WithBranchKeyIDSupplier(hierarchy.ContextKeySupplier("tenant", ids)))
	if err != nil {
		return err
	}
	ec := map[string]string{"tenant": "acme", "order": "0"}
	pt, _, err := envelope.Decrypt(ctx, fresh, msgs["acme"][0], envelope.WithContext(ec))
	if err != nil {
		return err
	}
	fmt.Printf("after rotation, acme's first message: %q\n", pt)
	return nil
}

// newStore makes a branch key store in the DynamoDB at endpoint, with its
// branch keys wrapped by the KMS key arn of kmsSrv.
func newStore(ctx context.Context, endpoint string, kmsSrv *kmstest.Server, arn string) (*hierarchy.Store, error) {
	ddb := dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       kmstest.DefaultRegion,
		Credentials:  credentials.NewStaticCredentialsProvider("example", "example", ""),
	})
	store, err := hierarchy.NewStore(ddb, kmsSrv.Client(), "branch-keys", arn, hierarchy.WithLogicalName("example-store"))
	if err != nil {
		return nil, err
	}
	return store, store.CreateTable(ctx)
}

// startMoto starts moto_server on a free local port and returns its
// endpoint, or "" when moto_server is not on PATH.
func startMoto() (endpoint string, stop func(), err error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(endpoint + "/moto-api/"); err == nil {
			resp.Body.Close()
			return endpoint, stop, nil
		}
	}
	stop()
	return "", nil, errors.New("moto_server did not start")
}

// memorySource is a BranchKeySource that keeps branch keys in memory, for
// when there is no DynamoDB: enough to show the keyring, not a store.
type memorySource struct {
	versions map[string][]*hierarchy.BranchKey // the last one is active
}

func newMemorySource() *memorySource {
	return &memorySource{versions: map[string][]*hierarchy.BranchKey{}}
}

// create adds a branch key, or a new version of an existing one.
func (s *memorySource) create(id string) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	var v [16]byte
	_, _ = rand.Read(v[:])
	v[6], v[8] = v[6]&0x0f|0x40, v[8]&0x3f|0x80
	version := fmt.Sprintf("%x-%x-%x-%x-%x", v[0:4], v[4:6], v[6:8], v[8:10], v[10:16])
	s.versions[id] = append(s.versions[id], &hierarchy.BranchKey{ID: id, Version: version, Key: key})
}

func (s *memorySource) GetActiveBranchKey(_ context.Context, id string) (*hierarchy.BranchKey, error) {
	vs := s.versions[id]
	if len(vs) == 0 {
		return nil, hierarchy.ErrNotFound
	}
	return vs[len(vs)-1].Clone(), nil
}

func (s *memorySource) GetBranchKeyVersion(_ context.Context, id, version string) (*hierarchy.BranchKey, error) {
	for _, bk := range s.versions[id] {
		if bk.Version == version {
			return bk.Clone(), nil
		}
	}
	return nil, hierarchy.ErrNotFound
}
