package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
)

// TestRunStore runs the example over a branch key store in moto's
// DynamoDB (failing without moto_server, unless CRYPTKEEPER_NO_MOTO=1).
func TestRunStore(t *testing.T) {
	require.NoError(t, run(context.Background(), testserver.Moto(t)))
}

// TestRunMemory runs the example as it runs without moto_server.
func TestRunMemory(t *testing.T) {
	require.NoError(t, run(context.Background(), ""))
}
