// Package awskms provides keyrings that wrap data keys with AWS KMS.
//
// Use NewKeyring with a key ARN by default: it asks KMS for a data key
// (GenerateDataKey) or wraps an existing one (Encrypt), and on decrypt sends
// only the encrypted data keys that name its key to KMS (Decrypt with
// KeyId), binding the encryption context to every call. For a multi-Region
// key (id "mrk-…") it also decrypts data keys wrapped by a replica of the
// same key in another Region, using the replica in its client's Region.
//
// NewDiscoveryKeyring decrypts with whatever key ARN an encrypted data key
// names, limited by a discovery filter (partition and account ids) that
// should always be set; NewMRKDiscoveryKeyring does the same while keeping
// every call in its client's Region. NewRSAKeyring wraps data keys offline
// with the public half of an asymmetric KMS key (provider "aws-kms-rsa") and
// unwraps them through KMS. NewMultiKeyring and NewDiscoveryMultiKeyring
// build multi-keyrings over a ClientSupplier that maps Regions to clients.
//
// The KMS client is the narrow Client interface, which *kms.Client of the
// AWS SDK for Go v2 satisfies; package kmstest provides an in-process KMS
// for tests. Errors returned by KMS stay in the error chain, so errors.As
// finds the SDK's typed errors (*types.NotFoundException,
// *types.DisabledException, ...); AccessDeniedException, which the SDK
// reports as a generic API error, also matches ErrAccessDenied. Every
// keyring error is a *keyring.KeyringError naming the key ARN.
//
// This package imports package keyring and the AWS SDK; it knows nothing
// of the message format.
package awskms
