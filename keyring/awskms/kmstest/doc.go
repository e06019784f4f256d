// Package kmstest runs an in-process AWS KMS for tests, examples and local
// tools.
//
// NewServer starts an httptest server on 127.0.0.1 that speaks the KMS JSON
// 1.1 protocol (POST with X-Amz-Target: TrentService.<Operation>), so the
// real *kms.Client of the AWS SDK for Go v2 talks to it unchanged and every
// layer of the SDK — serialization, signing, retries, error mapping — is
// exercised. Server.Client returns such a client, already pointed at the
// server with static credentials.
//
// The server models what the KMS keyrings depend on: symmetric keys and RSA
// key pairs for ENCRYPT_DECRYPT, aliases, multi-Region keys and their
// replicas in other Regions (same key material, own ARN), disabled keys,
// key rotation (old material still decrypts), encryption-context binding,
// the 4096-byte Encrypt limit, and key policies reduced to a per-key
// allow-list of access key ids. It counts calls per operation and injects
// faults (throttling, server errors, latency) on demand.
//
// Requests are routed to a Region by the credential scope of their SigV4
// Authorization header; signatures are not verified. Ciphertext blobs use a
// format of this package (key id, material version, AES-GCM under the key
// material with the canonical encryption context as additional data), so
// they are opaque to callers exactly as real KMS blobs are, but they are
// not interchangeable with blobs from AWS.
//
// This package is for tests: keys live in memory and are not protected.
package kmstest
