package testserver

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The MinIO that scripts/test.sh installs is the one the package names.
func TestMinIOVersionInScript(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "scripts", "test.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "minio_version="+MinIOVersion+"\n") {
		t.Errorf("scripts/test.sh does not install MinIO %s", MinIOVersion)
	}
}

// The certificate MinIO is given loads as a TLS key pair and verifies
// for 127.0.0.1 and localhost under the returned pool.
func TestWriteCert(t *testing.T) {
	dir := t.TempDir()
	cert, err := writeCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "public.crt"), filepath.Join(dir, "private.key")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "private.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private.key: %v %v", fi.Mode(), err)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if err := cert.VerifyHostname(host); err != nil {
			t.Error(err)
		}
	}
	if err := cert.VerifyHostname("example.com"); err == nil {
		t.Error("certificate valid for example.com")
	}
}
