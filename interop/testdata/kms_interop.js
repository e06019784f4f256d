// Encrypts or decrypts one message with the AWS Encryption SDK for
// JavaScript (KmsKeyringNode), talking to the KMS endpoint given on the
// command line. Used by kms_interop_test.go.
//
//   node kms_interop.js encrypt|decrypt ENDPOINT ACCESS_KEY KEY_ARN IN OUT CONTEXT_JSON
'use strict'
const fs = require('fs')
const { KmsKeyringNode, buildClient, CommitmentPolicy, getClient } = require('@aws-crypto/client-node')
const { KMS } = require('@aws-sdk/client-kms')

async function main () {
  const [op, endpoint, accessKeyId, keyArn, inFile, outFile, ctxJSON] = process.argv.slice(2)
  const clientProvider = getClient(KMS, {
    endpoint,
    credentials: { accessKeyId, secretAccessKey: 'kmstest-secret' },
    maxAttempts: 3
  })
  const keyring = new KmsKeyringNode({ clientProvider, generatorKeyId: keyArn })
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  const context = JSON.parse(ctxJSON)
  const input = fs.readFileSync(inFile)
  if (op === 'encrypt') {
    const { result } = await encrypt(keyring, input, { encryptionContext: context })
    fs.writeFileSync(outFile, result)
    return
  }
  const { plaintext, messageHeader } = await decrypt(keyring, input)
  for (const [k, v] of Object.entries(context)) {
    if (messageHeader.encryptionContext[k] !== v) throw new Error('encryption context mismatch on ' + k)
  }
  fs.writeFileSync(outFile, plaintext)
}

main().catch(err => { console.error(err && err.stack ? err.stack : String(err)); process.exit(1) })
