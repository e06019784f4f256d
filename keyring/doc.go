// Package keyring generates, wraps and unwraps the data keys that protect
// envelope messages.
//
// A Keyring is the boundary between a message and the keys that protect it.
// On encrypt it generates a fresh plaintext data key (unless one is already
// present) and appends one EncryptedDataKey per wrapping key; on decrypt it
// sets the plaintext data key from the first EncryptedDataKey it can unwrap.
// The semantics mirror the keyring interface of the AWS Encryption SDK
// specification, so the encrypted data keys written here are read by the
// official SDKs and the reverse.
//
// Use NewRawAES for a symmetric wrapping key you manage yourself, NewRawRSA
// for an RSA key pair, and NewMulti to wrap each data key under several
// keys (for example a primary KMS key and an offline recovery key). The
// keyring/awskms package provides keyrings backed by AWS KMS.
//
// This package imports only the standard library; it knows nothing of the
// message format that package envelope builds on top of it.
package keyring
