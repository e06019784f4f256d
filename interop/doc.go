// Package interop holds the cross-implementation tests of cryptkeeper: the
// tests that need another implementation installed, so that the unit tests
// of the other packages need nothing but Go. It has no API: everything
// lives in its tests, in the Node.js runner under js/ and in the scripts
// under testdata/.
//
// Against the official AWS Encryption SDK for JavaScript
// (@aws-crypto/client-node 5.0.2), the tests run every algorithm suite with
// raw AES, raw RSA and multi keyrings, several encryption contexts,
// plaintext sizes and frame lengths, in both directions: messages written
// here are decrypted by the JavaScript SDK, and messages it writes are
// decrypted here. The AWS KMS keyrings, and messages encrypted through a
// data-key cache, are checked against its KmsKeyringNode, both SDKs
// talking to one kmstest server. These tests need Node.js and the packages
// of js/package-lock.json, which they install with npm when needed
// (CRYPTKEEPER_NO_NODE=1 skips them).
//
// The AWS KMS keyrings also run against moto, an independent KMS emulator:
// the tests start moto_server from PATH (CRYPTKEEPER_MOTO_URL names a
// running one; CRYPTKEEPER_NO_MOTO=1 skips them).
//
// ./scripts/test.sh runs this package on its own, with -v so that its
// counts are shown.
package interop
