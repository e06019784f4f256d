package hierarchy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CreateTable makes sure the store's table exists with the branch key
// store's key schema: partition key "branch-key-id" (S) and sort key
// "type" (S). An existing table must have these keys (other attributes and
// indexes are fine), else the error matches ErrInvalidOption. A missing
// table is created (on-demand billing); a new table, or an existing one
// that is not yet ACTIVE, is waited for until it is ACTIVE, up to two
// minutes or the context's end.
func (s *Store) CreateTable(ctx context.Context) error {
	out, err := s.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	var nf *types.ResourceNotFoundException
	switch {
	case err == nil:
		if err := checkSchema(s.table, out.Table); err != nil {
			return err
		}
		if out.Table.TableStatus == types.TableStatusActive {
			return nil
		}
		return s.waitForTable(ctx) // being created (or updated)
	case !errors.As(err, &nf):
		return callErr("DynamoDB DescribeTable", err)
	}
	_, err = s.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(s.table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrType), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrID), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrType), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) { // in use: created concurrently
		return callErr("DynamoDB CreateTable", err)
	}
	return s.waitForTable(ctx)
}

// waitForTable waits until the table is ACTIVE, up to two minutes.
func (s *Store) waitForTable(ctx context.Context) error {
	w := dynamodb.NewTableExistsWaiter(s.ddb, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 2 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)}, 2*time.Minute); err != nil {
		return callErr("waiting for the table", err)
	}
	return nil
}

// checkSchema checks that a table's key schema is the branch key store's.
func checkSchema(table string, d *types.TableDescription) error {
	if d == nil {
		return fmt.Errorf("%w: table %s: no description", ErrInvalidOption, table)
	}
	defs := map[string]types.ScalarAttributeType{}
	for _, a := range d.AttributeDefinitions {
		defs[aws.ToString(a.AttributeName)] = a.AttributeType
	}
	keys := map[string]types.KeyType{}
	for _, k := range d.KeySchema {
		keys[aws.ToString(k.AttributeName)] = k.KeyType
	}
	if defs[attrID] != types.ScalarAttributeTypeS || defs[attrType] != types.ScalarAttributeTypeS ||
		keys[attrID] != types.KeyTypeHash || keys[attrType] != types.KeyTypeRange {
		return fmt.Errorf("%w: table %s exists without the branch key store's keys (%s HASH S, %s RANGE S)", ErrInvalidOption, table, attrID, attrType)
	}
	return nil
}
