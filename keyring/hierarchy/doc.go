// Package hierarchy implements the AWS KMS hierarchical keyring and its
// branch key store, compatible with the AWS Encryption SDK, the AWS
// Database Encryption SDK and the Material Providers Library that both
// build on (the official JavaScript SDK's KmsHierarchicalKeyRingNode and
// BranchKeyStoreNode read and write the same tables and messages).
//
// A branch key is a 32-byte key per tenant (or per any partition of your
// data), kept in a DynamoDB table encrypted by one KMS key. The keyring
// ([NewKeyring]) unwraps a branch key once per cache interval and wraps
// each message's own data key locally under a key derived from it, so a
// multi-tenant service makes one KMS call per tenant per interval, not one
// per message. This file documents the branch key store, [Store].
//
// # Using the store
//
// [NewStore] takes a DynamoDB client, a KMS client (*dynamodb.Client and
// *kms.Client satisfy [DynamoDB] and [KMS]), the table name and the full
// ARN of the KMS key. [Store.CreateTable] creates the table once;
// [Store.CreateKey] creates a branch key and returns its id;
// [Store.VersionKey] rotates it. [Store.GetActiveBranchKey] and
// [Store.GetBranchKeyVersion] return the keys the keyring encrypts and
// decrypts with, and [Store.GetBeaconKey] (or [Store.BeaconKey]) the key
// searchable-encryption beacons are derived from. The store caches
// nothing: every read is a DynamoDB GetItem and a KMS Decrypt.
//
// Every reader and writer of a table must use the same logical key store
// name ([WithLogicalName]; it defaults to the table name, as the official
// SDKs require it to be given explicitly, set it to what they use). The
// name is part of every item's KMS encryption context, so a table copied
// or restored under another name keeps working, and two tables must never
// share one name.
//
// # Table and items
//
// The table's partition key is "branch-key-id" (S) and its sort key
// "type" (S). Each branch key id owns three kinds of items:
//
//	type "branch:version:<v>"   one per version v (a lowercase v4 UUID)
//	type "branch:ACTIVE"        the active version, with "version" = "branch:version:<v>"
//	type "beacon:ACTIVE"        the beacon key
//
// Every item has "branch-key-id" (S), "type" (S), "create-time" (S, UTC,
// 2006-01-02T15:04:05.000000Z), "kms-arn" (S, the KMS key ARN),
// "hierarchy-version" (N, 1) and "enc" (B, the KMS ciphertext of the
// 32-byte key), plus "aws-crypto-ec:<k>" (S) for each pair of the custom
// encryption context given to CreateKey ([WithKeyContext]). The ACTIVE
// item holds the same key as its version item, encrypted under the ACTIVE
// context.
//
// # Encryption contexts
//
// The KMS encryption context of an item is every attribute but "enc", as
// strings (hierarchy-version as "1"), plus "tablename": the logical key
// store name. KMS binds each "enc" to that context, so editing any
// attribute, moving "enc" to another item, or reading under another
// logical name makes KMS refuse to decrypt.
//
// CreateKey asks KMS for the version's key with GenerateDataKeyWithoutPlaintext
// (the plaintext never leaves KMS), re-encrypts it under the ACTIVE context
// with ReEncrypt, asks for the beacon key the same way, and writes the
// three items in one TransactWriteItems, each conditioned on
// attribute_not_exists(branch-key-id): an existing id fails with
// [ErrExists] and writes nothing.
//
// # Rotation
//
// VersionKey reads the ACTIVE item, checks it as a read does, and
// authenticates it with a KMS ReEncrypt from its context to itself. It
// makes a new version (same custom context and kms-arn) and writes the new
// version item and the new ACTIVE item in one transaction; the ACTIVE
// write is conditioned on the old item's "enc" being unchanged, so of two
// concurrent rotations one fails with [ErrConflict]. Old versions stay
// readable, so messages encrypted under them still decrypt; the beacon key
// does not change.
//
// # Checks on read
//
// Every read checks the item before KMS sees it, and fails with
// [ErrInvalidItem] naming the branch key id and the fault:
//   - branch-key-id, type, create-time, kms-arn and (on ACTIVE items only)
//     version are present and S; hierarchy-version is N 1; enc is B of 1
//     to 6144 bytes; every other attribute is S; there is no tablename;
//   - branch-key-id is the id asked for and type is exactly the type asked
//     for; an ACTIVE item's version names a version;
//   - kms-arn is a KMS key ARN equal to the store's (or, with
//     [WithMultiRegionKey], the same multi-Region key in another Region);
//   - KMS Decrypt, with the store's key ARN and the context rebuilt from
//     the item, succeeds, answers for the store's key and returns 32 bytes.
//
// A missing item is [ErrNotFound]. Failures that may pass (throttling,
// server errors, network, context) match [ErrTransient] and never a
// permanent error; the rest name the call that failed.
//
// # Keys in memory
//
// [BranchKey] and [BeaconKey] hold plaintext keys: their String, GoString,
// Format, MarshalJSON and LogValue never show the key bytes, and Zero
// wipes them. Each read
// returns new key bytes the caller owns.
//
// # Compatibility
//
// Items, contexts and conditions follow the AWS specification
// (framework/branch-key-store.md 0.9.0) and the official JavaScript SDK
// 5.0.2; the interop tests have that SDK read stores written here and the
// reverse. Not supported: the discovery KMS configurations (a store always
// names its KMS key) and key stores that are not DynamoDB tables.
package hierarchy
