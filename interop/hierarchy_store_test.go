package interop_test

// TestHierarchyStore checks the branch key store of keyring/hierarchy
// against the official JavaScript BranchKeyStoreNode (5.0.2), through
// js/hierarchy_store.js: keys created and rotated here are read there
// (active key, every version, beacon key) with the same key bytes,
// versions and custom encryption context, and keys created and rotated
// there are read here. DynamoDB is moto; KMS is moto, then kmstest.
// (moto cannot decrypt multi-Region key ciphertexts: plain keys only.)

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/internal/jsenv"
	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/hierarchy"
)

type storeOp struct {
	Op      string            `json:"op"`
	ID      string            `json:"id,omitempty"`
	Version string            `json:"version,omitempty"`
	Context map[string]string `json:"context,omitempty"`
}

type storeRun struct {
	Region      string    `json:"region"`
	DDBEndpoint string    `json:"ddbEndpoint"`
	KMSEndpoint string    `json:"kmsEndpoint"`
	AccessKeyID string    `json:"accessKeyId"`
	Table       string    `json:"table"`
	LogicalName string    `json:"logicalName"`
	KMSArn      string    `json:"kmsArn"`
	Ops         []storeOp `json:"ops"`
}

type storeResult struct {
	OK      bool              `json:"ok"`
	Error   string            `json:"error"`
	ID      string            `json:"id"`
	Version string            `json:"version"`
	Key     string            `json:"key"`
	Context map[string]string `json:"context"`
}

func runStoreJS(t *testing.T, jsDir string, r *storeRun) []storeResult {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json")
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(in, b, 0o600))
	cmd := exec.CommandContext(t.Context(), "node", "hierarchy_store.js", in, out)
	cmd.Dir = jsDir
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "node hierarchy_store.js: %s", msg)
	b, err = os.ReadFile(out)
	require.NoError(t, err)
	var res []storeResult
	require.NoError(t, json.Unmarshal(b, &res))
	require.Len(t, res, len(r.Ops))
	return res
}

func TestHierarchyStore(t *testing.T) {
	jsDir := jsenv.Dir(t)
	url := testserver.Moto(t)
	const region = "us-west-2"
	creds := credentials.NewStaticCredentialsProvider("AKIDMOTO", "secret", "")
	ddb := dynamodb.New(dynamodb.Options{BaseEndpoint: aws.String(url), Region: region, Credentials: creds, RetryMaxAttempts: 2})
	motoKMS := motoClient(url, region)
	mk, err := motoKMS.CreateKey(t.Context(), &kms.CreateKeyInput{})
	require.NoError(t, err)
	srv := kmstest.NewServer(kmstest.WithRegion(region))
	t.Cleanup(srv.Close)
	tk, err := srv.CreateKey()
	require.NoError(t, err)

	for _, kc := range []struct {
		name, endpoint, accessKey, arn string
		client                         hierarchy.KMS
	}{
		{"moto", url, "AKIDMOTO", aws.ToString(mk.KeyMetadata.Arn), motoKMS},
		{"kmstest", srv.URL, kmstest.DefaultAccessKey, tk, srv.Client()},
	} {
		t.Run(kc.name, func(t *testing.T) {
			table := "hierarchy-interop-" + kc.name + "-" + rand.Text()[:8]
			st, err := hierarchy.NewStore(ddb, kc.client, table, kc.arn, hierarchy.WithLogicalName("interop-logical"))
			require.NoError(t, err)
			require.NoError(t, st.CreateTable(t.Context()))
			run := func(ops ...storeOp) []storeResult {
				return runStoreJS(t, jsDir, &storeRun{Region: region, DDBEndpoint: url, KMSEndpoint: kc.endpoint,
					AccessKeyID: kc.accessKey, Table: table, LogicalName: "interop-logical", KMSArn: kc.arn, Ops: ops})
			}
			testStoreGoToJS(t, st, run)
			testStoreJSToGo(t, st, run)

			// Another logical name changes every KMS context: JS refuses too.
			res := runStoreJS(t, jsDir, &storeRun{Region: region, DDBEndpoint: url, KMSEndpoint: kc.endpoint,
				AccessKeyID: kc.accessKey, Table: table, LogicalName: "other-logical", KMSArn: kc.arn,
				Ops: []storeOp{{Op: "active", ID: "tenant-go"}, {Op: "beacon", ID: "tenant-go"}}})
			for _, r := range res {
				assert.False(t, r.OK, "JS read a key under another logical name")
			}
		})
	}
}

// testStoreGoToJS: keys created and rotated here, read by JS.
func testStoreGoToJS(t *testing.T, st *hierarchy.Store, run func(...storeOp) []storeResult) {
	ctx := context.Background()
	plain, err := st.CreateKey(ctx)
	require.NoError(t, err)
	ec := map[string]string{"Department": "admin", "tenant": "acme", "x_y-z": "ü"}
	tenant, err := st.CreateKey(ctx, hierarchy.WithNewKeyID("tenant-go"), hierarchy.WithKeyContext(ec))
	require.NoError(t, err)
	old, err := st.GetActiveBranchKey(ctx, tenant)
	require.NoError(t, err)
	require.NoError(t, st.VersionKey(ctx, tenant))

	type want struct {
		op  storeOp
		key []byte
		ver string
		ec  map[string]string
	}
	var wants []want
	for _, id := range []string{plain, tenant} {
		a, err := st.GetActiveBranchKey(ctx, id)
		require.NoError(t, err)
		b, err := st.GetBeaconKey(ctx, id)
		require.NoError(t, err)
		wants = append(wants,
			want{storeOp{Op: "active", ID: id}, a.Key, a.Version, a.Context},
			want{storeOp{Op: "version", ID: id, Version: a.Version}, a.Key, a.Version, a.Context},
			want{storeOp{Op: "beacon", ID: id}, b.Key, "", b.Context})
	}
	wants = append(wants, want{storeOp{Op: "version", ID: tenant, Version: old.Version}, old.Key, old.Version, ec})
	ops := make([]storeOp, len(wants))
	for i, w := range wants {
		ops[i] = w.op
	}
	res := run(ops...)
	for i, w := range wants {
		r := res[i]
		require.True(t, r.OK, "JS %s %s: %s", w.op.Op, w.op.ID, r.Error)
		assert.Equal(t, w.op.ID, r.ID)
		assert.Equal(t, hex.EncodeToString(w.key), r.Key, "JS %s %s: same key bytes", w.op.Op, w.op.ID)
		assert.Equal(t, w.ver, r.Version, "JS %s %s: same version", w.op.Op, w.op.ID)
		if len(w.ec) == 0 {
			assert.Empty(t, r.Context)
		} else {
			assert.Equal(t, w.ec, r.Context)
		}
	}
	assert.Equal(t, ec, wants[3].ec, "the custom context came back here too")
	assert.NotEqual(t, wants[3].key, wants[len(wants)-1].key, "rotation made a new key")
}

// testStoreJSToGo: keys created and rotated by JS, read here.
func testStoreJSToGo(t *testing.T, st *hierarchy.Store, run func(...storeOp) []storeResult) {
	ctx := context.Background()
	ec := map[string]string{"department": "admin"}
	res := run(
		storeOp{Op: "create", ID: "tenant-js", Context: ec},
		storeOp{Op: "active", ID: "tenant-js"},
		storeOp{Op: "versionKey", ID: "tenant-js"},
		storeOp{Op: "active", ID: "tenant-js"},
		storeOp{Op: "create"},
		storeOp{Op: "create", ID: "tenant-js", Context: ec}, // exists: refused
	)
	for i, r := range res[:5] {
		require.True(t, r.OK, "JS op %d: %s", i, r.Error)
	}
	assert.False(t, res[5].OK, "JS refuses an existing id")
	before, after, plain := res[1], res[3], res[4].ID
	require.NotEqual(t, before.Version, after.Version)

	a, err := st.GetActiveBranchKey(ctx, "tenant-js")
	require.NoError(t, err)
	assert.Equal(t, after.Version, a.Version)
	assert.Equal(t, after.Key, hex.EncodeToString(a.Key))
	assert.Equal(t, ec, a.Context)
	v, err := st.GetBranchKeyVersion(ctx, "tenant-js", before.Version)
	require.NoError(t, err)
	assert.Equal(t, before.Key, hex.EncodeToString(v.Key), "the version JS rotated away from")
	b, err := st.GetBeaconKey(ctx, "tenant-js")
	require.NoError(t, err)
	assert.Equal(t, ec, b.Context)
	jsBeacon := run(storeOp{Op: "beacon", ID: "tenant-js"})
	require.True(t, jsBeacon[0].OK, jsBeacon[0].Error)
	assert.Equal(t, jsBeacon[0].Key, hex.EncodeToString(b.Key))

	p, err := st.GetActiveBranchKey(ctx, plain)
	require.NoError(t, err)
	assert.Nil(t, p.Context)
	require.NoError(t, st.VersionKey(ctx, "tenant-js"), "Go rotates a key JS made")
	_, err = st.CreateKey(ctx, hierarchy.WithNewKeyID("tenant-js"), hierarchy.WithKeyContext(ec))
	require.ErrorIs(t, err, hierarchy.ErrExists)
}
