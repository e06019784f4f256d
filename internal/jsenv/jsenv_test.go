package jsenv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDirInstallsThePinnedSDK(t *testing.T) {
	dir := Dir(t)
	require.True(t, filepath.IsAbs(dir))
	require.FileExists(t, filepath.Join(dir, "esdk.js"))
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	require.NoError(t, err)
	require.NoError(t, installed(dir, lock))
	require.Equal(t, filepath.Join(dir, "node_modules"), Modules(t))
}

func TestInstalledRejectsAStaleStamp(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "node_modules", "@aws-crypto", "client-node"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node_modules", stampName), []byte("old lock"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node_modules", "@aws-crypto", "client-node", "package.json"), []byte(`{"version":"`+ESDKVersion+`"}`), 0o644))
	require.ErrorContains(t, installed(dir, []byte("new lock")), "current package-lock.json")
	require.NoError(t, installed(dir, []byte("old lock")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node_modules", "@aws-crypto", "client-node", "package.json"), []byte(`{"version":"4.0.0"}`), 0o644))
	require.ErrorContains(t, installed(dir, []byte("old lock")), "4.0.0 is installed")
}
