package testserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// MinIOVersion is the MinIO the tests run, as go install takes it.
const MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"

// MinIOInstall is the command that installs MinIO where MinIO looks.
const MinIOInstall = "GOBIN=$HOME/.cache/cryptkeeper/bin go install github.com/minio/minio@" + MinIOVersion

// MinIO starts MinIO over TLS on 127.0.0.1 with a freshly generated
// self-signed certificate, waits until it is ready, and stops it at the
// end of t. It returns the endpoint (https://127.0.0.1:port) and a pool
// holding the certificate; the root user and password are AccessKey and
// SecretKey. The binary is $CRYPTKEEPER_MINIO, else minio on PATH, else
// $HOME/.cache/cryptkeeper/bin/minio. Without one the test fails when the
// CI variable is set, and is skipped otherwise (the message says how to
// install it: MinIOInstall).
func MinIO(t testing.TB) (endpoint string, rootCAs *x509.CertPool) {
	t.Helper()
	bin := minioBinary(t)
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	cert, err := writeCert(certs)
	if err != nil {
		t.Fatalf("MinIO certificate: %v", err)
	}
	rootCAs = x509.NewCertPool()
	rootCAs.AddCert(cert)

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--certs-dir", certs, filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+AccessKey, "MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off",
	)
	endpoint = "https://" + addr
	start(t, cmd, endpoint+"/minio/health/ready", httpClient(rootCAs))
	return endpoint, rootCAs
}

func minioBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CRYPTKEEPER_MINIO"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CRYPTKEEPER_MINIO=%s: %v", p, err)
		}
		return p
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "cryptkeeper", "bin", "minio")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "MinIO not found (CRYPTKEEPER_MINIO, minio on PATH, $HOME/.cache/cryptkeeper/bin/minio); install it with: " + MinIOInstall
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// writeCert writes a new self-signed ECDSA P-256 certificate for
// 127.0.0.1 and localhost, valid for a day, as dir/public.crt and
// dir/private.key (where MinIO's --certs-dir expects them).
func writeCert(dir string) (*x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "cryptkeeper test MinIO"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	err = errors.Join(
		os.WriteFile(filepath.Join(dir, "public.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600),
		os.WriteFile(filepath.Join(dir, "private.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600),
	)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
