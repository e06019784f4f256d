#!/usr/bin/env node
// Runs branch key store operations through the official AWS Encryption SDK
// for JavaScript (BranchKeyStoreNode of @aws-crypto/client-node), so that a
// store written by cryptkeeper can be read by it and the reverse.
//
// Usage: node hierarchy_store.js IN.json OUT.json
//
// IN.json:
//   {"region": "us-west-2", "ddbEndpoint": "http://...", "kmsEndpoint": "http://...",
//    "accessKeyId": "...", "table": "...", "logicalName": "...", "kmsArn": "arn:...",
//    "ops": [
//      {"op": "active", "id": "..."},
//      {"op": "version", "id": "...", "version": "<uuid>"},
//      {"op": "beacon", "id": "..."},
//      {"op": "create", "id": "..." (optional), "context": {...} (optional)},
//      {"op": "versionKey", "id": "..."}
//    ]}
//
// OUT.json is an array with one result per op, in order:
//   {"ok": true|false, "error": "...", "id": "...", "version": "<uuid>",
//    "key": "<hex>", "context": {...}}
// BranchKeyStoreNode has no getBeaconKey: "beacon" reads and checks the
// beacon item with the store's own helpers (getBranchKeyItem,
// validateBranchKeyRecord, constructAuthenticatedEncryptionContext) and
// decrypts it with its decryptBranchKey, as GetBeaconKey is specified.
'use strict'

const fs = require('fs')
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
const { KMSClient } = require('@aws-sdk/client-kms')
const { BranchKeyStoreNode } = require('@aws-crypto/client-node')
const helpers = require('@aws-crypto/branch-keystore-node/build/main/src/branch_keystore_helpers')

const CUSTOM_PREFIX = 'aws-crypto-ec:'

async function main() {
  const [inPath, outPath] = process.argv.slice(2)
  const cfg = JSON.parse(fs.readFileSync(inPath, 'utf8'))
  const credentials = { accessKeyId: cfg.accessKeyId || 'AKIDMOTO', secretAccessKey: 'secret' }
  const ddbClient = new DynamoDBClient({ region: cfg.region, endpoint: cfg.ddbEndpoint, credentials, maxAttempts: 2 })
  const kmsClient = new KMSClient({ region: cfg.region, endpoint: cfg.kmsEndpoint, credentials, maxAttempts: 2 })
  const keyStore = new BranchKeyStoreNode({
    logicalKeyStoreName: cfg.logicalName,
    storage: { ddbTableName: cfg.table, ddbClient },
    keyManagement: { kmsClient },
    kmsConfiguration: { identifier: cfg.kmsArn },
  })
  const results = []
  for (const op of cfg.ops) {
    try {
      results.push({ ok: true, ...(await run(keyStore, op)) })
    } catch (e) {
      results.push({ ok: false, error: String((e && e.message) || e) })
    }
  }
  fs.writeFileSync(outPath, JSON.stringify(results))
}

function materials(m) {
  return {
    id: m.branchKeyIdentifier,
    version: Buffer.from(m.branchKeyVersion).toString('utf8'),
    key: Buffer.from(m.branchKey()).toString('hex'),
    context: { ...m.encryptionContext },
  }
}

async function run(keyStore, op) {
  switch (op.op) {
    case 'active':
      return materials(await keyStore.getActiveBranchKey(op.id))
    case 'version':
      return materials(await keyStore.getBranchKeyVersion(op.id, op.version))
    case 'beacon': {
      const item = await helpers.getBranchKeyItem(keyStore.storage, op.id, 'beacon:ACTIVE')
      const record = helpers.validateBranchKeyRecord(item)
      const ec = helpers.constructAuthenticatedEncryptionContext(keyStore.storage, record)
      if (ec['branch-key-id'] !== op.id || ec.type !== 'beacon:ACTIVE') throw new Error('unexpected beacon item')
      const key = await helpers.decryptBranchKey(keyStore, {
        kmsArn: ec['kms-arn'],
        ciphertextBlob: record.enc,
        encryptionContext: ec,
      })
      const context = {}
      for (const [k, v] of Object.entries(ec)) {
        if (k.startsWith(CUSTOM_PREFIX)) context[k.slice(CUSTOM_PREFIX.length)] = v
      }
      return { id: ec['branch-key-id'], key: key.toString('hex'), context }
    }
    case 'create': {
      const input = {}
      if (op.id) input.branchKeyIdentifier = op.id
      if (op.context) input.encryptionContext = op.context
      const out = await keyStore.createKey(input)
      return { id: out.branchKeyIdentifier }
    }
    case 'versionKey':
      await keyStore.versionKey({ branchKeyIdentifier: op.id })
      return { id: op.id }
    default:
      throw new Error(`unknown op ${op.op}`)
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
