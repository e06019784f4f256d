// Package envelope encrypts and decrypts messages in the AWS Encryption SDK
// message format, so that messages written here decrypt in the official
// SDKs (Java, Python, JavaScript, C, .NET, the CLI) and the reverse.
//
// For most uses, call [Encrypt] with a keyring and an encryption context
// ([WithContext]), and [Decrypt] with the same keyring and the context the
// reader expects. Use [NewWriter] and [NewReader] for streams of any size:
// a Writer, and a Reader of an unsigned message, hold a bounded window of
// frames in memory; a Reader of a signed message (the default suite) keeps
// the plaintext back until the signature verifies, up to
// [DefaultSpoolMemory] bytes in memory and the rest in a sealed temporary
// file (see Streaming). Each message gets a fresh data key from the keyring,
// which wraps it under one or more wrapping keys: [keyring.NewRawAES] for
// a key you hold, or the AWS KMS keyrings of package keyring/awskms. Keep
// the defaults (suite, commitment policy, frame size, limits) unless a
// reader needs otherwise.
//
// # Encryption context
//
// The encryption context is a map of non-secret strings that says what a
// message is for (a tenant, a table, a purpose). It is bound to the data
// key and authenticated with the message, and stored in the header except
// for the keys named with [WithRequiredContextKeys], which the reader must
// supply.
//
// A keyring unwraps the data key of every message it wrapped, whatever it
// was made for, so a reader must check the context, as the official SDKs
// insist: pass the context it expects to Decrypt or NewReader with
// WithContext. Each expected pair must then be in the message: a
// different value fails with [ErrContext], and a pair the message lacks
// fails too, with ErrNoDecryptionKey or ErrAuthentication depending on
// the keyring (the pair is taken for a required key the message was not
// made with). Pairs the reader does not name, such as
// aws-crypto-public-key, are allowed. A reader that cannot say what it
// expects in advance must compare [Header.Context] itself: in the Header
// returned by Decrypt before using the plaintext, or in [Reader.Header]
// before the first Read.
//
// # Suites and key commitment
//
// By default messages use AES256GCMHKDFSHA512CommitKeyECDSAP384: AES-256-GCM
// with a key derived per message, a key commitment that stops one
// ciphertext decrypting to two plaintexts, and an ECDSA P-384 signature
// that stops anyone who can unwrap the data key from forging messages.
// Choose AES256GCMHKDFSHA512CommitKey with [WithSuite] when every reader is
// as trusted as every writer; it is faster, and a Reader can release each
// frame as soon as it is authenticated. The default [CommitmentPolicy]
// requires key commitment on encrypt and decrypt; use
// RequireEncryptAllowDecrypt while messages written by older,
// non-committing suites are still read.
//
// # Streaming
//
// NewWriter writes the header at once and each frame as it fills; Close
// writes the last frame and, on signed suites, the signature. A [Reader]
// authenticates the header before NewReader returns. A Reader of an
// unsigned message releases each frame once its tag verifies. A Reader of
// a signed message releases nothing until the signature verifies, because
// any recipient holds the data key and could forge frames: it keeps the
// plaintext back, the first [DefaultSpoolMemory] bytes in memory and the
// rest in a temporary file sealed under a key that never leaves memory
// ([WithSpoolMemory], [WithSpoolDir], or [WithMaxSpoolSize] to refuse
// larger messages with ErrLimit instead).
// [WithInsecureReleaseBeforeSignature] releases frames before the
// signature verifies, in constant memory, for callers that discard
// everything read from a message unless Read ends with io.EOF. Readers
// that accept unsigned messages only say so with [WithUnsignedOnly].
//
// # Limits
//
// A message is parsed before anything in it is authenticated, so readers
// bound what a sender can make them do: [WithMaxEncryptedDataKeys],
// [WithMaxHeaderSize] and [WithMaxFrameSize] (failing with [ErrLimit]).
// Hostile input makes decryption fail with an error, never panic, and
// buffers grow only as input arrives.
//
// # Errors
//
// Decryption never releases plaintext that has not been authenticated
// (unless a Reader is given [WithInsecureReleaseBeforeSignature]).
// Every error it returns wraps exactly one of [ErrFormat],
// [ErrAuthentication], [ErrCommitment], [ErrLimit], [ErrNoDecryptionKey],
// [ErrPolicy], [ErrContext] or [ErrTransient] (or [ErrInvalidOption] for a
// bad option). ErrTransient alone is worth retrying: the context ended,
// reading the source failed, or a key service was throttled or
// unavailable; its cause stays reachable with errors.Is and errors.As.
//
// # Options
//
// Each [Option] applies to some of Encrypt, Decrypt, NewWriter and
// NewReader, as its comment says. A call given an option that does not
// apply to it, or an option with an invalid value, fails with
// [ErrInvalidOption] before it calls the keyring.
//
// # Interoperability
//
// Messages follow the AWS Encryption SDK specification
// (github.com/awslabs/aws-encryption-sdk-specification, data-format/)
// byte for byte: message format versions 1 and 2, all eleven suites,
// framed and non-framed bodies. This package writes framed messages only,
// as the official SDKs do.
//
// This package imports keyring and cache, never an adapter.
package envelope
