package hierarchy_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/hierarchy"
)

func TestNewStoreOptions(t *testing.T) {
	ddb, k := ddbClient("http://127.0.0.1:1"), motoKMS("http://127.0.0.1:1")
	const arn = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	for name, f := range map[string]func() (*hierarchy.Store, error){
		"nil ddb":     func() (*hierarchy.Store, error) { return hierarchy.NewStore(nil, k, "t", arn) },
		"nil kms":     func() (*hierarchy.Store, error) { return hierarchy.NewStore(ddb, nil, "t", arn) },
		"empty table": func() (*hierarchy.Store, error) { return hierarchy.NewStore(ddb, k, "", arn) },
		"alias ARN": func() (*hierarchy.Store, error) {
			return hierarchy.NewStore(ddb, k, "t", "arn:aws:kms:us-west-2:111122223333:alias/x")
		},
		"key id": func() (*hierarchy.Store, error) {
			return hierarchy.NewStore(ddb, k, "t", "1234abcd-12ab-34cd-56ef-1234567890ab")
		},
		"empty name": func() (*hierarchy.Store, error) {
			return hierarchy.NewStore(ddb, k, "t", arn, hierarchy.WithLogicalName(""))
		},
		"empty grant": func() (*hierarchy.Store, error) {
			return hierarchy.NewStore(ddb, k, "t", arn, hierarchy.WithGrantTokens("a", ""))
		},
		"nil option": func() (*hierarchy.Store, error) {
			return hierarchy.NewStore(ddb, k, "t", arn, nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := f()
			require.ErrorIs(t, err, hierarchy.ErrInvalidOption)
			assert.Nil(t, s)
		})
	}
	s, err := hierarchy.NewStore(ddb, k, "table", arn)
	require.NoError(t, err)
	_, err = s.CreateKey(context.Background(), nil)
	require.ErrorIs(t, err, hierarchy.ErrInvalidOption, "a nil CreateKey option is refused before any call")
	assert.Equal(t, "table", s.LogicalName(), "the logical name defaults to the table name")
	assert.Equal(t, "table", s.Table())
	assert.Equal(t, arn, s.KMSKeyARN())
	s, err = hierarchy.NewStore(ddb, k, "table", arn, hierarchy.WithLogicalName("logical"))
	require.NoError(t, err)
	assert.Equal(t, "logical", s.LogicalName())
}

func TestKeysRedacted(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(0xa0 + i)
	}
	bk := &hierarchy.BranchKey{ID: "tenant", Version: "bb7a4175-2c3e-42d0-bd65-d5fc4c668f46", Key: key, Context: map[string]string{"a": "b"}}
	bc := &hierarchy.BeaconKey{ID: "tenant", Key: append([]byte(nil), key...)}
	secrets := []string{hex.EncodeToString(key), hex.EncodeToString(key[:4]), fmt.Sprint(key[:4])[1:12], string(key[:4])}
	for _, v := range []any{bk, bc, *bk, *bc} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			out := fmt.Sprintf(verb, v)
			for _, sec := range secrets {
				assert.NotContains(t, out, sec, "%s of %T", verb, v)
			}
		}
	}
	assert.Contains(t, bk.String(), "tenant")
	assert.Contains(t, bk.String(), bk.Version)
	assert.Contains(t, bk.String(), "REDACTED")

	saved := append([]byte(nil), key...)
	cl := bk.Clone()
	require.Equal(t, bk, cl)
	bk.Zero()
	bc.Zero()
	assert.Equal(t, make([]byte, 32), bk.Key)
	assert.Equal(t, make([]byte, 32), bc.Key)
	assert.Equal(t, saved, cl.Key, "Clone copies the key bytes")
	cl.Context["a"] = "changed"
	assert.Equal(t, "b", bk.Context["a"], "Clone copies the context")
	var nilKey *hierarchy.BranchKey
	nilKey.Zero()
	assert.Nil(t, nilKey.Clone())
	assert.Equal(t, "<nil>", fmt.Sprint(nilKey))
}

// TestUnreachable: a DynamoDB or KMS that cannot be reached is a failure
// that may pass.
func TestUnreachable(t *testing.T) {
	srv := kmstest.NewServer(kmstest.WithRegion(region))
	defer srv.Close()
	arn, err := srv.CreateKey()
	require.NoError(t, err)
	down := ddbClient("http://127.0.0.1:1")
	s, err := hierarchy.NewStore(down, srv.Client(), "t", arn)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = s.GetActiveBranchKey(ctx, "id")
	require.ErrorIs(t, err, hierarchy.ErrTransient)
	assert.Contains(t, err.Error(), "DynamoDB GetItem")
	_, err = s.CreateKey(ctx)
	require.ErrorIs(t, err, hierarchy.ErrTransient)
	require.ErrorIs(t, s.CreateTable(ctx), hierarchy.ErrTransient)

	s, err = hierarchy.NewStore(down, motoKMS("http://127.0.0.1:1"), "t", arn)
	require.NoError(t, err)
	_, err = s.CreateKey(ctx)
	require.ErrorIs(t, err, hierarchy.ErrTransient)
	assert.Contains(t, err.Error(), "KMS GenerateDataKeyWithoutPlaintext")
}

// TestKeysRedactedJSONAndSlog: encoding/json and log/slog (whose JSON
// handler marshals values) never see the key bytes either.
func TestKeysRedactedJSONAndSlog(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(0xa0 + i)
	}
	bk := &hierarchy.BranchKey{ID: "tenant", Version: "bb7a4175-2c3e-42d0-bd65-d5fc4c668f46", Key: key, Context: map[string]string{"a": "b"}}
	bc := &hierarchy.BeaconKey{ID: "tenant", Key: append([]byte(nil), key...)}
	secrets := []string{base64.StdEncoding.EncodeToString(key[:6]), hex.EncodeToString(key[:4]), fmt.Sprint(key[:4])[1:12]}
	for _, v := range []any{bk, bc, *bk, *bc, struct{ K *hierarchy.BranchKey }{bk}} {
		j, err := json.Marshal(v)
		require.NoError(t, err)
		var buf, tbuf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("k", "key", v)
		slog.New(slog.NewTextHandler(&tbuf, nil)).Info("k", "key", v)
		for _, out := range []string{string(j), buf.String(), tbuf.String()} {
			assert.Contains(t, out, "tenant", "%T", v)
			for _, sec := range secrets {
				assert.NotContains(t, out, sec, "%T: %s", v, out)
			}
		}
	}
	j, err := json.Marshal(bk)
	require.NoError(t, err)
	assert.Contains(t, string(j), bk.Version)
}
