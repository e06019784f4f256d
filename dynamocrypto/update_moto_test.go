package dynamocrypto

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

func motoGet(t *testing.T, env *motoEnv, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := env.c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(peopleTable), Key: itemKey(pk, sk), ConsistentRead: aws.Bool(true)})
	require.NoError(t, err)
	return out.Item
}

func testBatch(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	var wrs []types.WriteRequest
	for i := 0; i < 10; i++ {
		wrs = append(wrs, types.WriteRequest{PutRequest: &types.PutRequest{Item: person("batch", fmt.Sprint(i), fmt.Sprintf("b%d@example.com", i))}})
	}
	in := &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		peopleTable: wrs,
		plainTable:  {{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"id": avS("batch")}}}},
	}}
	before := copyItem(wrs[0].PutRequest.Item)
	out, err := env.c.BatchWriteItem(ctx, in)
	require.NoError(t, err)
	require.Empty(t, out.UnprocessedItems)
	require.Equal(t, before, in.RequestItems[peopleTable][0].PutRequest.Item)

	var keys []map[string]types.AttributeValue
	for i := 0; i < 10; i++ {
		keys = append(keys, itemKey("batch", fmt.Sprint(i)))
	}
	got, err := env.c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		peopleTable: {Keys: keys, ProjectionExpression: aws.String("sk, email")},
		plainTable:  {Keys: []map[string]types.AttributeValue{{"id": avS("batch")}}},
	}})
	require.NoError(t, err)
	require.Len(t, got.Responses[peopleTable], 10)
	for _, it := range got.Responses[peopleTable] {
		require.Len(t, it, 2)
		require.Equal(t, avS(fmt.Sprintf("b%s@example.com", it["sk"].(*types.AttributeValueMemberS).Value)), it["email"])
	}
	require.Equal(t, []map[string]types.AttributeValue{{"id": avS("batch")}}, got.Responses[plainTable])

	// A delete through the batch.
	_, err = env.c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		peopleTable: {{DeleteRequest: &types.DeleteRequest{Key: itemKey("batch", "0")}}}}})
	require.NoError(t, err)
	require.Nil(t, motoGet(t, env, "batch", "0"))
}

// unprocessed is the real client, except that its batch calls process
// nothing and return every request as unprocessed (what DynamoDB does
// under throttling, which moto does not).
type unprocessed struct {
	API
	// The embedded API keeps this test double short; the Client under test
	// still calls only methods of API.
}

func (u unprocessed) BatchWriteItem(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	return &dynamodb.BatchWriteItemOutput{UnprocessedItems: in.RequestItems}, nil
}

func (u unprocessed) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return &dynamodb.BatchGetItemOutput{UnprocessedKeys: in.RequestItems, Responses: map[string][]map[string]types.AttributeValue{}}, nil
}

func testBatchUnprocessed(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	c, err := New(unprocessed{env.raw}, testKeyring(t), peopleConfig())
	require.NoError(t, err)
	item := person("unp", "1", "u@example.com")
	out, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		peopleTable: {{PutRequest: &types.PutRequest{Item: item}}, {DeleteRequest: &types.DeleteRequest{Key: itemKey("unp", "2")}}}}})
	require.NoError(t, err)
	un := out.UnprocessedItems[peopleTable]
	require.Len(t, un, 2)
	require.Equal(t, item, un[0].PutRequest.Item, "the caller's plaintext request comes back")
	require.Equal(t, itemKey("unp", "2"), un[1].DeleteRequest.Key)

	ka := types.KeysAndAttributes{Keys: []map[string]types.AttributeValue{itemKey("unp", "1")}, ProjectionExpression: aws.String("#e"), ExpressionAttributeNames: map[string]string{"#e": "email"}}
	got, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{peopleTable: ka}})
	require.NoError(t, err)
	require.Equal(t, ka, got.UnprocessedKeys[peopleTable], "the caller's projection comes back, not the completed one")
}

func testUpdateDirect(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	motoPut(t, env, person("ud", "1", "ud@example.com"))
	out, err := env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("ud", "1"),
		UpdateExpression:          aws.String("SET note = :n, u_y = :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": avS("changed")}, ReturnValues: types.ReturnValueAllNew})
	require.NoError(t, err)
	require.Equal(t, avS("changed"), out.Attributes["note"])
	require.Equal(t, avS("ud@example.com"), out.Attributes["email"], "ALL_NEW is decrypted")
	require.Equal(t, avS("changed"), motoGet(t, env, "ud", "1")["u_y"])

	// On a missing item the update creates a signed item.
	_, err = env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("ud", "new"),
		UpdateExpression: aws.String("SET note = :n"), ExpressionAttributeValues: map[string]types.AttributeValue{":n": avS("x")}})
	require.NoError(t, err)
	require.Equal(t, avS("x"), motoGet(t, env, "ud", "new")["note"])
	stored, err := env.raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(peopleTable), Key: itemKey("ud", "new")})
	require.NoError(t, err)
	require.Contains(t, stored.Item, footerAttr, "never written unsigned")

	// The caller's condition on a DoNothing attribute still applies.
	_, err = env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("ud", "1"),
		UpdateExpression: aws.String("SET note = :n"), ConditionExpression: aws.String("note = :other"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": avS("again"), ":other": avS("nope")}})
	var ccf *types.ConditionalCheckFailedException
	require.True(t, errors.As(err, &ccf), "%v", err)
}

func testUpdateRMW(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	motoPut(t, env, person("rmw", "1", "before@example.com"))
	in := &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("rmw", "1"),
		UpdateExpression:          aws.String("SET email = :e, #nm = :nm, n = n + :one, note = :note REMOVE city ADD tags :t DELETE tags :a"),
		ConditionExpression:       aws.String("email = :old"),
		ExpressionAttributeNames:  map[string]string{"#nm": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": avS("after@example.com"), ":nm": avS("Ada"), ":one": avN("2"), ":note": avS("rmw"), ":t": avSS("c"), ":a": avSS("a"), ":old": avS("before@example.com")},
		ReturnValues:              types.ReturnValueUpdatedOld}
	before, valuesBefore, namesBefore := *in, copyItem(in.ExpressionAttributeValues), maps.Clone(in.ExpressionAttributeNames)
	out, err := env.c.UpdateItem(ctx, in)
	require.NoError(t, err)
	require.Equal(t, before, *in)
	require.Equal(t, valuesBefore, in.ExpressionAttributeValues, "the caller's values are not modified")
	require.Equal(t, namesBefore, in.ExpressionAttributeNames)
	require.Equal(t, avS("before@example.com"), out.Attributes["email"])
	require.Equal(t, avS("Berlin"), out.Attributes["city"])
	require.NotContains(t, out.Attributes, "pk")
	it := motoGet(t, env, "rmw", "1")
	require.Equal(t, avS("after@example.com"), it["email"])
	require.Equal(t, avS("Ada"), it["name"])
	require.Equal(t, avN("3"), it["n"])
	require.Equal(t, avS("rmw"), it["note"])
	require.NotContains(t, it, "city")
	require.True(t, equalValues(avSS("b", "c"), it["tags"]), "%v", it["tags"])
	require.Equal(t, avS("unsigned"), it["u_x"], "attributes the update does not name are kept")

	// The beacon follows the new value.
	q, err := env.c.Query(ctx, queryEmail("after@example.com"))
	require.NoError(t, err)
	require.Len(t, q.Items, 1)

	// The condition is evaluated on the plaintext: it no longer holds.
	_, err = env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: in.TableName, Key: in.Key, UpdateExpression: aws.String("SET #nm = :nm"),
		ConditionExpression: aws.String("email = :old"), ExpressionAttributeNames: in.ExpressionAttributeNames,
		ExpressionAttributeValues:           map[string]types.AttributeValue{":nm": avS("Bob"), ":old": avS("before@example.com")},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *types.ConditionalCheckFailedException
	require.True(t, errors.As(err, &ccf), "%v", err)
	require.Equal(t, avS("after@example.com"), ccf.Item["email"], "the old item comes back decrypted")
	require.Equal(t, avS("Ada"), motoGet(t, env, "rmw", "1")["name"])

	// Creating an item by update: signed, with its key.
	out, err = env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: in.TableName, Key: itemKey("rmw", "2"), UpdateExpression: aws.String("SET email = :e ADD n :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": avS("new@example.com"), ":one": avN("1")}, ReturnValues: types.ReturnValueAllNew})
	require.NoError(t, err)
	require.Equal(t, map[string]types.AttributeValue{"pk": avS("rmw"), "sk": avS("2"), "email": avS("new@example.com"), "n": avN("1")}, out.Attributes)

	// Unsupported update syntax is refused clearly.
	_, err = env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: in.TableName, Key: in.Key, UpdateExpression: aws.String("SET email = foo(:e)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": avS("x")}})
	require.ErrorIs(t, err, ErrUnsupported)
	_, err = env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: in.TableName, Key: in.Key, UpdateExpression: aws.String("SET pk = :e"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": avS("x")}})
	require.Error(t, err)
}

// atomicUpdates is the real client with its UpdateItem calls made one at
// a time, and not during a GetItem: moto checks an UpdateItem's condition
// and changes the stored item in place without a lock, so two concurrent
// conditional updates of one item can both pass there, and a read can see
// half an update (DynamoDB applies each write atomically). Reads still
// interleave with the writes, so conflicts happen; conflicts counts the
// failed conditions.
type atomicUpdates struct {
	API
	mu        sync.RWMutex
	conflicts int
}

func (a *atomicUpdates) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.API.GetItem(ctx, in, optFns...)
}

func (a *atomicUpdates) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out, err := a.API.UpdateItem(ctx, in, optFns...)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		a.conflicts++
	}
	return out, err
}

func testUpdateConcurrent(t *testing.T, motoEnv0 *motoEnv) {
	ctx := context.Background()
	api := &atomicUpdates{API: motoEnv0.raw}
	c, err := New(api, testKeyring(t), peopleConfig())
	require.NoError(t, err)
	env := &motoEnv{raw: motoEnv0.raw, c: c}
	motoPut(t, env, person("conc", "1", "c@example.com"))
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// A signed counter by read-modify-write, and an unsigned
				// attribute written directly beside it.
				_, err := env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("conc", "1"),
					UpdateExpression: aws.String("ADD n :one, tags :t"), ExpressionAttributeValues: map[string]types.AttributeValue{
						":one": avN("1"), ":t": avSS(fmt.Sprintf("w%d-%d", w, i))}})
				errs <- err
				_, err = env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("conc", "1"),
					UpdateExpression: aws.String("SET #u = :v"), ExpressionAttributeNames: map[string]string{"#u": fmt.Sprintf("u_w%d", w)},
					ExpressionAttributeValues: map[string]types.AttributeValue{":v": avN(fmt.Sprint(i))}})
				errs <- err
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Positive(t, api.conflicts, "the writers conflicted")
	it := motoGet(t, env, "conc", "1")
	require.Equal(t, avN(fmt.Sprint(1+workers*each)), it["n"], "no increment lost")
	tags, _ := setElems(it["tags"])
	require.Len(t, tags, 2+workers*each, "no set element lost")
	for w := 0; w < workers; w++ {
		require.Equal(t, avN(fmt.Sprint(each-1)), it[fmt.Sprintf("u_w%d", w)], "no unsigned write lost")
	}
}

func testUpdateRefused(t *testing.T, env *motoEnv) {
	ctx := WithoutReadModifyWrite(context.Background())
	motoPut(t, env, person("refu", "1", "r@example.com"))
	_, err := env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("refu", "1"),
		UpdateExpression: aws.String("SET city = :c"), ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS("Rome")}})
	require.ErrorIs(t, err, ErrUnsupported)
	var e *Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, "city", e.Attribute)
	require.Equal(t, avS("Berlin"), motoGet(t, env, "refu", "1")["city"])
	// DoNothing attributes are still updated directly.
	_, err = env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("refu", "1"),
		UpdateExpression: aws.String("SET note = :c"), ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS("ok")}})
	require.NoError(t, err)
	_, err = env.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("refu", "1"),
		UpdateExpression: aws.String("SET unknown = :c"), ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS("ok")}})
	require.ErrorIs(t, err, ErrUnknownAttribute)
}

// An item written before the table was encrypted is read as it is
// (PlaintextReads) and written back encrypted and signed by an update.
func testUpdatePlaintextItem(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	tc := peopleConfig()
	tc.PlaintextReads = true
	c, err := New(env.raw, testKeyring(t), tc)
	require.NoError(t, err)
	old := map[string]types.AttributeValue{"pk": avS("legacy"), "sk": avS("1"), "email": avS("l@example.com"), "city": avS("Oslo"), "note": avS("old")}
	_, err = env.raw.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(peopleTable), Item: old})
	require.NoError(t, err)
	_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("legacy", "1"),
		UpdateExpression: aws.String("SET note = :n"), ExpressionAttributeValues: map[string]types.AttributeValue{":n": avS("new")}})
	require.NoError(t, err)
	stored, err := env.raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(peopleTable), Key: itemKey("legacy", "1")})
	require.NoError(t, err)
	require.Contains(t, stored.Item, footerAttr, "the update signed the item")
	require.IsType(t, &types.AttributeValueMemberB{}, stored.Item["email"], "and encrypted it")
	got := motoGet(t, env, "legacy", "1")
	require.Equal(t, avS("new"), got["note"])
	require.Equal(t, avS("l@example.com"), got["email"])
}

// alwaysChanged changes the item before every UpdateItem it forwards, as
// a writer that always comes first would.
type alwaysChanged struct {
	API
	other *Client
	calls int
}

func (a *alwaysChanged) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	a.calls++
	if _, err := a.other.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: in.TableName, Key: in.Key, UpdateExpression: aws.String("ADD n :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": avN("1")}}); err != nil {
		return nil, err
	}
	return a.API.UpdateItem(ctx, in, optFns...)
}

func testUpdateConflict(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	motoPut(t, env, person("confl", "1", "c@example.com"))
	api := &alwaysChanged{API: env.raw, other: env.c}
	c, err := New(api, testKeyring(t), peopleConfig())
	require.NoError(t, err)
	_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("confl", "1"),
		UpdateExpression: aws.String("SET city = :c"), ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS("Rome")}})
	require.ErrorIs(t, err, ErrConflict)
	require.ErrorIs(t, err, ErrTransient)
	require.Equal(t, maxAttempts, api.calls)
	require.Equal(t, avS("Berlin"), motoGet(t, env, "confl", "1")["city"])
}
