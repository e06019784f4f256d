package hierarchy_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cryptkeeper-go/cryptkeeper/keyring/awskms/kmstest"
	"github.com/cryptkeeper-go/cryptkeeper/keyring/hierarchy"
)

func ExampleStore() {
	ctx := context.Background()
	// With AWS:
	//   cfg, _ := config.LoadDefaultConfig(ctx)
	//   store, err := hierarchy.NewStore(dynamodb.NewFromConfig(cfg), kms.NewFromConfig(cfg),
	//       "branch-keys", keyARN, hierarchy.WithLogicalName("branch-keys"))
	// Here: an in-process KMS and a stand-in table.
	srv := kmstest.NewServer()
	defer srv.Close()
	keyARN, err := srv.CreateKey()
	if err != nil {
		log.Fatal(err)
	}
	store, err := hierarchy.NewStore(newExampleTable(), srv.Client(), "branch-keys", keyARN,
		hierarchy.WithLogicalName("branch-keys"))
	if err != nil {
		log.Fatal(err)
	}
	if err := store.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}

	// One branch key per tenant, tagged with the tenant.
	id, err := store.CreateKey(ctx, hierarchy.WithNewKeyID("tenant-acme"),
		hierarchy.WithKeyContext(map[string]string{"tenant": "acme"}))
	if err != nil {
		log.Fatal(err)
	}
	v1, err := store.GetActiveBranchKey(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	defer v1.Zero()
	fmt.Println(v1.ID, len(v1.Key), v1.Context["tenant"])

	// Rotate: a new active version; the old one still reads.
	if err := store.VersionKey(ctx, id); err != nil {
		log.Fatal(err)
	}
	v2, err := store.GetActiveBranchKey(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	defer v2.Zero()
	old, err := store.GetBranchKeyVersion(ctx, id, v1.Version)
	if err != nil {
		log.Fatal(err)
	}
	defer old.Zero()
	fmt.Println("rotated:", v2.Version != v1.Version, "old version readable:", bytes.Equal(old.Key, v1.Key))

	// The key is never printed.
	fmt.Printf("%v\n", old.Key != nil && !bytes.Contains([]byte(fmt.Sprint(old)), old.Key))
	// Output:
	// tenant-acme 32 acme
	// rotated: true old version readable: true
	// true
}

// exampleTable is a stand-in for a DynamoDB table, for the example only:
// it keeps items in memory and knows the two conditions the store writes.
// Use *dynamodb.Client.
type exampleTable struct {
	mu    sync.Mutex
	items map[[2]string]map[string]types.AttributeValue
}

func newExampleTable() *exampleTable {
	return &exampleTable{items: map[[2]string]map[string]types.AttributeValue{}}
}

func exampleKey(item map[string]types.AttributeValue) [2]string {
	id, _ := item["branch-key-id"].(*types.AttributeValueMemberS)
	typ, _ := item["type"].(*types.AttributeValueMemberS)
	if id == nil || typ == nil {
		return [2]string{}
	}
	return [2]string{id.Value, typ.Value}
}

func (e *exampleTable) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &dynamodb.GetItemOutput{Item: e.items[exampleKey(in.Key)]}, nil
}

func (e *exampleTable) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range in.TransactItems {
		old, exists := e.items[exampleKey(w.Put.Item)]
		ok := !exists
		if aws.ToString(w.Put.ConditionExpression) == "attribute_exists(#b) AND #e = :old" {
			want := w.Put.ExpressionAttributeValues[":old"].(*types.AttributeValueMemberB).Value
			ok = exists && bytes.Equal(old["enc"].(*types.AttributeValueMemberB).Value, want)
		}
		if !ok {
			return nil, &types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{{Code: aws.String("ConditionalCheckFailed")}}}
		}
	}
	for _, w := range in.TransactItems {
		e.items[exampleKey(w.Put.Item)] = w.Put.Item
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func (e *exampleTable) DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{
		TableStatus: types.TableStatusActive,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("branch-key-id"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("type"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("branch-key-id"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("type"), KeyType: types.KeyTypeRange},
		},
	}}, nil
}

func (e *exampleTable) CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	return &dynamodb.CreateTableOutput{}, nil
}
