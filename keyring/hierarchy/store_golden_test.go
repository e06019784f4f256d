package hierarchy_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/hierarchy"
)

// recordDDB records the TransactWriteItems inputs it forwards.
type recordDDB struct {
	hierarchy.DynamoDB
	writes []*dynamodb.TransactWriteItemsInput
}

func (r *recordDDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	r.writes = append(r.writes, in)
	return r.DynamoDB.TransactWriteItems(ctx, in, o...)
}

// testGolden checks the items and the KMS encryption contexts against the
// reference's example (HIERARCHY.md 1.2, 1.3): JS createKey of tenant-b
// with {department: admin}, made again with the same clock and version.
func testGolden(t *testing.T, b *backend) {
	ctx := context.Background()
	const (
		v1    = "bb7a4175-2c3e-42d0-bd65-d5fc4c668f46"
		v2    = "83eec007-5659-4554-bf11-699b90f41ac6"
		ts1   = "2026-11-30T03:56:55.515000Z"
		ts2   = "2026-12-01T00:00:00.000001Z"
		lname = "example-logical-keystore"
	)
	tab := b.newStore(t)
	hook := &kmsHook{KMS: b.kms}
	rec := &recordDDB{DynamoDB: b.ddb}
	st, err := hierarchy.NewStore(rec, hook, tab.Table(), b.arn, hierarchy.WithLogicalName(lname))
	require.NoError(t, err)
	clock := time.Date(2026, 11, 30, 4, 56, 55, 515_000_000, time.FixedZone("CET", 3600)).In(time.FixedZone("X", -7*3600))
	uuids := []string{v1, v2}
	hierarchy.SetClock(st, func() time.Time { return clock }, func() (string, error) {
		u := uuids[0]
		uuids = uuids[1:]
		return u, nil
	})
	id, err := st.CreateKey(ctx, hierarchy.WithNewKeyID("tenant-b"), hierarchy.WithKeyContext(map[string]string{"department": "admin"}))
	require.NoError(t, err)

	decryptOnly := map[string]string{
		"branch-key-id": "tenant-b", "type": "branch:version:" + v1, "create-time": ts1,
		"tablename": lname, "kms-arn": b.arn, "hierarchy-version": "1", "aws-crypto-ec:department": "admin",
	}
	active := maps.Clone(decryptOnly)
	active["type"] = "branch:ACTIVE"
	active["version"] = "branch:version:" + v1
	beacon := maps.Clone(decryptOnly)
	beacon["type"] = "beacon:ACTIVE"
	assert.Equal(t, []map[string]string{decryptOnly, beacon}, hook.calls["GenerateDataKeyWithoutPlaintext"])
	assert.Equal(t, []map[string]string{decryptOnly}, hook.calls["ReEncrypt.Source"])
	assert.Equal(t, []map[string]string{active}, hook.calls["ReEncrypt.Destination"])

	// The items: the reference's example, attribute for attribute.
	wantItem := func(ec map[string]string) map[string]string {
		w := map[string]string{}
		for k, v := range ec {
			switch k {
			case "tablename":
			case "hierarchy-version":
				w[k] = "N:" + v
			default:
				w[k] = "S:" + v
			}
		}
		w["enc"] = "B"
		return w
	}
	assert.Equal(t, map[string]string{
		"branch-key-id": "S:tenant-b", "type": "S:branch:ACTIVE", "version": "S:branch:version:" + v1,
		"create-time": "S:" + ts1, "kms-arn": "S:" + b.arn, "hierarchy-version": "N:1",
		"aws-crypto-ec:department": "S:admin", "enc": "B",
	}, layout(getItem(t, b, st, id, "branch:ACTIVE")))
	assert.Equal(t, wantItem(decryptOnly), layout(getItem(t, b, st, id, "branch:version:"+v1)))
	assert.Equal(t, wantItem(beacon), layout(getItem(t, b, st, id, "beacon:ACTIVE")))

	// One transaction of three puts, in order, each conditioned on the id.
	require.Len(t, rec.writes, 1)
	puts := rec.writes[0].TransactItems
	require.Len(t, puts, 3)
	for i, typ := range []string{"branch:version:" + v1, "branch:ACTIVE", "beacon:ACTIVE"} {
		p := puts[i].Put
		require.NotNil(t, p)
		assert.Equal(t, s(typ), p.Item["type"])
		assert.Equal(t, "attribute_not_exists(#b)", aws.ToString(p.ConditionExpression))
		assert.Equal(t, map[string]string{"#b": "branch-key-id"}, p.ExpressionAttributeNames)
		assert.Equal(t, tab.Table(), aws.ToString(p.TableName))
	}

	// Reads send the item's context plus the logical name.
	hook.calls = nil
	_, err = st.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	_, err = st.GetBeaconKey(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, []map[string]string{active, beacon}, hook.calls["Decrypt"])

	// Rotation: authenticate the old ACTIVE item, then the new version with
	// the old custom context and the enc lock on ACTIVE.
	clock = time.Date(2026, 12, 1, 0, 0, 0, 1000, time.UTC)
	hook.calls = nil
	oldEnc := getItem(t, b, st, id, "branch:ACTIVE")["enc"]
	require.NoError(t, st.VersionKey(ctx, id))
	decryptOnly2 := maps.Clone(decryptOnly)
	decryptOnly2["type"] = "branch:version:" + v2
	decryptOnly2["create-time"] = ts2
	active2 := maps.Clone(decryptOnly2)
	active2["type"] = "branch:ACTIVE"
	active2["version"] = "branch:version:" + v2
	assert.Equal(t, []map[string]string{active, decryptOnly2}, hook.calls["ReEncrypt.Source"])
	assert.Equal(t, []map[string]string{active, active2}, hook.calls["ReEncrypt.Destination"])
	assert.Equal(t, []map[string]string{decryptOnly2}, hook.calls["GenerateDataKeyWithoutPlaintext"])
	require.Len(t, rec.writes, 2)
	puts = rec.writes[1].TransactItems
	require.Len(t, puts, 2)
	assert.Equal(t, "attribute_not_exists(#b)", aws.ToString(puts[0].Put.ConditionExpression))
	assert.Equal(t, s("branch:version:"+v2), puts[0].Put.Item["type"])
	assert.Equal(t, "attribute_exists(#b) AND #e = :old", aws.ToString(puts[1].Put.ConditionExpression))
	assert.Equal(t, map[string]string{"#b": "branch-key-id", "#e": "enc"}, puts[1].Put.ExpressionAttributeNames)
	assert.Equal(t, map[string]types.AttributeValue{":old": oldEnc}, puts[1].Put.ExpressionAttributeValues)
	assert.Equal(t, wantItem(active2), layout(getItem(t, b, st, id, "branch:ACTIVE")))
	assert.Equal(t, wantItem(decryptOnly2), layout(getItem(t, b, st, id, "branch:version:"+v2)))
}

// layout renders an item as attribute → "T:value" ("B" for binaries).
func layout(it map[string]types.AttributeValue) map[string]string {
	out := map[string]string{}
	for k, v := range it {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			out[k] = "S:" + v.Value
		case *types.AttributeValueMemberN:
			out[k] = "N:" + v.Value
		case *types.AttributeValueMemberB:
			out[k] = "B"
		default:
			out[k] = fmt.Sprintf("%T", v)
		}
	}
	return out
}
