// Package jsenv gives tests, the benchmark report and scripts/test.sh (through
// ./internal/jsenv/cmd/jsinstall) the official AWS Encryption SDK for
// JavaScript that interop/js pins (package.json and package-lock.json there),
// installing it with `npm ci` the first time it is asked for, so that
// `go test ./...` needs nothing but Node.js and npm on PATH.
package jsenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// ESDKVersion is the version of @aws-crypto/client-node that interop/js
// pins.
const ESDKVersion = "5.0.2"

// SkipEnv is the environment variable that, set to 1, skips the tests that
// need Node.js instead of failing them.
const SkipEnv = "CRYPTKEEPER_NO_NODE"

// stampName records, inside node_modules, the package-lock.json that the
// last `npm ci` installed.
const stampName = ".installed-package-lock.json"

var (
	once    sync.Once
	jsDir   string
	initErr error
)

// Install returns the absolute path of interop/js, with node_modules
// holding exactly what its package-lock.json pins. The first call in a
// process runs `npm ci` there when node_modules is missing or out of date,
// holding a lock so that processes running side by side install once.
func Install() (string, error) {
	once.Do(func() { jsDir, initErr = setup() })
	return jsDir, initErr
}

// Dir is Install for tests: the test fails when Node.js, npm or the install
// is missing, and is skipped only when CRYPTKEEPER_NO_NODE=1 asks for that.
func Dir(t testing.TB) string {
	t.Helper()
	if os.Getenv(SkipEnv) == "1" {
		t.Skip(SkipEnv + "=1: interop with the AWS Encryption SDK for JavaScript not run")
	}
	if _, err := Install(); err != nil {
		t.Fatalf("jsenv: %v (set %s=1 to leave out the JavaScript interop tests)", err, SkipEnv)
	}
	return jsDir
}

// Modules returns the node_modules directory of Dir, for NODE_PATH.
func Modules(t testing.TB) string {
	t.Helper()
	return filepath.Join(Dir(t), "node_modules")
}

func setup() (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("node is not on PATH: install Node.js >= 18")
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "interop", "js")
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return "", err
	}
	if installed(dir, lock) == nil {
		return dir, nil
	}
	unlock, err := lockFile(lockPath(dir))
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another test binary may have installed while this one waited.
	if installed(dir, lock) == nil {
		return dir, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", errors.New("npm is not on PATH: install it with Node.js")
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out.Bytes())
	}
	if err := os.WriteFile(filepath.Join(dir, "node_modules", stampName), lock, 0o644); err != nil {
		return "", err
	}
	if err := installed(dir, lock); err != nil {
		return "", fmt.Errorf("after npm ci: %w", err)
	}
	return dir, nil
}

// installed reports why node_modules in dir does not hold what lock pins,
// or nil when it does.
func installed(dir string, lock []byte) error {
	stamp, err := os.ReadFile(filepath.Join(dir, "node_modules", stampName))
	if err != nil || !bytes.Equal(stamp, lock) {
		return errors.New("node_modules was not installed from the current package-lock.json")
	}
	pkg, err := os.ReadFile(filepath.Join(dir, "node_modules", "@aws-crypto", "client-node", "package.json"))
	if err != nil {
		return fmt.Errorf("@aws-crypto/client-node is not installed: %w", err)
	}
	var meta struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(pkg, &meta); err != nil {
		return fmt.Errorf("@aws-crypto/client-node/package.json: %w", err)
	}
	if meta.Version != ESDKVersion {
		return fmt.Errorf("@aws-crypto/client-node %s is installed, want %s", meta.Version, ESDKVersion)
	}
	return nil
}

// moduleRoot returns the directory of go.mod above the working directory
// (a test runs in its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// lockPath names a lock file outside the checkout (npm ci replaces
// node_modules), one per checkout.
func lockPath(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "cryptkeeper-npm-"+hex.EncodeToString(sum[:8])+".lock")
}
