#!/usr/bin/env node
// Runs branch key store and hierarchical keyring operations through the
// official AWS Encryption SDK for JavaScript (BranchKeyStoreNode and
// KmsHierarchicalKeyRingNode), against DynamoDB and KMS served by
// moto_server, so that the messages of cryptkeeper's hierarchical keyring
// can be checked against it and the reverse.
//
// Usage: node hierarchy.js DIR NAME
//
// DIR/NAME.json:
//   {
//     "endpoint": "http://127.0.0.1:PORT", "region": "us-west-2",
//     "table": "...", "logicalName": "...", "kmsKeyArn": "arn:aws:kms:...",
//     "tenantKey": "tenant",          // EC key naming the branch key id
//     "ops": [
//       {"id": "...", "op": "createKey", "branchKeyId": "...", "context": {...}},
//       {"id": "...", "op": "versionKey", "branchKeyId": "..."},
//       {"id": "...", "op": "activeVersion", "branchKeyId": "..."},
//       {"id": "...", "op": "encrypt", "suite": 1144, "context": {...},
//        "plaintext": "pt.bin", "output": "ct.bin", "branchKeyId": "..."},
//       {"id": "...", "op": "decrypt", "input": "ct.bin", "context": {...},
//        "branchKeyId": "..."}
//     ]
//   }
//
// Ops run in order, each encrypt and decrypt with a new keyring (so no
// branch key is reused from a cache across a rotation). The keyring uses
// the op's branchKeyId when given, else takes the branch key id from the
// "tenantKey" pair of the encryption context; it sorts the context by UTF-8 bytes (utf8Sorting), as the specification
// does. The script writes DIR/NAME.results.json, keyed by op id: {ok,
// error} plus, for activeVersion, the version; for encrypt and decrypt, the
// provider ids and infos of the encrypted data keys; for decrypt, the
// SHA-256 of the plaintext.
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
const { KMSClient } = require('@aws-sdk/client-kms')
const {
  buildClient,
  CommitmentPolicy,
  BranchKeyStoreNode,
  KmsHierarchicalKeyRingNode,
} = require('@aws-crypto/client-node')

const committing = new Set([0x0478, 0x0578])
const requireClient = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
const forbidClient = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)

function edkSummary(h) {
  return h.encryptedDataKeys.map((e) => ({
    providerId: e.providerId,
    providerInfo: e.providerInfo,
    version: e.encryptedDataKey.length >= 44 ? uuidText(e.encryptedDataKey.subarray(28, 44)) : '',
  }))
}

function uuidText(b) {
  const h = Buffer.from(b).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

async function main() {
  const [dir, name] = process.argv.slice(2)
  if (!dir || !name) {
    console.error('usage: node hierarchy.js DIR NAME')
    process.exit(2)
  }
  const m = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'))
  const clientConfig = {
    region: m.region,
    endpoint: m.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 2,
  }
  const keyStore = new BranchKeyStoreNode({
    logicalKeyStoreName: m.logicalName,
    storage: { ddbTableName: m.table, ddbClient: new DynamoDBClient(clientConfig) },
    keyManagement: { kmsClient: new KMSClient(clientConfig) },
    kmsConfiguration: { identifier: m.kmsKeyArn },
  })
  const tenantKey = m.tenantKey || 'tenant'
  const newKeyring = (branchKeyId) =>
    new KmsHierarchicalKeyRingNode({
      branchKeyId,
      branchKeyIdSupplier: branchKeyId ? undefined : {
        getBranchKeyId(ec) {
          if (!ec[tenantKey]) throw new Error(`no ${tenantKey} in the encryption context`)
          return ec[tenantKey]
        },
      },
      keyStore,
      cacheLimitTtl: 60,
      utf8Sorting: true,
    })

  const results = {}
  for (const op of m.ops) {
    try {
      results[op.id] = await runOp(dir, keyStore, newKeyring, op)
    } catch (err) {
      results[op.id] = { ok: false, error: String((err && err.message) || err) }
    }
  }
  fs.writeFileSync(path.join(dir, `${name}.results.json`), JSON.stringify(results))
  const failed = Object.values(results).filter((r) => !r.ok).length
  console.log(`hierarchy.js ${name}: ${m.ops.length} ops, ${m.ops.length - failed} ok, ${failed} failed`)
}

async function runOp(dir, keyStore, newKeyring, op) {
  switch (op.op) {
    case 'createKey': {
      const out = await keyStore.createKey({
        branchKeyIdentifier: op.branchKeyId,
        encryptionContext: op.context,
      })
      return { ok: true, branchKeyId: out.branchKeyIdentifier }
    }
    case 'versionKey':
      await keyStore.versionKey({ branchKeyIdentifier: op.branchKeyId })
      return { ok: true }
    case 'activeVersion': {
      const bk = await keyStore.getActiveBranchKey(op.branchKeyId)
      return { ok: true, version: Buffer.from(bk.branchKeyVersion).toString('utf8') }
    }
    case 'encrypt': {
      const client = committing.has(op.suite) ? requireClient : forbidClient
      const plaintext = fs.readFileSync(path.join(dir, op.plaintext))
      const { result, messageHeader } = await client.encrypt(newKeyring(op.branchKeyId), plaintext, {
        suiteId: op.suite,
        encryptionContext: op.context || {},
      })
      fs.writeFileSync(path.join(dir, op.output), result)
      return { ok: true, edks: edkSummary(messageHeader) }
    }
    case 'decrypt': {
      const ciphertext = fs.readFileSync(path.join(dir, op.input))
      const { plaintext, messageHeader } = await requireClient.decrypt(newKeyring(op.branchKeyId), ciphertext)
      for (const [k, v] of Object.entries(op.context || {})) {
        if (messageHeader.encryptionContext[k] !== v) throw new Error(`context ${k} differs`)
      }
      return {
        ok: true,
        plaintextSha256: crypto.createHash('sha256').update(plaintext).digest('hex'),
        edks: edkSummary(messageHeader),
      }
    }
    default:
      throw new Error(`unknown op ${op.op}`)
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
