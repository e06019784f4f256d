// Decrypts every message named on the command line with the AWS Encryption
// SDK for JavaScript (KmsKeyringNode), talking to the KMS endpoint given on
// the command line, and writes each plaintext next to its message. Used by
// kms_interop_test.go.
//
//   node kms_decrypt_all.js ENDPOINT ACCESS_KEY KEY_ARN CONTEXT_JSON FILE...
//
// FILE holds one message; its plaintext is written to FILE.pt. The
// encryption context of every message must contain CONTEXT_JSON.
'use strict'
const fs = require('fs')
const { KmsKeyringNode, buildClient, CommitmentPolicy, getClient } = require('@aws-crypto/client-node')
const { KMS } = require('@aws-sdk/client-kms')

async function main () {
  const [endpoint, accessKeyId, keyArn, ctxJSON, ...files] = process.argv.slice(2)
  if (files.length === 0) throw new Error('no messages given')
  const clientProvider = getClient(KMS, {
    endpoint,
    credentials: { accessKeyId, secretAccessKey: 'kmstest-secret' },
    maxAttempts: 3
  })
  const keyring = new KmsKeyringNode({ clientProvider, generatorKeyId: keyArn })
  const { decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  const context = JSON.parse(ctxJSON)
  for (const file of files) {
    const { plaintext, messageHeader } = await decrypt(keyring, fs.readFileSync(file))
    for (const [k, v] of Object.entries(context)) {
      if (messageHeader.encryptionContext[k] !== v) throw new Error(file + ': encryption context mismatch on ' + k)
    }
    fs.writeFileSync(file + '.pt', plaintext)
  }
}

main().catch(err => { console.error(err && err.stack ? err.stack : String(err)); process.exit(1) })
