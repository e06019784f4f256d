package dynamocrypto

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

func testTransact(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	tn := aws.String(peopleTable)
	motoPut(t, env, person("tx", "upd", "u@example.com"))
	motoPut(t, env, person("tx", "del", "d@example.com"))
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: tn, Item: person("tx", "new", "n@example.com"), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{TableName: tn, Key: itemKey("tx", "upd"), UpdateExpression: aws.String("SET email = :e ADD n :one"),
			ConditionExpression:       aws.String("email = :old"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":e": avS("u2@example.com"), ":one": avN("1"), ":old": avS("u@example.com")}}},
		{Delete: &types.Delete{TableName: tn, Key: itemKey("tx", "del"), ConditionExpression: aws.String("city = :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS("Berlin")}}},
		{Put: &types.Put{TableName: aws.String(plainTable), Item: map[string]types.AttributeValue{"id": avS("tx")}}},
	}}
	before := copyItem(in.TransactItems[0].Put.Item)
	_, err := env.c.TransactWriteItems(ctx, in)
	require.NoError(t, err)
	require.Equal(t, before, in.TransactItems[0].Put.Item)

	got, err := env.c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: tn, Key: itemKey("tx", "new")}},
		{Get: &types.Get{TableName: tn, Key: itemKey("tx", "upd"), ProjectionExpression: aws.String("email, n")}},
		{Get: &types.Get{TableName: tn, Key: itemKey("tx", "del")}},
		{Get: &types.Get{TableName: aws.String(plainTable), Key: map[string]types.AttributeValue{"id": avS("tx")}}},
	}})
	require.NoError(t, err)
	require.Equal(t, avS("n@example.com"), got.Responses[0].Item["email"])
	require.Equal(t, map[string]types.AttributeValue{"email": avS("u2@example.com"), "n": avN("2")}, got.Responses[1].Item)
	require.Nil(t, got.Responses[2].Item)
	require.Equal(t, map[string]types.AttributeValue{"id": avS("tx")}, got.Responses[3].Item)

	// The caller's condition on an encrypted attribute fails on the plaintext.
	_, err = env.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: tn, Item: person("tx", "other", "o@example.com")}},
		{Update: &types.Update{TableName: tn, Key: itemKey("tx", "upd"), UpdateExpression: aws.String("SET email = :e"),
			ConditionExpression: aws.String("email = :old"), ExpressionAttributeValues: map[string]types.AttributeValue{":e": avS("x@example.com"), ":old": avS("u@example.com")}}},
	}})
	var tce *types.TransactionCanceledException
	require.True(t, errors.As(err, &tce), "%v", err)
	require.Equal(t, "ConditionalCheckFailed", aws.ToString(tce.CancellationReasons[1].Code))
	require.Nil(t, motoGet(t, env, "tx", "other"), "nothing of the transaction was written")

	// Conditions on encrypted attributes of a Delete are refused; an
	// update of a signed attribute under WithoutReadModifyWrite too.
	_, err = env.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: tn, Key: itemKey("tx", "upd"), ConditionExpression: aws.String("email = :e"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":e": avS("u2@example.com")}}}}})
	require.ErrorIs(t, err, ErrUnsupported)
	_, err = env.c.TransactWriteItems(WithoutReadModifyWrite(ctx), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: tn, Key: itemKey("tx", "upd"), UpdateExpression: aws.String("SET city = :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS("Rome")}}}}})
	require.ErrorIs(t, err, ErrUnsupported)
	// A DoNothing update goes through directly.
	_, err = env.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: tn, Key: itemKey("tx", "upd"), UpdateExpression: aws.String("SET note = :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": avS("tx-note")}}}}})
	require.NoError(t, err)
	require.Equal(t, avS("tx-note"), motoGet(t, env, "tx", "upd")["note"])
}

// interferer changes the item once, between the read of a
// read-modify-write and the transaction that writes it, as a concurrent
// writer would.
type interferer struct {
	API
	once   func()
	tokens []*string // the ClientRequestToken of every transaction sent
}

func (i *interferer) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	i.tokens = append(i.tokens, in.ClientRequestToken)
	if f := i.once; f != nil {
		i.once = nil
		f()
	}
	return i.API.TransactWriteItems(ctx, in, optFns...)
}

func testTransactConflict(t *testing.T, env *motoEnv) {
	ctx := context.Background()
	motoPut(t, env, person("txc", "1", "c@example.com"))
	api := &interferer{API: env.raw}
	c, err := New(api, testKeyring(t), peopleConfig())
	require.NoError(t, err)
	add := func(c *Client) error {
		_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(peopleTable), Key: itemKey("txc", "1"),
			UpdateExpression: aws.String("ADD n :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": avN("10")}})
		return err
	}
	api.once = func() { require.NoError(t, add(env.c)) }
	_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{ClientRequestToken: aws.String("txc-token"), TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String(peopleTable), Key: itemKey("txc", "1"), UpdateExpression: aws.String("ADD n :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": avN("1")}}}}})
	require.NoError(t, err)
	require.Nil(t, api.once, "the other writer came in between")
	// The caller's token goes with the first attempt only: the retry is
	// another request (the SDK gives it a token of its own).
	require.Len(t, api.tokens, 2)
	require.Equal(t, "txc-token", aws.ToString(api.tokens[0]))
	require.Nil(t, api.tokens[1])
	require.Equal(t, avN("12"), motoGet(t, env, "txc", "1")["n"], "the transaction was retried on the changed item: both additions count")
}
