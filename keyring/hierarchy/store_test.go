package hierarchy_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/hierarchy"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestStore runs the store against moto (DynamoDB and KMS) and against
// moto (DynamoDB) with kmstest (KMS), with one moto process.
func TestStore(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, b) })
			t.Run("ChosenID", func(t *testing.T) { testChosenID(t, b) })
			t.Run("NotFound", func(t *testing.T) { testNotFound(t, b) })
			t.Run("Tampered", func(t *testing.T) { testTampered(t, b) })
			t.Run("Swapped", func(t *testing.T) { testSwapped(t, b) })
			t.Run("OtherStore", func(t *testing.T) { testOtherStore(t, b) })
			t.Run("RotationConflict", func(t *testing.T) { testRotationConflict(t, b) })
			t.Run("KMSAnswers", func(t *testing.T) { testKMSAnswers(t, b) })
			t.Run("ReEncryptAnswers", func(t *testing.T) { testReEncryptAnswers(t, b) })
			t.Run("GrantTokens", func(t *testing.T) { testGrantTokens(t, b) })
			t.Run("CreateTable", func(t *testing.T) { testCreateTable(t, b) })
			t.Run("Golden", func(t *testing.T) { testGolden(t, b) })
			if b.kmsT != nil {
				t.Run("Transient", func(t *testing.T) { testTransient(t, b) })
				t.Run("MultiRegion", func(t *testing.T) { testMultiRegion(t, b) })
			}
		})
	}
}

func testLifecycle(t *testing.T, b *backend) {
	ctx := context.Background()
	s := b.newStore(t, hierarchy.WithLogicalName("lifecycle"))
	id, err := s.CreateKey(ctx)
	require.NoError(t, err)
	assert.Regexp(t, uuidV4, id)

	a1, err := s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, id, a1.ID)
	assert.Regexp(t, uuidV4, a1.Version)
	assert.Len(t, a1.Key, 32)
	assert.Nil(t, a1.Context)

	v1, err := s.GetBranchKeyVersion(ctx, id, a1.Version)
	require.NoError(t, err)
	assert.Equal(t, a1.Key, v1.Key, "the ACTIVE item and its version item hold the same key")
	assert.Equal(t, a1.Version, v1.Version)

	bk1, err := s.GetBeaconKey(ctx, id)
	require.NoError(t, err)
	assert.Len(t, bk1.Key, 32)
	assert.NotEqual(t, a1.Key, bk1.Key, "the beacon key is a separate key")
	raw, err := s.BeaconKey(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, bk1.Key, raw)

	// Each read returns bytes of its own: zeroing one leaves the others.
	again, err := s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	again.Zero()
	assert.NotEqual(t, make([]byte, 32), a1.Key)

	require.NoError(t, s.VersionKey(ctx, id))
	a2, err := s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	assert.NotEqual(t, a1.Version, a2.Version)
	assert.NotEqual(t, a1.Key, a2.Key)
	old, err := s.GetBranchKeyVersion(ctx, id, a1.Version)
	require.NoError(t, err)
	assert.Equal(t, a1.Key, old.Key, "old versions stay readable after a rotation")
	v2, err := s.GetBranchKeyVersion(ctx, id, a2.Version)
	require.NoError(t, err)
	assert.Equal(t, a2.Key, v2.Key)
	bk2, err := s.GetBeaconKey(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, bk1.Key, bk2.Key, "rotation leaves the beacon key alone")

	// A second key is independent.
	id2, err := s.CreateKey(ctx)
	require.NoError(t, err)
	other, err := s.GetActiveBranchKey(ctx, id2)
	require.NoError(t, err)
	assert.NotEqual(t, a2.Key, other.Key)
}

func testChosenID(t *testing.T, b *backend) {
	ctx := context.Background()
	s := b.newStore(t)
	ec := map[string]string{"department": "admin", "Tenant": "acme"}
	id, err := s.CreateKey(ctx, hierarchy.WithNewKeyID("tenant-b"), hierarchy.WithKeyContext(ec))
	require.NoError(t, err)
	assert.Equal(t, "tenant-b", id)
	ec["department"] = "changed" // the option copied the map

	a, err := s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	want := map[string]string{"department": "admin", "Tenant": "acme"}
	assert.Equal(t, want, a.Context)
	bk, err := s.GetBeaconKey(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, want, bk.Context)
	require.NoError(t, s.VersionKey(ctx, id))
	a2, err := s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, want, a2.Context, "rotation keeps the custom context")

	item := getItem(t, b, s, id, "branch:ACTIVE")
	assert.Equal(t, &types.AttributeValueMemberS{Value: "admin"}, item["aws-crypto-ec:department"])

	// The id exists: the conditional write fails, nothing changes.
	_, err = s.CreateKey(ctx, hierarchy.WithNewKeyID("tenant-b"), hierarchy.WithKeyContext(want))
	require.ErrorIs(t, err, hierarchy.ErrExists)
	assert.NotErrorIs(t, err, hierarchy.ErrTransient)
	a3, err := s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, a2.Key, a3.Key)

	// A chosen id needs a custom context (as in the reference).
	_, err = s.CreateKey(ctx, hierarchy.WithNewKeyID("tenant-c"))
	require.ErrorIs(t, err, hierarchy.ErrInvalidOption)
	_, err = s.CreateKey(ctx, hierarchy.WithNewKeyID(""))
	require.ErrorIs(t, err, hierarchy.ErrInvalidOption)
	for _, bad := range []map[string]string{{"": "x"}, {"a\xff": "x"}, {"a": "\xff"}} {
		_, err = s.CreateKey(ctx, hierarchy.WithKeyContext(bad))
		require.ErrorIs(t, err, hierarchy.ErrInvalidOption)
	}
	for _, bad := range []string{"\xff", strings.Repeat("x", 2049)} {
		_, err = s.CreateKey(ctx, hierarchy.WithNewKeyID(bad), hierarchy.WithKeyContext(want))
		require.ErrorIs(t, err, hierarchy.ErrInvalidOption)
	}
}

func testNotFound(t *testing.T, b *backend) {
	ctx := context.Background()
	s := b.newStore(t)
	_, err := s.GetActiveBranchKey(ctx, "nobody")
	require.ErrorIs(t, err, hierarchy.ErrNotFound)
	_, err = s.GetBeaconKey(ctx, "nobody")
	require.ErrorIs(t, err, hierarchy.ErrNotFound)
	err = s.VersionKey(ctx, "nobody")
	require.ErrorIs(t, err, hierarchy.ErrNotFound)
	id, err := s.CreateKey(ctx)
	require.NoError(t, err)
	_, err = s.GetBranchKeyVersion(ctx, id, "4a0f4cc5-3b7e-4d4e-9c53-2fcf53f0c2f1")
	require.ErrorIs(t, err, hierarchy.ErrNotFound)
	assert.Contains(t, err.Error(), id)
	_, err = s.GetActiveBranchKey(ctx, "")
	require.ErrorIs(t, err, hierarchy.ErrInvalidOption)
	for _, v := range []string{"", "v1", "4A0F4CC5-3B7E-4D4E-9C53-2FCF53F0C2F1", "4a0f4cc5-3b7e-1d4e-9c53-2fcf53f0c2f1"} {
		_, err = s.GetBranchKeyVersion(ctx, id, v)
		require.ErrorIs(t, err, hierarchy.ErrInvalidOption, v)
	}
}

// testOtherStore reads a table through stores that are not its own: another
// logical name, another KMS key.
func testOtherStore(t *testing.T, b *backend) {
	ctx := context.Background()
	s := b.newStore(t, hierarchy.WithLogicalName("name-one"))
	id, err := s.CreateKey(ctx)
	require.NoError(t, err)

	renamed, err := hierarchy.NewStore(b.ddb, b.kms, s.Table(), b.arn, hierarchy.WithLogicalName("name-two"))
	require.NoError(t, err)
	_, err = renamed.GetActiveBranchKey(ctx, id)
	require.ErrorIs(t, err, hierarchy.ErrInvalidItem, "another logical name changes the context: KMS refuses")
	assert.Contains(t, err.Error(), "KMS refused")
	_, err = renamed.GetBeaconKey(ctx, id)
	require.ErrorIs(t, err, hierarchy.ErrInvalidItem)
	require.ErrorIs(t, renamed.VersionKey(ctx, id), hierarchy.ErrInvalidItem)

	// A copy of the items in another table, read under the same logical
	// name, still reads: the physical table name is not bound.
	want, err := s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	restored := b.newStore(t, hierarchy.WithLogicalName("name-one"))
	for _, typ := range []string{"branch:ACTIVE", "branch:version:" + want.Version, "beacon:ACTIVE"} {
		putItem(t, b, restored, getItem(t, b, s, id, typ))
	}
	got, err := restored.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, want.Key, got.Key)
	_, err = restored.GetBeaconKey(ctx, id)
	require.NoError(t, err)
	require.NoError(t, restored.VersionKey(ctx, id))

	otherKey, err := hierarchy.NewStore(b.ddb, b.kms, s.Table(), b.arn2, hierarchy.WithLogicalName("name-one"))
	require.NoError(t, err)
	_, err = otherKey.GetActiveBranchKey(ctx, id)
	require.ErrorIs(t, err, hierarchy.ErrInvalidItem)
	assert.Contains(t, err.Error(), "kms-arn")
}

// racingDDB runs a hook before the first TransactWriteItems it forwards.
type racingDDB struct {
	hierarchy.DynamoDB
	before func()
}

func (r *racingDDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	return r.DynamoDB.TransactWriteItems(ctx, in, o...)
}

func testRotationConflict(t *testing.T, b *backend) {
	ctx := context.Background()
	s := b.newStore(t)
	id, err := s.CreateKey(ctx)
	require.NoError(t, err)
	var winner *hierarchy.BranchKey
	race := &racingDDB{DynamoDB: b.ddb, before: func() {
		// Another writer rotates between our read and our write.
		require.NoError(t, s.VersionKey(ctx, id))
		winner, err = s.GetActiveBranchKey(ctx, id)
		require.NoError(t, err)
	}}
	loser, err := hierarchy.NewStore(race, b.kms, s.Table(), b.arn, hierarchy.WithLogicalName(s.LogicalName()))
	require.NoError(t, err)
	err = loser.VersionKey(ctx, id)
	require.ErrorIs(t, err, hierarchy.ErrConflict)
	assert.NotErrorIs(t, err, hierarchy.ErrTransient)
	now, err := s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, winner.Version, now.Version, "the losing rotation wrote nothing")
	assert.Equal(t, winner.Key, now.Key)
	// Without a race the same store rotates.
	require.NoError(t, loser.VersionKey(ctx, id))
}

func testKMSAnswers(t *testing.T, b *backend) {
	ctx := context.Background()
	s := b.newStore(t)
	id, err := s.CreateKey(ctx)
	require.NoError(t, err)
	for name, change := range map[string]func(*kms.DecryptOutput){
		"short key": func(o *kms.DecryptOutput) { o.Plaintext = o.Plaintext[:31] },
		"long key":  func(o *kms.DecryptOutput) { o.Plaintext = append(o.Plaintext, 0) },
		"other key": func(o *kms.DecryptOutput) { o.KeyId = aws.String(b.arn2) },
		"no key id": func(o *kms.DecryptOutput) { o.KeyId = nil },
	} {
		t.Run(name, func(t *testing.T) {
			hooked, err := hierarchy.NewStore(b.ddb, &kmsHook{KMS: b.kms, decrypt: change}, s.Table(), b.arn)
			require.NoError(t, err)
			_, err = hooked.GetActiveBranchKey(ctx, id)
			require.ErrorIs(t, err, hierarchy.ErrInvalidItem)
			_, err = hooked.GetBeaconKey(ctx, id)
			require.ErrorIs(t, err, hierarchy.ErrInvalidItem)
		})
	}
}

// testReEncryptAnswers: CreateKey and VersionKey refuse a ReEncrypt that
// answers for another key, and write nothing.
func testReEncryptAnswers(t *testing.T, b *backend) {
	ctx := context.Background()
	s := b.newStore(t)
	id, err := s.CreateKey(ctx)
	require.NoError(t, err)
	before, err := s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	for name, change := range map[string]func(*kms.ReEncryptOutput){
		"destination": func(o *kms.ReEncryptOutput) { o.KeyId = aws.String(b.arn2) },
		"source":      func(o *kms.ReEncryptOutput) { o.SourceKeyId = aws.String(b.arn2) },
	} {
		t.Run(name, func(t *testing.T) {
			hooked, err := hierarchy.NewStore(b.ddb, &kmsHook{KMS: b.kms, reEncrypt: change}, s.Table(), b.arn)
			require.NoError(t, err)
			_, err = hooked.CreateKey(ctx, hierarchy.WithNewKeyID("refused-"+name), hierarchy.WithKeyContext(map[string]string{"a": "b"}))
			require.ErrorContains(t, err, "KMS ReEncrypt answered")
			_, err = s.GetActiveBranchKey(ctx, "refused-"+name)
			require.ErrorIs(t, err, hierarchy.ErrNotFound)
			require.ErrorContains(t, hooked.VersionKey(ctx, id), "KMS ReEncrypt answered")
		})
	}
	after, err := s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, before.Version, after.Version)
}

// testGrantTokens: every KMS call carries the grant tokens.
func testGrantTokens(t *testing.T, b *backend) {
	ctx := context.Background()
	hook := &kmsHook{KMS: b.kms}
	s, err := hierarchy.NewStore(b.ddb, hook, b.newStore(t).Table(), b.arn, hierarchy.WithGrantTokens("g1", "g2"))
	require.NoError(t, err)
	id, err := s.CreateKey(ctx)
	require.NoError(t, err)
	require.NoError(t, s.VersionKey(ctx, id))
	_, err = s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	_, err = s.GetBeaconKey(ctx, id)
	require.NoError(t, err)
	for _, op := range []string{"GenerateDataKeyWithoutPlaintext", "ReEncrypt", "Decrypt"} {
		require.NotEmpty(t, hook.grants[op], op)
		for _, g := range hook.grants[op] {
			assert.Equal(t, []string{"g1", "g2"}, g, op)
		}
	}
}

// creatingDDB answers its first DescribeTable with the table CREATING.
type creatingDDB struct {
	hierarchy.DynamoDB
	describes int
}

func (c *creatingDDB) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, o ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	c.describes++
	out, err := c.DynamoDB.DescribeTable(ctx, in, o...)
	if err == nil && c.describes == 1 {
		out.Table.TableStatus = types.TableStatusCreating
	}
	return out, err
}

func testCreateTable(t *testing.T, b *backend) {
	ctx := context.Background()
	s := b.newStore(t)
	require.NoError(t, s.CreateTable(ctx), "an existing table with the right keys is fine")

	_, err := b.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("not-a-keystore-" + runID + b.name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	require.NoError(t, err)
	wrong, err := hierarchy.NewStore(b.ddb, b.kms, "not-a-keystore-"+runID+b.name, b.arn)
	require.NoError(t, err)
	require.ErrorIs(t, wrong.CreateTable(ctx), hierarchy.ErrInvalidOption)

	// An existing table that is still being created is waited for.
	creating := &creatingDDB{DynamoDB: b.ddb}
	waiting, err := hierarchy.NewStore(creating, b.kms, s.Table(), b.arn)
	require.NoError(t, err)
	require.NoError(t, waiting.CreateTable(ctx))
	assert.GreaterOrEqual(t, creating.describes, 2, "CreateTable waited for the table to be ACTIVE")

	out, err := b.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Table())})
	require.NoError(t, err)
	assert.ElementsMatch(t, []types.KeySchemaElement{
		{AttributeName: aws.String("branch-key-id"), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String("type"), KeyType: types.KeyTypeRange},
	}, out.Table.KeySchema)
}

func testTransient(t *testing.T, b *backend) {
	ctx := context.Background()
	s := b.newStore(t)
	id, err := s.CreateKey(ctx)
	require.NoError(t, err)
	for _, f := range []kmstest.Fault{kmstest.Throttling, kmstest.InternalError, kmstest.Unavailable} {
		b.kmsT.FailNext("Decrypt", 1, f)
		_, err = s.GetActiveBranchKey(ctx, id)
		require.ErrorIs(t, err, hierarchy.ErrTransient)
		assert.NotErrorIs(t, err, hierarchy.ErrInvalidItem)
		assert.NotErrorIs(t, err, hierarchy.ErrNotFound)
	}
	b.kmsT.FailNext("GenerateDataKeyWithoutPlaintext", 1, kmstest.Throttling)
	_, err = s.CreateKey(ctx)
	require.ErrorIs(t, err, hierarchy.ErrTransient)
	b.kmsT.FailNext("ReEncrypt", 1, kmstest.Throttling)
	err = s.VersionKey(ctx, id)
	require.ErrorIs(t, err, hierarchy.ErrTransient)
	assert.NotErrorIs(t, err, hierarchy.ErrInvalidItem)

	b.kmsT.FailNext("Decrypt", 1, kmstest.AccessDenied)
	_, err = s.GetActiveBranchKey(ctx, id)
	require.Error(t, err)
	assert.NotErrorIs(t, err, hierarchy.ErrTransient, "access denied is permanent")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.GetActiveBranchKey(cctx, id)
	require.ErrorIs(t, err, hierarchy.ErrTransient)
	require.ErrorIs(t, err, context.Canceled)
}

// testMultiRegion reads and rotates, through the replica of a multi-Region
// key in another Region, a branch key created with the primary.
func testMultiRegion(t *testing.T, b *backend) {
	ctx := context.Background()
	west, err := b.kmsT.CreateKey(kmstest.MultiRegion())
	require.NoError(t, err)
	east, err := b.kmsT.ReplicateKey(west, "us-east-1")
	require.NoError(t, err)
	primary, err := hierarchy.NewStore(b.ddb, b.kms, b.newStore(t).Table(), west)
	require.NoError(t, err)
	id, err := primary.CreateKey(ctx)
	require.NoError(t, err)
	want, err := primary.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)

	eastKMS := b.kmsT.Client(kmstest.ClientRegion("us-east-1"), kmstest.ClientRetries(1))
	strict, err := hierarchy.NewStore(b.ddb, eastKMS, primary.Table(), east)
	require.NoError(t, err)
	_, err = strict.GetActiveBranchKey(ctx, id)
	require.ErrorIs(t, err, hierarchy.ErrInvalidItem, "without WithMultiRegionKey the ARNs must be equal")

	replica, err := hierarchy.NewStore(b.ddb, eastKMS, primary.Table(), east, hierarchy.WithMultiRegionKey())
	require.NoError(t, err)
	got, err := replica.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, want.Key, got.Key)
	require.NoError(t, replica.VersionKey(ctx, id))
	item := getItem(t, b, replica, id, "branch:ACTIVE")
	assert.Equal(t, s(west), item["kms-arn"], "rotation keeps the item's kms-arn")
	rotated, err := primary.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	assert.NotEqual(t, want.Version, rotated.Version)
}
