// Package envelope encrypts and decrypts messages in the AWS Encryption SDK
// message format, so that messages written here decrypt in the official
// SDKs (Java, Python, JavaScript, C, .NET, the CLI) and the reverse.
//
// Use Encrypt and Decrypt for messages that fit in memory, and NewWriter
// and NewReader for streams of any size in constant memory. Each message
// gets a fresh data key from the keyring, which wraps it under one or more
// wrapping keys (see package keyring). By default messages use
// AES256GCMHKDFSHA512CommitKeyECDSAP384: AES-256-GCM with a key derived per
// message, a key commitment that stops one ciphertext decrypting to two
// plaintexts, and an ECDSA P-384 signature that stops anyone who can
// unwrap the data key from forging messages. Choose
// AES256GCMHKDFSHA512CommitKey with WithSuite when every reader is as
// trusted as every writer; it is faster and can release each frame as soon
// as it is authenticated.
//
// Bind messages to their purpose with WithContext: the encryption context
// is authenticated, stored in the header, and reported by Decrypt. Keys
// named with WithRequiredContextKeys are authenticated but not stored; the
// reader must supply them.
//
// Decryption never releases plaintext that has not been authenticated.
// Every error it returns wraps one of ErrFormat, ErrAuthentication,
// ErrCommitment, ErrLimit, ErrNoDecryptionKey, ErrPolicy or ErrContext.
//
// This package imports keyring and cache, never an adapter.
package envelope
