#!/usr/bin/env node
// Measures the official AWS Encryption SDK for JavaScript
// (@aws-crypto/client-node) on the workloads of scripts/bench.sh: encrypt
// and decrypt of one plaintext file with a raw AES-256 keyring, for each
// suite and frame length given, several runs each.
//
// Usage: node bench.js PLAINTEXT RUNS SUITE:FRAME...
//   e.g. node bench.js /tmp/pt.bin 3 1144:4096 1400:65536
//
// Prints one JSON object: {"node": version, "results": [{"suite": 1144,
// "frameLength": 4096, "encryptSeconds": [...], "decryptSeconds": [...]}]}.
'use strict'

const fs = require('fs')
const {
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier
} = require('@aws-crypto/client-node')

async function main () {
  const [file, runsArg, ...cases] = process.argv.slice(2)
  if (!file || !runsArg || cases.length === 0) {
    throw new Error('usage: node bench.js PLAINTEXT RUNS SUITE:FRAME...')
  }
  const plaintext = fs.readFileSync(file)
  const runs = Number(runsArg)
  const client = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  const keyring = new RawAesKeyringNode({
    keyNamespace: 'bench',
    keyName: 'bench-key',
    unencryptedMasterKey: new Uint8Array(32).fill(7),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING
  })
  const results = []
  for (const c of cases) {
    const [suite, frameLength] = c.split(':').map(Number)
    const r = { suite, frameLength, encryptSeconds: [], decryptSeconds: [] }
    for (let i = 0; i < runs; i++) {
      let t = process.hrtime.bigint()
      const { result } = await client.encrypt(keyring, plaintext, {
        suiteId: suite,
        frameLength,
        encryptionContext: { purpose: 'bench' }
      })
      r.encryptSeconds.push(Number(process.hrtime.bigint() - t) / 1e9)
      t = process.hrtime.bigint()
      const { plaintext: out } = await client.decrypt(keyring, result)
      r.decryptSeconds.push(Number(process.hrtime.bigint() - t) / 1e9)
      if (!out.equals(plaintext)) throw new Error(`round trip mismatch for ${c}`)
    }
    results.push(r)
  }
  process.stdout.write(JSON.stringify({ node: process.version, results }) + '\n')
}

main().catch((err) => {
  process.stderr.write(`bench.js: ${err.stack || err}\n`)
  process.exit(1)
})
