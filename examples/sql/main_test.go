package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, filepath.Join(t.TempDir(), "customers.db")))
	assert.Equal(t, `stored 45 bytes for an 11-byte SSN
found Grace by SSN
rotated to key 2: re-encrypted 3 rows, 0 left under older keys
found Linus by SSN after rotation
`, out.String())
}
