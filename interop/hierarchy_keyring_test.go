package interop_test

// Messages of the hierarchical keyring against the official AWS Encryption
// SDK for JavaScript (KmsHierarchicalKeyRingNode and BranchKeyStoreNode
// 5.0.2, run by js/hierarchy.js), with one branch key store in moto
// (DynamoDB and KMS on one port) used by both sides: Go encrypts and JS
// decrypts, JS encrypts and Go decrypts, for several tenants, suites and
// contexts, before and after a VersionKey rotation.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/envelope"
	"github.com/cryptkeeper-go/cryptkeeper/internal/jsenv"
	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/hierarchy"
)

// hkrOp is one operation of js/hierarchy.js.
type hkrOp struct {
	ID          string            `json:"id"`
	Op          string            `json:"op"`
	BranchKeyID string            `json:"branchKeyId,omitempty"`
	Context     map[string]string `json:"context,omitempty"`
	Suite       int               `json:"suite,omitempty"`
	Plaintext   string            `json:"plaintext,omitempty"`
	Output      string            `json:"output,omitempty"`
	Input       string            `json:"input,omitempty"`
}

type hkrEDK struct {
	ProviderID   string `json:"providerId"`
	ProviderInfo string `json:"providerInfo"`
	Version      string `json:"version"`
}

type hkrResult struct {
	OK              bool     `json:"ok"`
	Error           string   `json:"error"`
	Version         string   `json:"version"`
	PlaintextSHA256 string   `json:"plaintextSha256"`
	EDKs            []hkrEDK `json:"edks"`
}

// hkrEnv is the shared store: its moto endpoint, names and the Go store.
type hkrEnv struct {
	t                        *testing.T
	jsDir, dir               string
	endpoint, table, logical string
	arn                      string
	store                    *hierarchy.Store
	batches                  int
}

// runJS runs ops through js/hierarchy.js and returns the results by id.
func (e *hkrEnv) runJS(ops []hkrOp) map[string]hkrResult {
	t := e.t
	t.Helper()
	e.batches++
	name := fmt.Sprintf("hierarchy-%d", e.batches)
	b, err := json.Marshal(map[string]any{
		"endpoint": e.endpoint, "region": "us-west-2", "table": e.table, "logicalName": e.logical,
		"kmsKeyArn": e.arn, "tenantKey": "tenant", "ops": ops,
	})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, name+".json"), b, 0o600))
	cmd := exec.Command("node", "hierarchy.js", e.dir, name)
	cmd.Dir = e.jsDir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "node hierarchy.js: %s", out)
	b, err = os.ReadFile(filepath.Join(e.dir, name+".results.json"))
	require.NoError(t, err)
	res := map[string]hkrResult{}
	require.NoError(t, json.Unmarshal(b, &res))
	for _, op := range ops {
		r, ok := res[op.ID]
		require.True(t, ok, "no result for %s", op.ID)
		require.True(t, r.OK, "JS %s: %s", op.ID, r.Error)
	}
	return res
}

// hkrMessage is one message of the matrix.
type hkrMessage struct {
	id, tenant string
	suite      envelope.SuiteID
	ec         map[string]string
	fixedID    bool // the keyring has a branch key id instead of the supplier
	pt         []byte
}

func (m hkrMessage) file() string { return m.id + ".ct" }

func TestHierarchyKeyringInterop(t *testing.T) {
	jsDir := jsenv.Dir(t)
	url := testserver.Moto(t)
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	ddb := dynamodb.New(dynamodb.Options{BaseEndpoint: aws.String(url), Region: "us-west-2", Credentials: creds, RetryMaxAttempts: 2})
	kc := kms.New(kms.Options{BaseEndpoint: aws.String(url), Region: "us-west-2", Credentials: creds, RetryMaxAttempts: 2})
	key, err := kc.CreateKey(ctx, &kms.CreateKeyInput{})
	require.NoError(t, err)
	e := &hkrEnv{t: t, jsDir: jsDir, dir: t.TempDir(), endpoint: url, table: "hierarchy-interop",
		logical: "hierarchy-interop-logical", arn: aws.ToString(key.KeyMetadata.Arn)}
	e.store, err = hierarchy.NewStore(ddb, kc, e.table, e.arn, hierarchy.WithLogicalName(e.logical))
	require.NoError(t, err)
	require.NoError(t, e.store.CreateTable(ctx))

	// Tenants: one branch key made by Go, two by JS.
	goTenant, err := e.store.CreateKey(ctx, hierarchy.WithNewKeyID("tenant-go"),
		hierarchy.WithKeyContext(map[string]string{"department": "go"}))
	require.NoError(t, err)
	jsTenants := []string{"tenant-js-1", "tenant-js-2"}
	var ops []hkrOp
	for _, id := range jsTenants {
		ops = append(ops, hkrOp{ID: "create-" + id, Op: "createKey", BranchKeyID: id, Context: map[string]string{"department": "js"}})
	}
	e.runJS(ops)
	tenants := append([]string{goTenant}, jsTenants...)

	// The matrix: every tenant with 16-, 24- and 32-byte suites, signed and
	// not, and contexts whose byte order differs from the locale order.
	suites := []envelope.SuiteID{envelope.AES256GCMHKDFSHA512CommitKey, envelope.AES256GCMHKDFSHA512CommitKeyECDSAP384,
		envelope.AES128GCMHKDFSHA256, envelope.AES192GCMHKDFSHA384ECDSAP384}
	messages := func(phase string) []hkrMessage {
		var out []hkrMessage
		for ti, tenant := range tenants {
			for si, suite := range suites {
				ec := map[string]string{"tenant": tenant, "Department": "Admin", "abc": "x", "a_b": "1", "a-b": "2"}
				if si%2 == 1 {
					ec = map[string]string{"tenant": tenant}
				}
				out = append(out, hkrMessage{id: fmt.Sprintf("%s-t%d-s%04x", phase, ti, uint16(suite)), tenant: tenant,
					suite: suite, ec: ec, pt: []byte(fmt.Sprintf("%s message for %s, suite %v", phase, tenant, suite))})
			}
			out = append(out, hkrMessage{id: fmt.Sprintf("%s-t%d-empty", phase, ti), tenant: tenant, fixedID: true,
				suite: envelope.AES256GCMHKDFSHA512CommitKey, pt: []byte("empty context " + phase)})
		}
		return out
	}

	goKeyring := func(m hkrMessage) *hierarchy.Keyring {
		opt := hierarchy.WithBranchKeyIDSupplier(hierarchy.ContextKeySupplier("tenant", nil))
		if m.fixedID {
			opt = hierarchy.WithBranchKeyID(m.tenant)
		}
		kr, err := hierarchy.NewKeyring(e.store, opt)
		require.NoError(t, err)
		return kr
	}
	goEncrypt := func(ms []hkrMessage) {
		for _, m := range ms {
			opts := []envelope.Option{envelope.WithSuite(m.suite), envelope.WithContext(m.ec)}
			if !m.suite.Committing() {
				opts = append(opts, envelope.WithCommitmentPolicy(envelope.ForbidEncryptAllowDecrypt))
			}
			ct, err := envelope.Encrypt(ctx, goKeyring(m), m.pt, opts...)
			require.NoError(t, err, m.id)
			require.NoError(t, os.WriteFile(filepath.Join(e.dir, "go-"+m.file()), ct, 0o600))
		}
	}
	jsEncryptOps := func(ms []hkrMessage) []hkrOp {
		var ops []hkrOp
		for _, m := range ms {
			require.NoError(t, os.WriteFile(filepath.Join(e.dir, m.id+".pt"), m.pt, 0o600))
			op := hkrOp{ID: "encrypt-" + m.id, Op: "encrypt", Suite: int(m.suite), Context: m.ec,
				Plaintext: m.id + ".pt", Output: "js-" + m.file()}
			if m.fixedID {
				op.BranchKeyID = m.tenant
			}
			ops = append(ops, op)
		}
		return ops
	}
	jsDecryptOps := func(ms []hkrMessage) []hkrOp {
		var ops []hkrOp
		for _, m := range ms {
			op := hkrOp{ID: "decrypt-" + m.id, Op: "decrypt", Input: "go-" + m.file(), Context: m.ec}
			if m.fixedID {
				op.BranchKeyID = m.tenant
			}
			ops = append(ops, op)
		}
		return ops
	}
	checkJSDecrypts := func(res map[string]hkrResult, ms []hkrMessage, versions map[string]string) {
		for _, m := range ms {
			r := res["decrypt-"+m.id]
			sum := sha256.Sum256(m.pt)
			require.Equal(t, hex.EncodeToString(sum[:]), r.PlaintextSHA256, m.id)
			require.Equal(t, []hkrEDK{{ProviderID: hierarchy.ProviderID, ProviderInfo: m.tenant, Version: versions[m.tenant]}}, r.EDKs, m.id)
		}
	}
	goDecrypt := func(ms []hkrMessage, versions map[string]string) {
		for _, m := range ms {
			ct, err := os.ReadFile(filepath.Join(e.dir, "js-"+m.file()))
			require.NoError(t, err)
			pt, h, err := envelope.Decrypt(ctx, goKeyring(m), ct, envelope.WithContext(m.ec),
				envelope.WithCommitmentPolicy(envelope.RequireEncryptAllowDecrypt))
			require.NoError(t, err, m.id)
			require.Equal(t, string(m.pt), string(pt), m.id)
			require.Len(t, h.EncryptedDataKeys, 1)
			edk := h.EncryptedDataKeys[0]
			require.Equal(t, m.tenant, string(edk.ProviderInfo))
			require.Equal(t, versions[m.tenant], uuidAt(edk.Ciphertext[28:44]), m.id)
		}
	}
	activeVersions := func() map[string]string {
		v := map[string]string{}
		for _, id := range tenants {
			bk, err := e.store.GetActiveBranchKey(ctx, id)
			require.NoError(t, err)
			v[id] = bk.Version
			bk.Zero()
		}
		return v
	}

	// Before rotation.
	v1 := activeVersions()
	pre := messages("pre")
	goEncrypt(pre)
	ops = jsEncryptOps(pre)
	for _, id := range jsTenants {
		ops = append(ops, hkrOp{ID: "version-" + id, Op: "versionKey", BranchKeyID: id})
	}
	res := e.runJS(ops)
	for _, m := range pre {
		require.Equal(t, []hkrEDK{{ProviderID: hierarchy.ProviderID, ProviderInfo: m.tenant, Version: v1[m.tenant]}}, res["encrypt-"+m.id].EDKs)
	}
	goDecrypt(pre, v1)

	// After rotation (JS rotated its tenants, Go rotates its own).
	require.NoError(t, e.store.VersionKey(ctx, goTenant))
	v2 := activeVersions()
	for _, id := range tenants {
		require.NotEqual(t, v1[id], v2[id], "%s was rotated", id)
	}
	post := messages("post")
	goEncrypt(post)
	ops = jsEncryptOps(post)
	ops = append(ops, jsDecryptOps(pre)...)
	ops = append(ops, jsDecryptOps(post)...)
	for _, id := range tenants {
		ops = append(ops, hkrOp{ID: "active-" + id, Op: "activeVersion", BranchKeyID: id})
	}
	res = e.runJS(ops)
	for _, id := range tenants {
		require.Equal(t, v2[id], res["active-"+id].Version)
	}
	checkJSDecrypts(res, pre, v1)
	checkJSDecrypts(res, post, v2)
	goDecrypt(post, v2)
	goDecrypt(pre, v1) // old JS messages still decrypt in Go after the rotation
	t.Logf("%d messages each way over %d tenants, before and after rotation", len(pre)+len(post), len(tenants))
}

func uuidAt(b []byte) string {
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
