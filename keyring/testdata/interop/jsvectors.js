// Writes or checks raw keyring vectors with the AWS Encryption SDK for
// JavaScript (@aws-crypto/client-node 5.0.2), run from the keyring
// directory:
//
//   node testdata/interop/jsvectors.js gen > testdata/interop/js-5.0.2.json
//   node --security-revert=CVE-2023-46809 testdata/interop/jsvectors.js check go.json
//
// "gen" wraps data keys with the official keyrings and records the plaintext
// data key; "check" unwraps vectors written by this package (same JSON shape)
// and compares the data keys.
'use strict'
const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const {
  RawAesKeyringNode, RawAesWrappingSuiteIdentifier, RawRsaKeyringNode, MultiKeyringNode,
  NodeEncryptionMaterial, NodeDecryptionMaterial, NodeAlgorithmSuite, EncryptedDataKey,
} = require('@aws-crypto/client-node')

// The data key as bytes (Node keeps HKDF suites' keys as KeyObjects).
const dataKeyBytes = k => (k instanceof Uint8Array ? Buffer.from(k) : k.export())
const seq = (n, start) => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff))
const aesSuites = { 16: 'AES128_GCM_IV12_TAG16_NO_PADDING', 24: 'AES192_GCM_IV12_TAG16_NO_PADDING', 32: 'AES256_GCM_IV12_TAG16_NO_PADDING' }
const pem = name => fs.readFileSync(path.join(__dirname, '..', name), 'utf8')
const rsaPaddings = {
  PKCS1: { padding: crypto.constants.RSA_PKCS1_PADDING },
  'OAEP-SHA1': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
  'OAEP-SHA256': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
  'OAEP-SHA384': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha384' },
  'OAEP-SHA512': { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha512' },
}

// A keyring description shared with the Go test: {type, namespace, name, ...}.
function build (k) {
  switch (k.type) {
    case 'aes':
      return new RawAesKeyringNode({
        keyNamespace: k.namespace, keyName: k.name,
        unencryptedMasterKey: new Uint8Array(Buffer.from(k.key, 'hex')),
        wrappingSuite: RawAesWrappingSuiteIdentifier[aesSuites[k.key.length / 2]],
        utf8Sorting: true,
      })
    case 'rsa':
      return new RawRsaKeyringNode({
        keyNamespace: k.namespace, keyName: k.name,
        rsaKey: { publicKey: pem('rsa2048-spki.pem'), privateKey: pem('rsa2048-pkcs8.pem') },
        ...rsaPaddings[k.padding],
      })
    case 'multi':
      return new MultiKeyringNode({ generator: build(k.generator), children: k.children.map(build) })
  }
  throw new Error('unknown keyring type ' + k.type)
}

const contexts = [
  {},
  { tenant: 'acme' },
  { Zeta: '1', key1: '2', '\uff61': 'halfwidth', '\u{1F600}': 'non-BMP', 'aws-crypto-public-key': 'AoJvV4eYAaQ2ODFJ7Ao0kvy7W7uSqqMb1PPgGk0sWAvY' },
]
const suites = { 0x0114: 16, 0x0146: 24, 0x0478: 32 }

function keyrings () {
  const out = []
  for (const n of [16, 24, 32]) out.push({ type: 'aes', namespace: 'aws-raw-vectors-persistant', name: 'aes-' + n * 8, key: seq(n, n).toString('hex') })
  for (const p of Object.keys(rsaPaddings)) out.push({ type: 'rsa', namespace: 'aws-raw-vectors-persistant', name: 'rsa-2048-' + p, padding: p })
  out.push({ type: 'multi', generator: out[2], children: [out[6], out[0]] })
  return out
}

async function gen () {
  const vectors = []
  for (const k of keyrings()) {
    for (const [id, len] of Object.entries(suites)) {
      for (const ec of contexts) {
        const m = await build(k).onEncrypt(new NodeEncryptionMaterial(new NodeAlgorithmSuite(Number(id)), ec))
        const pdk = dataKeyBytes(m.getUnencryptedDataKey())
        if (pdk.length !== len) throw new Error('bad data key length')
        vectors.push({
          keyring: k, suite: Number(id), context: ec, dataKey: pdk.toString('hex'),
          edks: m.encryptedDataKeys.map(e => ({
            providerId: e.providerId,
            providerInfo: Buffer.from(e.rawInfo || Buffer.from(e.providerInfo, 'utf8')).toString('hex'),
            ciphertext: Buffer.from(e.encryptedDataKey).toString('hex'),
          })),
        })
      }
    }
  }
  process.stdout.write(JSON.stringify({ writer: '@aws-crypto/client-node 5.0.2', vectors }, null, 1) + '\n')
}

async function check (file) {
  const { vectors } = JSON.parse(fs.readFileSync(file, 'utf8'))
  let ok = 0
  for (const v of vectors) {
    const edks = v.edks.map(e => {
      const rawInfo = Buffer.from(e.providerInfo, 'hex')
      return new EncryptedDataKey({ providerId: e.providerId, providerInfo: rawInfo.toString('utf8'), rawInfo, encryptedDataKey: Buffer.from(e.ciphertext, 'hex') })
    })
    const m = await build(v.keyring).onDecrypt(new NodeDecryptionMaterial(new NodeAlgorithmSuite(v.suite), v.context), edks)
    const pdk = dataKeyBytes(m.getUnencryptedDataKey()).toString('hex')
    if (pdk !== v.dataKey) throw new Error('data key mismatch for ' + JSON.stringify(v.keyring))
    ok++
  }
  console.log(`${ok}/${vectors.length} vectors unwrapped to the expected data key`)
}

const [mode, file] = process.argv.slice(2)
;(mode === 'gen' ? gen() : check(file)).catch(err => { console.error(err); process.exit(1) })
