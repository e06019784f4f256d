package hierarchy_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/hierarchy"
)

type item = map[string]types.AttributeValue

func s(v string) types.AttributeValue   { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue   { return &types.AttributeValueMemberN{Value: v} }
func bin(v []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }

// tamperEnv is a branch key with a custom context, after one rotation, and
// another branch key in the same store.
type tamperEnv struct {
	id, other  string
	oldVersion string
	active     item // the ACTIVE item
	version    item // the old version item
	beacon     item
	otherItem  item // the other key's ACTIVE item
}

// testTampered edits items in the table and checks that every read of the
// edited item fails with ErrInvalidItem (and that the untouched items
// still read).
func testTampered(t *testing.T, b *backend) {
	ctx := context.Background()
	st := b.newStore(t)
	ec := map[string]string{"tenant": "acme"}

	fresh := func(t *testing.T) tamperEnv {
		t.Helper()
		var e tamperEnv
		var err error
		e.id, err = st.CreateKey(ctx, hierarchy.WithNewKeyID("tampered-"+runID), hierarchy.WithKeyContext(ec))
		require.NoError(t, err)
		a, err := st.GetActiveBranchKey(ctx, e.id)
		require.NoError(t, err)
		e.oldVersion = a.Version
		require.NoError(t, st.VersionKey(ctx, e.id))
		e.other, err = st.CreateKey(ctx)
		require.NoError(t, err)
		e.active = getItem(t, b, st, e.id, "branch:ACTIVE")
		e.version = getItem(t, b, st, e.id, "branch:version:"+e.oldVersion)
		e.beacon = getItem(t, b, st, e.id, "beacon:ACTIVE")
		e.otherItem = getItem(t, b, st, e.other, "branch:ACTIVE")
		return e
	}
	set := func(name string, v types.AttributeValue) func(tamperEnv, item) {
		return func(_ tamperEnv, it item) { it[name] = v }
	}
	drop := func(name string) func(tamperEnv, item) {
		return func(_ tamperEnv, it item) { delete(it, name) }
	}
	type tamper struct {
		name   string
		target string // "active", "version" or "beacon"
		edit   func(tamperEnv, item)
		says   string // part of the error text
	}
	tampers := []tamper{
		{"create-time edited", "active", set("create-time", s("2001-01-01T00:00:00.000000Z")), "KMS refused"},
		{"custom context edited", "active", set("aws-crypto-ec:tenant", s("evil")), "KMS refused"},
		{"custom context added", "active", set("aws-crypto-ec:role", s("admin")), "KMS refused"},
		{"custom context removed", "active", drop("aws-crypto-ec:tenant"), "KMS refused"},
		{"version points to the old version", "active", func(e tamperEnv, it item) { it["version"] = s("branch:version:" + e.oldVersion) }, "KMS refused"},
		{"enc of the version item", "active", func(e tamperEnv, it item) { it["enc"] = e.version["enc"] }, "KMS refused"},
		{"enc of another key", "active", func(e tamperEnv, it item) { it["enc"] = e.otherItem["enc"] }, "KMS refused"},
		{"another key's item under this id", "active", func(e tamperEnv, it item) {
			clear(it)
			maps.Copy(it, e.otherItem)
			it["branch-key-id"] = e.active["branch-key-id"]
		}, ""},
		{"unknown string attribute", "active", set("note", s("x")), "KMS refused"},
		{"create-time missing", "active", drop("create-time"), `"create-time" is missing`},
		{"kms-arn missing", "active", drop("kms-arn"), `"kms-arn" is missing`},
		{"hierarchy-version missing", "active", drop("hierarchy-version"), "hierarchy-version"},
		{"enc missing", "active", drop("enc"), `"enc"`},
		{"version missing", "active", drop("version"), `"version" is missing`},
		{"create-time a number", "active", set("create-time", n("1")), "not a string"},
		{"kms-arn a number", "active", set("kms-arn", n("1")), "not a string"},
		{"hierarchy-version a string", "active", set("hierarchy-version", s("1")), "hierarchy-version"},
		{"hierarchy-version 2", "active", set("hierarchy-version", n("2")), "hierarchy-version"},
		{"enc a string", "active", set("enc", s("AAAA")), `"enc"`},
		{"enc too long", "active", set("enc", bin(make([]byte, 6145))), "enc is 6145 bytes"},
		{"version a number", "active", set("version", n("1")), "not a string"},
		{"custom context a number", "active", set("aws-crypto-ec:tenant", n("7")), "not a string"},
		{"extra binary attribute", "active", set("extra", bin([]byte{1})), "not a string"},
		{"tablename stored", "active", set("tablename", s("keystore")), "tablename"},
		{"version without prefix", "active", set("version", s("v1")), "does not name a version"},
		{"version prefix only", "active", set("version", s("branch:version:")), "does not name a version"},
		{"version not a UUID", "active", set("version", s("branch:version:v1")), "not a lowercase v4 UUID"},
		{"version in upper case", "active", func(e tamperEnv, it item) {
			v := strings.TrimPrefix(it["version"].(*types.AttributeValueMemberS).Value, "branch:version:")
			it["version"] = s("branch:version:" + strings.ToUpper(v))
		}, "not a lowercase v4 UUID"},
		{"kms-arn of another key", "active", set("kms-arn", s(b.arn2)), "kms-arn"},
		{"kms-arn an alias", "active", set("kms-arn", s("arn:aws:kms:us-west-2:123456789012:alias/x")), "not a KMS key ARN"},
		{"kms-arn garbage", "active", set("kms-arn", s("key")), "not a KMS key ARN"},
		{"version item with a version", "version", func(e tamperEnv, it item) { it["version"] = e.active["version"] }, "non-ACTIVE"},
		{"version item create-time edited", "version", set("create-time", s("2001-01-01T00:00:00.000000Z")), "KMS refused"},
		{"version item with the ACTIVE enc", "version", func(e tamperEnv, it item) { it["enc"] = e.active["enc"] }, "KMS refused"},
		{"beacon item create-time edited", "beacon", set("create-time", s("2001-01-01T00:00:00.000000Z")), "KMS refused"},
		{"beacon item with a version", "beacon", func(e tamperEnv, it item) { it["version"] = e.active["version"] }, "non-ACTIVE"},
		{"beacon item with the version enc", "beacon", func(e tamperEnv, it item) { it["enc"] = e.version["enc"] }, "KMS refused"},
	}
	// One branch key; each case edits one item and puts it back after.
	e := fresh(t)
	for _, tc := range tampers {
		t.Run(tc.name, func(t *testing.T) {
			var it item
			var read func() error
			switch tc.target {
			case "active":
				it = maps.Clone(e.active)
				read = func() error { _, err := st.GetActiveBranchKey(ctx, e.id); return err }
			case "version":
				it = maps.Clone(e.version)
				read = func() error { _, err := st.GetBranchKeyVersion(ctx, e.id, e.oldVersion); return err }
			default:
				it = maps.Clone(e.beacon)
				read = func() error { _, err := st.GetBeaconKey(ctx, e.id); return err }
			}
			original := maps.Clone(it)
			t.Cleanup(func() { putItem(t, b, st, original) })
			tc.edit(e, it)
			putItem(t, b, st, it)
			err := read()
			require.ErrorIs(t, err, hierarchy.ErrInvalidItem)
			assert.NotErrorIs(t, err, hierarchy.ErrTransient)
			assert.Contains(t, err.Error(), tc.says)
			assert.Contains(t, err.Error(), e.id)
			if tc.target == "active" {
				require.ErrorIs(t, st.VersionKey(ctx, e.id), hierarchy.ErrInvalidItem, "rotation checks the ACTIVE item too")
			}
			// The other key is untouched and still reads.
			_, err = st.GetActiveBranchKey(ctx, e.other)
			require.NoError(t, err)
		})
	}
	// Put back, every item reads again (the edits were the faults).
	_, err := st.GetActiveBranchKey(ctx, e.id)
	require.NoError(t, err)
	_, err = st.GetBranchKeyVersion(ctx, e.id, e.oldVersion)
	require.NoError(t, err)
	_, err = st.GetBeaconKey(ctx, e.id)
	require.NoError(t, err)
}

// swapDDB answers GetItem with another item than the one asked for, as a
// misbehaving table or proxy could.
type swapDDB struct {
	hierarchy.DynamoDB
	id, typ string // asked for instead (when not "")
}

func (w *swapDDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	cp := *in
	cp.Key = maps.Clone(in.Key)
	if w.id != "" {
		cp.Key["branch-key-id"] = s(w.id)
	}
	if w.typ != "" {
		cp.Key["type"] = s(w.typ)
	}
	return w.DynamoDB.GetItem(ctx, &cp, o...)
}

// testSwapped reads through a table that answers with the wrong item.
func testSwapped(t *testing.T, b *backend) {
	ctx := context.Background()
	st := b.newStore(t)
	id, err := st.CreateKey(ctx)
	require.NoError(t, err)
	other, err := st.CreateKey(ctx)
	require.NoError(t, err)
	a, err := st.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)

	for name, w := range map[string]*swapDDB{
		"another key's item": {id: other},
		"the version item":   {typ: "branch:version:" + a.Version},
		"the beacon item":    {typ: "beacon:ACTIVE"},
	} {
		t.Run(name, func(t *testing.T) {
			w.DynamoDB = b.ddb
			sw, err := hierarchy.NewStore(w, b.kms, st.Table(), b.arn, hierarchy.WithLogicalName(st.LogicalName()))
			require.NoError(t, err)
			_, err = sw.GetActiveBranchKey(ctx, id)
			require.ErrorIs(t, err, hierarchy.ErrInvalidItem)
			if w.id != "" {
				assert.Contains(t, err.Error(), "branch-key-id is")
			} else {
				assert.Contains(t, err.Error(), "type is")
			}
		})
	}
	sw, err := hierarchy.NewStore(&swapDDB{DynamoDB: b.ddb, typ: "branch:ACTIVE"}, b.kms, st.Table(), b.arn, hierarchy.WithLogicalName(st.LogicalName()))
	require.NoError(t, err)
	_, err = sw.GetBeaconKey(ctx, id)
	require.ErrorIs(t, err, hierarchy.ErrInvalidItem)
	_, err = sw.GetBranchKeyVersion(ctx, id, a.Version)
	require.ErrorIs(t, err, hierarchy.ErrInvalidItem)
}
