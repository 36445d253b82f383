// Independent check of the IPNI advertisement chain ferrite-retrieval writes.
//
// Usage: node check.mjs <dir>, where <dir> holds (written by tests/ipni_js.rs):
//   blocks/<cid>    every block the HTTP publisher serves
//   head.json       the body of GET .../ipni/v1/ad/head
//   announce.cbor   the body of the HTTP announce
//   expected.json   what the chain should say
//
// Nothing here reuses the Rust code: CIDs are re-hashed, DAG-JSON and
// DAG-CBOR are decoded and re-encoded with the IPLD JS codecs, and the
// signatures are checked the way go-libipni does it (ingest/schema/envelope.go,
// dagsync/ipnisync/head/signedhead.go), with the signed bytes rebuilt here.

import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import * as dagJson from '@ipld/dag-json'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'

const DAG_JSON = 0x0129
const DAG_CBOR = 0x71
const RAW = 0x55
const SHA2_256 = 0x12

const dir = process.argv[2]
if (!dir) throw new Error('usage: node check.mjs <dir>')
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'))

let failures = 0
function check (cond, what) {
  if (!cond) {
    failures++
    console.error(`FAIL: ${what}`)
  }
}
const hex = (b) => Buffer.from(b).toString('hex')
const eq = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0
const sha256 = (b) => new Uint8Array(createHash('sha256').update(b).digest())
const utf8 = (s) => new TextEncoder().encode(s)

function uvarint (n) {
  const out = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return Uint8Array.from(out)
}
function readUvarint (b, at = 0) {
  let v = 0; let shift = 0
  for (let i = at; i < b.length; i++) {
    v += (b[i] & 0x7f) * 2 ** shift
    if ((b[i] & 0x80) === 0) return [v, i + 1]
    shift += 7
  }
  throw new Error('truncated varint')
}
function concat (...parts) {
  return Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p))))
}

// Loads a block, checks its bytes hash to its CID and that the codec is the
// one expected, and that re-encoding the decoded node gives the same bytes
// (the Rust writer produces canonical DAG-JSON / DAG-CBOR).
function loadBlock (cid, codec) {
  const bytes = new Uint8Array(readFileSync(join(dir, 'blocks', cid.toString())))
  check(cid.version === 1, `${cid}: CIDv1`)
  check(cid.code === codec, `${cid}: codec 0x${cid.code.toString(16)}, want 0x${codec.toString(16)}`)
  check(cid.multihash.code === SHA2_256, `${cid}: sha2-256`)
  check(eq(cid.multihash.digest, sha256(bytes)), `${cid}: bytes hash to the CID`)
  const c = codec === DAG_JSON ? dagJson : dagCbor
  const node = c.decode(bytes)
  check(eq(c.encode(node), bytes), `${cid}: canonical ${codec === DAG_JSON ? 'DAG-JSON' : 'DAG-CBOR'}`)
  return node
}

// Minimal protobuf reader for the libp2p Envelope (RFC 0002):
// public_key = 1, payload_type = 2, payload = 3, signature = 5; all bytes.
function parseEnvelope (buf) {
  const fields = {}
  let at = 0
  while (at < buf.length) {
    const [key, a] = readUvarint(buf, at)
    const wire = key & 7; const num = key >>> 3
    if (wire !== 2) throw new Error(`envelope field ${num}: wire type ${wire}`)
    const [len, b] = readUvarint(buf, a)
    fields[num] = buf.subarray(b, b + len)
    at = b + len
  }
  return { publicKey: fields[1], payloadType: fields[2], payload: fields[3], signature: fields[5] }
}

async function verifyAdSignature (ad) {
  const env = parseEnvelope(ad.Signature)
  check(new TextDecoder().decode(env.payloadType) === '/indexer/ingest/adSignature', 'envelope payload type')
  const domain = utf8('indexer')
  const signed = concat(uvarint(domain.length), domain, uvarint(env.payloadType.length), env.payloadType,
    uvarint(env.payload.length), env.payload)
  const key = publicKeyFromProtobuf(env.publicKey)
  check(await key.verify(signed, env.signature), 'envelope signature verifies')
  // go-libipni signaturePayload: prev ‖ entries ‖ provider ‖ addrs ‖ metadata ‖ isRm
  const parts = []
  if (ad.PreviousID) parts.push(ad.PreviousID.bytes)
  parts.push(ad.Entries.bytes, utf8(ad.Provider))
  for (const a of ad.Addresses) parts.push(utf8(a))
  parts.push(ad.Metadata, Uint8Array.of(ad.IsRm ? 1 : 0))
  const advID = Digest.create(SHA2_256, sha256(concat(...parts))).bytes
  check(advID.length === 34, 'advID is a 34-byte sha2-256 multihash')
  check(eq(env.payload, advID), 'envelope payload is the hash of this ad')
  return peerIdFromPublicKey(key).toString()
}

function decodeMetadata (b) {
  const [code, at] = readUvarint(b)
  const [len, end] = readUvarint(b, at)
  check(len === 0 && end === b.length, `metadata 0x${code.toString(16)} has an empty payload`)
  return code
}

function walkEntries (head) {
  const mhs = []
  let at = head; let chunks = 0
  while (at) {
    const chunk = loadBlock(at, DAG_CBOR)
    const keys = Object.keys(chunk).sort()
    check(keys.every((k) => k === 'Entries' || k === 'Next'), `chunk ${at}: only Entries/Next`)
    check(chunk.Entries.length <= expected.chunkSize, `chunk ${at}: at most ${expected.chunkSize} entries`)
    for (const mh of chunk.Entries) {
      Digest.decode(mh) // throws if not a multihash
      mhs.push(hex(mh))
    }
    at = chunk.Next ? CID.asCID(chunk.Next) : null
    chunks++
  }
  return { mhs, chunks }
}

// 1. The signed head.
const headBytes = new Uint8Array(readFileSync(join(dir, 'head.json')))
const head = dagJson.decode(headBytes)
check(eq(dagJson.encode(head), headBytes), 'head: canonical DAG-JSON')
check(head.head.toString() === expected.head, 'head names the newest ad')
{
  const key = publicKeyFromProtobuf(head.pubkey)
  const signed = concat(head.head.bytes, head.topic ? utf8(head.topic) : new Uint8Array())
  check(await key.verify(signed, head.sig), 'head signature verifies')
  check(peerIdFromPublicKey(key).toString() === expected.provider, 'head signed by the provider')
}

// 2. The ad chain, newest to oldest through PreviousID.
const noEntries = CID.createV1(RAW, Digest.create(SHA2_256, sha256(new Uint8Array()).subarray(0, 16)))
const seen = []
let cursor = CID.parse(expected.head)
while (cursor) {
  const ad = loadBlock(cursor, DAG_JSON)
  const want = expected.ads[expected.ads.length - 1 - seen.length]
  check(want && cursor.toString() === want.cid, `ad ${seen.length} from head is ${want?.cid}`)
  const keys = Object.keys(ad).sort().join(',')
  const base = 'Addresses,ContextID,Entries,IsRm,Metadata'
  check(keys === `${base},${ad.PreviousID ? 'PreviousID,' : ''}Provider,Signature`, `${cursor}: fields ${keys}`)
  check(ad.Provider === expected.provider, `${cursor}: provider`)
  check(JSON.stringify(ad.Addresses) === JSON.stringify(expected.addresses), `${cursor}: addresses`)
  check(ad.IsRm === want.isRm, `${cursor}: IsRm`)
  check((await verifyAdSignature(ad)) === expected.provider, `${cursor}: signer is the provider`)
  check(decodeMetadata(ad.Metadata) === want.metadataCode, `${cursor}: metadata code`)

  if (want.kind === 'deal') {
    // DAG-CBOR abi.PieceInfo tuple: [padded size, v1 piece CID]
    const ctx = dagCbor.decode(ad.ContextID)
    check(Array.isArray(ctx) && ctx.length === 2, `${cursor}: deal context is a pair`)
    check(ctx[0] === want.pieceSize, `${cursor}: context size ${ctx[0]}`)
    check(CID.asCID(ctx[1])?.toString() === want.pieceCid, `${cursor}: context piece CID`)
    check(eq(dagCbor.encode(ctx), ad.ContextID), `${cursor}: context is canonical DAG-CBOR`)
  } else {
    check(ad.ContextID[0] === want.payloadFlag, `${cursor}: piece context flag`)
    check(CID.decode(ad.ContextID.subarray(1)).toString() === want.pieceCidV2, `${cursor}: piece context CID`)
  }
  check(ad.ContextID.length <= 64, `${cursor}: context id within 64 bytes`)

  if (ad.IsRm) {
    check(ad.Entries.equals(noEntries), `${cursor}: removal uses NoEntries`)
  } else {
    const { mhs, chunks } = walkEntries(ad.Entries)
    check(JSON.stringify([...mhs].sort()) === JSON.stringify([...want.multihashes].sort()),
      `${cursor}: entries list the expected multihashes`)
    check(chunks === Math.ceil(want.multihashes.length / expected.chunkSize), `${cursor}: ${chunks} chunks`)
  }
  seen.push(cursor.toString())
  cursor = ad.PreviousID ? CID.asCID(ad.PreviousID) : null
}
check(seen.length === expected.ads.length, `chain has ${seen.length} ads, want ${expected.ads.length}`)

// 3. The announce message: [Cid, [multiaddr bytes], ExtraData] in CBOR.
{
  const msg = dagCbor.decode(new Uint8Array(readFileSync(join(dir, 'announce.cbor'))))
  check(Array.isArray(msg) && msg.length === 3, 'announce: 3-element array (no OrigPeer)')
  check(CID.asCID(msg[0])?.toString() === expected.head, 'announce: names the head')
  check(msg[1].length === 1, 'announce: one address')
  const ma = multiaddr(msg[1][0])
  const comps = ma.getComponents().map((c) => [c.name, c.value ?? ''])
  const wantPath = `/ipni-provider/${expected.provider}`
  check(JSON.stringify(comps) === JSON.stringify([
    ['dns', 'sp.example.com'], ['tcp', '443'], ['https', ''], ['http-path', wantPath], ['p2p', expected.provider]
  ]), `announce: address components ${JSON.stringify(comps)}`)
  check(msg[2].length === 0, 'announce: empty ExtraData')
}

if (failures > 0) {
  console.error(`ipni check: ${failures} failure(s)`)
  process.exit(1)
}
console.log(`ipni check: ok (${seen.length} ads, head ${expected.head})`)
