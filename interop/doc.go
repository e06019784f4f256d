// Package interop holds the cross-implementation tests of cryptkeeper
// against the official AWS Encryption SDK for JavaScript
// (@aws-crypto/client-node 5.0.2). It has no API: everything lives in its
// tests and in the Node.js runner under js/.
//
// The tests run every algorithm suite with raw AES, raw RSA and multi
// keyrings, several encryption contexts, plaintext sizes and frame lengths,
// in both directions: messages written here are decrypted by the JavaScript
// SDK, and messages it writes are decrypted here. They need Node.js and the
// packages of js/package-lock.json; ./scripts/test.sh installs them.
package interop
