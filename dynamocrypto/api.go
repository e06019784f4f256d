package dynamocrypto

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// API is the part of *dynamodb.Client that a Client calls: exactly the
// operations it wraps. *dynamodb.Client satisfies it; tests and callers may
// pass anything else that does (a client with middleware, a recorder).
//
// The Client's methods of the same names take and return the SDK's own
// types. On a configured table they encrypt and sign what is written,
// verify and decrypt what is read (ReturnValues, the items of a failed
// condition and of cancelled transactions included), and map the
// request's expressions onto what is stored: equality on an encrypted
// attribute with a beacon becomes equality on the beacon (false positives
// are dropped after decryption, and Limit counts the items returned),
// projections are completed with what verification needs, and what cannot
// be done on ciphertext is refused with ErrUnsupported naming the
// attribute and the expression. Updates of signed attributes are done by
// read-modify-write (see Client.UpdateItem). The legacy parameters that
// predate expressions (Expected, AttributeUpdates, KeyConditions,
// QueryFilter, ScanFilter, AttributesToGet, ConditionalOperator) are
// refused on configured tables.
//
// PartiQL (ExecuteStatement, BatchExecuteStatement,
// ExecuteTransaction) is not offered: a statement is text that the client
// would have to parse and rewrite in full to encrypt its values, to
// complete and verify what it reads, and to keep it from writing
// attributes unsigned, and a statement it could not rewrite would either
// fail or bypass the encryption. Use the *dynamodb.Client directly for
// PartiQL on tables that are not configured.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	TransactGetItems(ctx context.Context, in *dynamodb.TransactGetItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error)
}
