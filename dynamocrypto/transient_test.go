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

// failing answers every write with err (what DynamoDB returns when an
// item is held by a transaction in progress or capacity ran out).
type failing struct {
	API
	err error
}

func (f failing) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, f.err
}

func (f failing) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return nil, f.err
}

func canceled(codes ...string) error {
	tce := &types.TransactionCanceledException{Message: aws.String("Transaction cancelled")}
	for _, c := range codes {
		tce.CancellationReasons = append(tce.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
	}
	return tce
}

// TestTransactionErrorsClassified: conflicts with transactions and
// throttled transactions are ErrTransient; a failed condition or an
// invalid request is not, and the SDK's error stays matchable.
func TestTransactionErrorsClassified(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		err       error
		transient bool
	}{
		{&types.TransactionConflictException{Message: aws.String("conflict")}, true},
		{canceled("None", "TransactionConflict"), true},
		{canceled("ThrottlingError", "None"), true},
		{canceled("ProvisionedThroughputExceeded"), true},
		{canceled("None", "ConditionalCheckFailed"), false},
		{canceled("TransactionConflict", "ValidationError"), false},
		{canceled("None"), false},
		{&types.ConditionalCheckFailedException{Message: aws.String("failed")}, false},
	} {
		c, err := New(failing{err: tc.err}, testKeyring(t), customersConfig())
		require.NoError(t, err)
		_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: sampleItem()})
		require.Equal(t, tc.transient, errors.Is(err, ErrTransient), "PutItem: %v", err)
		require.ErrorIs(t, err, tc.err)
		_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String("customers"), Item: sampleItem()}},
		}})
		require.Equal(t, tc.transient, errors.Is(err, ErrTransient), "TransactWriteItems: %v", err)
		require.ErrorIs(t, err, tc.err)
	}
}
