// Package testserver starts real S3-compatible servers for the tests of
// any package: moto (S3 and KMS on one port, plain HTTP, path-style
// addressing) and MinIO over TLS (the one server here that enforces
// SSE-C). Each server is a child process on a free 127.0.0.1 port, stopped
// when the test that started it ends; start one per test binary (one
// top-level test with subtests) to keep the start-up cost low.
//
// It may import only the standard library and the AWS SDK.
package testserver

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Credentials the servers accept: MinIO's root user and password (moto
// accepts any).
const (
	AccessKey = "cryptkeeper"
	SecretKey = "cryptkeeper-secret"
)

// Moto returns the endpoint (http://127.0.0.1:port) of a running
// moto_server: the one in CRYPTKEEPER_MOTO_URL when set, else one it
// starts and stops at the end of t. Without moto_server on PATH the test
// fails, or is skipped when CRYPTKEEPER_NO_MOTO=1.
func Moto(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("CRYPTKEEPER_MOTO_URL"); u != "" {
		return u
	}
	path, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CRYPTKEEPER_NO_MOTO") == "1" {
			t.Skip("moto_server not on PATH and CRYPTKEEPER_NO_MOTO=1")
		}
		t.Fatalf("moto_server not on PATH (install it with pip install 'moto[server]==5.2.1', or set CRYPTKEEPER_NO_MOTO=1): %v", err)
	}
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	start(t, exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port)), url+"/moto-api/", http.DefaultClient)
	return url
}

// S3Client returns a real *s3.Client for endpoint: path-style, region
// us-east-1, the package's credentials, two attempts per request, and
// rootCAs as the trusted roots (nil: the system's).
func S3Client(endpoint string, rootCAs *x509.CertPool) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint:     aws.String(endpoint),
		UsePathStyle:     true,
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		RetryMaxAttempts: 2,
		HTTPClient:       httpClient(rootCAs),
	})
}

func httpClient(rootCAs *x509.CertPool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: rootCAs, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}

// freePort returns a port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs cmd until the end of t and waits until ready answers a GET
// with a status below 500.
func start(t testing.TB, cmd *exec.Cmd, ready string, hc *http.Client) {
	t.Helper()
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	name := cmd.Args[0]
	for deadline := time.Now().Add(90 * time.Second); ; {
		resp, err := hc.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before it was ready: %v\n%s", name, cmd.ProcessState, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start: %v\n%s", name, err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer collects a child's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 {
		return len(p), nil // enough to explain a failure
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
