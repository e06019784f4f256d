#!/usr/bin/env node
// Runs a batch of encrypt/decrypt cases through the official AWS Encryption
// SDK for JavaScript (@aws-crypto/client-node), so that messages written by
// cryptkeeper can be checked against it and the reverse.
//
// Usage: node --security-revert=CVE-2023-46809 esdk.js DIR [NAME]
//
// DIR/NAME.json (NAME defaults to "manifest"):
//   {
//     "keyrings": {
//       "aes-256": {"type": "raw-aes", "namespace": "...", "name": "...", "key": "<base64>",
//                   "localeSorting": false},
//       "rsa-oaep-sha256": {"type": "raw-rsa", "namespace": "...", "name": "...",
//                           "padding": "pkcs1|oaep-sha1|oaep-sha256|oaep-sha384|oaep-sha512",
//                           "publicKeyPem": "...", "privateKeyPem": "..."},
//       "multi": {"type": "multi", "generator": "aes-256", "children": ["rsa-oaep-sha256"]}
//     },
//     "cases": [
//       {"id": "...", "op": "encrypt", "keyring": "aes-256", "suite": 1400,
//        "frameLength": 4096, "context": {...}, "plaintext": "pt.bin", "output": "ct.bin"},
//       {"id": "...", "op": "decrypt", "keyring": "multi", "input": "ct.bin"}
//     ]
//   }
//
// File names are relative to DIR. The script writes DIR/NAME.results.json: an
// object keyed by case id with {ok, error} and, on decrypt, the SHA-256 and
// length of the plaintext and the header it read; on encrypt, the header it
// wrote. A failing case never stops the batch; the exit status is non-zero
// only when the batch itself cannot run.
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const {
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  RawRsaKeyringNode,
  MultiKeyringNode,
} = require('@aws-crypto/client-node')

const committing = new Set([0x0478, 0x0578])

const requireClient = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
const forbidClient = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)

const aesSuites = {
  16: RawAesWrappingSuiteIdentifier.AES128_GCM_IV12_TAG16_NO_PADDING,
  24: RawAesWrappingSuiteIdentifier.AES192_GCM_IV12_TAG16_NO_PADDING,
  32: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
}

const rsaPaddings = {
  pkcs1: { padding: crypto.constants.RSA_PKCS1_PADDING },
  'oaep-sha1': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
  'oaep-sha256': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
  'oaep-sha384': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha384' },
  'oaep-sha512': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha512' },
}

function buildKeyrings(specs) {
  const built = new Map()
  const build = (name, seen = new Set()) => {
    if (built.has(name)) return built.get(name)
    const spec = specs[name]
    if (!spec) throw new Error(`unknown keyring ${name}`)
    if (seen.has(name)) throw new Error(`keyring cycle at ${name}`)
    seen.add(name)
    let kr
    switch (spec.type) {
      case 'raw-aes': {
        const key = Buffer.from(spec.key, 'base64')
        const wrappingSuite = aesSuites[key.length]
        if (!wrappingSuite) throw new Error(`keyring ${name}: bad AES key length ${key.length}`)
        kr = new RawAesKeyringNode({
          keyNamespace: spec.namespace,
          keyName: spec.name,
          unencryptedMasterKey: new Uint8Array(key),
          wrappingSuite,
          // Sort the context by UTF-8 bytes, as the specification and
          // every other implementation do. The JS default (localeCompare)
          // breaks interop; "localeSorting": true asks for it, to show that.
          utf8Sorting: !spec.localeSorting,
        })
        break
      }
      case 'raw-rsa': {
        const padding = rsaPaddings[spec.padding]
        if (!padding) throw new Error(`keyring ${name}: bad padding ${spec.padding}`)
        kr = new RawRsaKeyringNode({
          keyNamespace: spec.namespace,
          keyName: spec.name,
          rsaKey: { publicKey: spec.publicKeyPem, privateKey: spec.privateKeyPem },
          ...padding,
        })
        break
      }
      case 'multi':
        kr = new MultiKeyringNode({
          generator: spec.generator ? build(spec.generator, seen) : undefined,
          children: (spec.children || []).map((c) => build(c, seen)),
        })
        break
      default:
        throw new Error(`keyring ${name}: unknown type ${spec.type}`)
    }
    built.set(name, kr)
    return kr
  }
  for (const name of Object.keys(specs)) build(name)
  return built
}

function headerSummary(h) {
  return {
    suite: h.suiteId,
    context: h.encryptionContext,
    frameLength: h.frameLength,
    providers: h.encryptedDataKeys.map((e) => e.providerId),
  }
}

async function runCase(dir, keyrings, readInput, c) {
  const kr = keyrings.get(c.keyring)
  if (!kr) throw new Error(`unknown keyring ${c.keyring}`)
  switch (c.op) {
    case 'encrypt': {
      const client = committing.has(c.suite) ? requireClient : forbidClient
      const plaintext = await readInput(c.plaintext)
      const { result, messageHeader } = await client.encrypt(kr, plaintext, {
        suiteId: c.suite,
        frameLength: c.frameLength,
        encryptionContext: c.context || {},
      })
      await fs.promises.writeFile(path.join(dir, c.output), result)
      return { ok: true, header: headerSummary(messageHeader) }
    }
    case 'decrypt': {
      const ciphertext = await fs.promises.readFile(path.join(dir, c.input))
      const { plaintext, messageHeader } = await requireClient.decrypt(kr, ciphertext)
      return {
        ok: true,
        plaintextSha256: crypto.createHash('sha256').update(plaintext).digest('hex'),
        plaintextLength: plaintext.length,
        header: headerSummary(messageHeader),
      }
    }
    default:
      throw new Error(`unknown op ${c.op}`)
  }
}

async function main() {
  const [dir, name = 'manifest'] = process.argv.slice(2)
  if (!dir) {
    console.error('usage: node --security-revert=CVE-2023-46809 esdk.js DIR [NAME]')
    process.exit(2)
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'))
  const keyrings = buildKeyrings(manifest.keyrings || {})

  // Plaintext files are shared by many cases; read each once.
  const inputs = new Map()
  const readInput = (name) => {
    if (!inputs.has(name)) inputs.set(name, fs.promises.readFile(path.join(dir, name)))
    return inputs.get(name)
  }

  const cases = manifest.cases || []
  const results = {}
  let next = 0
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++]
      try {
        results[c.id] = await runCase(dir, keyrings, readInput, c)
      } catch (err) {
        results[c.id] = { ok: false, error: String((err && err.message) || err) }
      }
    }
  }
  const concurrency = Math.max(1, Number(manifest.concurrency) || 4)
  await Promise.all(Array.from({ length: concurrency }, worker))
  fs.writeFileSync(path.join(dir, `${name}.results.json`), JSON.stringify(results))
  const failed = Object.values(results).filter((r) => !r.ok).length
  console.log(`esdk.js ${name}: ${cases.length} cases, ${cases.length - failed} ok, ${failed} failed`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
