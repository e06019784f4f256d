package hierarchy_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"github.com/cryptkeeper-go/cryptkeeper/internal/testserver"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/hierarchy"
)

// The real SDK clients satisfy the store's interfaces.
var (
	_ hierarchy.KMS      = (*kms.Client)(nil)
	_ hierarchy.DynamoDB = (*dynamodb.Client)(nil)
)

const region = "us-west-2"

// backend is a DynamoDB and a KMS the store tests run against: moto for
// both, or moto for DynamoDB and kmstest for KMS.
type backend struct {
	name string
	ddb  *dynamodb.Client
	kms  *kms.Client
	kmsT *kmstest.Server // nil on moto
	arn  string          // a KMS key ARN
	arn2 string          // another KMS key ARN
}

var (
	tableSeq int
	// runID keeps table names apart when moto outlives a run
	// (CRYPTKEEPER_MOTO_URL).
	runID = rand.Text()[:8]
)

// newStore makes a fresh table and a store on it.
func (b *backend) newStore(t *testing.T, opts ...hierarchy.StoreOption) *hierarchy.Store {
	t.Helper()
	tableSeq++
	s, err := hierarchy.NewStore(b.ddb, b.kms, fmt.Sprintf("keystore-%s-%s-%d", runID, b.name, tableSeq), b.arn, opts...)
	require.NoError(t, err)
	require.NoError(t, s.CreateTable(context.Background()))
	return s
}

func ddbClient(url string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		BaseEndpoint:     aws.String(url),
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDMOTO", "secret", ""),
		RetryMaxAttempts: 2,
	})
}

func motoKMS(url string) *kms.Client {
	return kms.New(kms.Options{
		BaseEndpoint:     aws.String(url),
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDMOTO", "secret", ""),
		RetryMaxAttempts: 2,
	})
}

func motoKey(t *testing.T, c *kms.Client) string {
	t.Helper()
	out, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{})
	require.NoError(t, err)
	return aws.ToString(out.KeyMetadata.Arn)
}

// backends starts moto (one process for the test binary's top-level test)
// and kmstest and returns both backends.
func backends(t *testing.T) []*backend {
	t.Helper()
	url := testserver.Moto(t)
	ddb := ddbClient(url)
	mk := motoKMS(url)
	moto := &backend{name: "moto", ddb: ddb, kms: mk, arn: motoKey(t, mk), arn2: motoKey(t, mk)}

	srv := kmstest.NewServer(kmstest.WithRegion(region))
	t.Cleanup(srv.Close)
	kc := srv.Client(kmstest.ClientRetries(1))
	a1, err := srv.CreateKey()
	require.NoError(t, err)
	a2, err := srv.CreateKey()
	require.NoError(t, err)
	kt := &backend{name: "kmstest", ddb: ddb, kms: kc, kmsT: srv, arn: a1, arn2: a2}
	return []*backend{moto, kt}
}

// key is the primary key of an item.
func key(id, typ string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"branch-key-id": &types.AttributeValueMemberS{Value: id},
		"type":          &types.AttributeValueMemberS{Value: typ},
	}
}

func getItem(t *testing.T, b *backend, s *hierarchy.Store, id, typ string) map[string]types.AttributeValue {
	t.Helper()
	out, err := b.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(s.Table()), Key: key(id, typ), ConsistentRead: aws.Bool(true)})
	require.NoError(t, err)
	require.NotEmpty(t, out.Item, "item %s %s", id, typ)
	return out.Item
}

func putItem(t *testing.T, b *backend, s *hierarchy.Store, item map[string]types.AttributeValue) {
	t.Helper()
	_, err := b.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.Table()), Item: item})
	require.NoError(t, err)
}

func deleteItem(t *testing.T, b *backend, s *hierarchy.Store, id, typ string) {
	t.Helper()
	_, err := b.ddb.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(s.Table()), Key: key(id, typ)})
	require.NoError(t, err)
}

// kmsHook wraps a real KMS client and lets a test change what it answers.
type kmsHook struct {
	hierarchy.KMS
	decrypt   func(*kms.DecryptOutput)
	reEncrypt func(*kms.ReEncryptOutput)
	calls     map[string][]map[string]string // op → encryption contexts sent
	grants    map[string][][]string          // op → grant tokens sent
}

func (h *kmsHook) grant(op string, tokens []string) {
	if h.grants == nil {
		h.grants = map[string][][]string{}
	}
	h.grants[op] = append(h.grants[op], tokens)
}

func (h *kmsHook) record(op string, ec map[string]string) {
	if h.calls == nil {
		h.calls = map[string][]map[string]string{}
	}
	h.calls[op] = append(h.calls[op], ec)
}

func (h *kmsHook) GenerateDataKeyWithoutPlaintext(ctx context.Context, in *kms.GenerateDataKeyWithoutPlaintextInput, o ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
	h.record("GenerateDataKeyWithoutPlaintext", in.EncryptionContext)
	h.grant("GenerateDataKeyWithoutPlaintext", in.GrantTokens)
	return h.KMS.GenerateDataKeyWithoutPlaintext(ctx, in, o...)
}

func (h *kmsHook) ReEncrypt(ctx context.Context, in *kms.ReEncryptInput, o ...func(*kms.Options)) (*kms.ReEncryptOutput, error) {
	h.record("ReEncrypt.Source", in.SourceEncryptionContext)
	h.record("ReEncrypt.Destination", in.DestinationEncryptionContext)
	h.grant("ReEncrypt", in.GrantTokens)
	out, err := h.KMS.ReEncrypt(ctx, in, o...)
	if err == nil && h.reEncrypt != nil {
		h.reEncrypt(out)
	}
	return out, err
}

func (h *kmsHook) Decrypt(ctx context.Context, in *kms.DecryptInput, o ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	h.record("Decrypt", in.EncryptionContext)
	h.grant("Decrypt", in.GrantTokens)
	out, err := h.KMS.Decrypt(ctx, in, o...)
	if err == nil && h.decrypt != nil {
		h.decrypt(out)
	}
	return out, err
}
