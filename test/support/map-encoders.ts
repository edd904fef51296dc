/**
 * The inverse of src/lib/maps/nat-decode.ts and ct-decode.ts, for tests and the node rig: model entries → key/value bytes in Calico's
 * exact layouts (calico-bpf.md §2), bpftool batch files to create and fill pinned maps, and fake
 * `bpftool -j map dump` JSON (optionally with BTF-style `formatted` objects that contain duplicate keys, §7).
 */
import {
  CT_FLAG_NAMES,
  protoNumber,
  type ConntrackEntry,
  type CtLeg,
  type CtProto,
  type Endpoint,
  type IpProto,
  type NatAffinityEntry,
  type NatFrontend,
} from '../../src/lib/maps/model.js'
import {GLOBAL_PIN_DIR, MAP_LAYOUTS, type MapLayout, type MapLayoutId} from '../../src/lib/maps/map-layouts.js'

export {MAP_LAYOUTS as MAP_DEFINITIONS}
export type {MapLayout as MapDefinition}

export interface MapEntryBytes {
  key: Uint8Array
  value: Uint8Array
}

// ---------------------------------------------------------------------------------------------------------------
// Primitives

/** Network-order bytes of an IPv4 (4 bytes) or IPv6 (16 bytes, `::` and embedded dotted quads allowed) address. */
export function ipBytes(ip: string): Uint8Array {
  if (!ip.includes(':')) {
    const p = ip.split('.').map(Number)
    if (p.length !== 4 || p.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) throw new Error(`bad IPv4 ${ip}`)
    return Uint8Array.from(p)
  }
  let text = ip
  const tail: number[] = []
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted) {
    const b = ipBytes(dotted[1]!)
    tail.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!)
    text = text.slice(0, -dotted[1]!.length) + '0:0'
  }
  const [headText, tailText] = text.includes('::') ? text.split('::') : [text, undefined]
  const head = headText ? headText.split(':').map((h) => parseInt(h, 16)) : []
  const rest = tailText !== undefined && tailText !== '' ? tailText.split(':').map((h) => parseInt(h, 16)) : []
  let groups: number[]
  if (tailText === undefined) groups = head
  else groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest]
  if (dotted) groups.splice(6, 2, ...tail)
  if (groups.length !== 8) throw new Error(`bad IPv6 ${ip}`)
  const out = new Uint8Array(16)
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8
    out[2 * i + 1] = g & 0xff
  })
  return out
}

const put16 = (b: Uint8Array, o: number, v: number) => {
  b[o] = v & 0xff
  b[o + 1] = (v >>> 8) & 0xff
}
const put32 = (b: Uint8Array, o: number, v: number) => {
  b[o] = v & 0xff
  b[o + 1] = (v >>> 8) & 0xff
  b[o + 2] = (v >>> 16) & 0xff
  b[o + 3] = (v >>> 24) & 0xff
}
const put32be = (b: Uint8Array, o: number, v: number) => {
  b[o] = (v >>> 24) & 0xff
  b[o + 1] = (v >>> 16) & 0xff
  b[o + 2] = (v >>> 8) & 0xff
  b[o + 3] = v & 0xff
}
const put64 = (b: Uint8Array, o: number, v: bigint | string | number) => {
  let n = BigInt(v)
  for (let i = 0; i < 8; i++) {
    b[o + i] = Number(n & 0xffn)
    n >>= 8n
  }
}
const putIp = (b: Uint8Array, o: number, ip: string | undefined, len: number) => {
  if (!ip) return
  const bytes = ipBytes(ip)
  if (bytes.length !== len) throw new Error(`${ip}: expected a ${len === 4 ? 'v4' : 'v6'} address`)
  b.set(bytes, o)
}

function protoNum(p: CtProto | IpProto): number {
  const n = protoNumber(p)
  if (n === undefined) throw new Error(`cannot encode protocol ${String(p)}`)
  return n
}

// ---------------------------------------------------------------------------------------------------------------
// NAT

/** Frontend key (16 bytes v4 / 40 bytes v6): prefixlen LE = 56 (152) + src prefix, addr, port LE, proto, saddr. */
export function encodeNatFrontendKey(fe: {ip: string; port: number; proto: IpProto; srcRange?: string}): Uint8Array {
  const v6 = fe.ip.includes(':')
  const key = new Uint8Array(v6 ? 40 : 16)
  let srcPrefix = 0
  let srcIp: string | undefined
  if (fe.srcRange) {
    const [net, len] = fe.srcRange.split('/')
    srcIp = net
    srcPrefix = Number(len)
  }
  put32(key, 0, (v6 ? 152 : 56) + srcPrefix)
  putIp(key, 4, fe.ip, v6 ? 16 : 4)
  put16(key, v6 ? 20 : 8, fe.port)
  key[v6 ? 22 : 10] = protoNum(fe.proto)
  putIp(key, v6 ? 23 : 11, srcIp, v6 ? 16 : 4)
  return key
}

const NAT_FLAG_BITS: Record<string, number> = {'external-local': 1, 'internal-local': 2, 'nat-exclude': 4, maglev: 8}

/** Frontend value: id, count (0xffffffff = blackhole), local, affinity timeout, flags (fe3 only: 20 vs 16 bytes). */
export function encodeNatFrontendValue(
  fe: NatFrontend,
  layout: 'nat-fe3' | 'nat-fe2' | 'nat-fe3-v6' = 'nat-fe3',
): Uint8Array {
  const v = new Uint8Array(layout === 'nat-fe2' ? 16 : 20)
  put32(v, 0, fe.serviceId)
  put32(v, 4, fe.blackhole || fe.count === -1 ? 0xffffffff : fe.count)
  put32(v, 8, fe.localCount)
  put32(v, 12, fe.affinityTimeoutSec ?? 0)
  if (layout !== 'nat-fe2') {
    let bits = fe.flagBits ?? 0
    if (fe.flagBits === undefined)
      for (const f of fe.flags) bits |= NAT_FLAG_BITS[f] ?? (/^0x[0-9a-f]+$/.test(f) ? parseInt(f, 16) : 0)
    put32(v, 16, bits)
  }
  return v
}

export function encodeNatBackendKey(serviceId: number, ordinal: number): Uint8Array {
  const k = new Uint8Array(8)
  put32(k, 0, serviceId)
  put32(k, 4, ordinal)
  return k
}

/** Backend value: 8 bytes v4 (addr, port LE, pad) / 20 bytes v6. */
export function encodeNatBackendValue(be: Endpoint): Uint8Array {
  const v6 = be.ip.includes(':')
  const v = new Uint8Array(v6 ? 20 : 8)
  putIp(v, 0, be.ip, v6 ? 16 : 4)
  put16(v, v6 ? 16 : 4, be.port)
  return v
}

/** All frontend and backend map entries for a set of frontends (backends deduplicated by (id, ordinal)). */
export function encodeNatMaps(
  frontends: NatFrontend[],
  layout: 'nat-fe3' | 'nat-fe2' = 'nat-fe3',
): {frontends: MapEntryBytes[]; backends: MapEntryBytes[]} {
  const fes: MapEntryBytes[] = []
  const bes = new Map<string, MapEntryBytes>()
  for (const fe of frontends) {
    fes.push({
      key: encodeNatFrontendKey(fe),
      value: encodeNatFrontendValue(fe, fe.ip.includes(':') ? 'nat-fe3-v6' : layout),
    })
    for (const be of fe.backends) {
      bes.set(`${fe.serviceId}:${be.ordinal}`, {
        key: encodeNatBackendKey(fe.serviceId, be.ordinal),
        value: encodeNatBackendValue(be),
      })
    }
  }
  return {frontends: fes, backends: [...bes.values()]}
}

/** Affinity key (16/40) and value (16/32), §2.5. */
export function encodeNatAffinity(e: NatAffinityEntry): MapEntryBytes {
  const v6 = e.clientIp.includes(':')
  const key = new Uint8Array(v6 ? 40 : 16)
  const value = new Uint8Array(v6 ? 32 : 16)
  const n = v6 ? 16 : 4
  putIp(key, 0, e.frontend.ip, n)
  put16(key, n, e.frontend.port)
  key[n + 2] = protoNum(e.frontend.proto)
  putIp(key, v6 ? 20 : 8, e.clientIp, n)
  putIp(value, 0, e.backend.ip, n)
  put16(value, n, e.backend.port)
  put64(value, v6 ? 24 : 8, e.timestampNs ?? 0)
  return {key, value}
}

// ---------------------------------------------------------------------------------------------------------------
// Conntrack

/** CT key (16 bytes v4 / 40 v6): proto u32 LE, addr_a, addr_b, port_a LE, port_b LE. */
export function encodeCtKey(k: {proto: CtProto; a: Endpoint; b: Endpoint}): Uint8Array {
  const v6 = k.a.ip.includes(':')
  const key = new Uint8Array(v6 ? 40 : 16)
  put32(key, 0, protoNum(k.proto))
  putIp(key, 4, k.a.ip, v6 ? 16 : 4)
  putIp(key, v6 ? 20 : 8, k.b.ip, v6 ? 16 : 4)
  put16(key, v6 ? 36 : 12, k.a.port)
  put16(key, v6 ? 38 : 14, k.b.port)
  return key
}

const CT_TYPE_CODES: Record<string, number> = {normal: 0, 'nat-forward': 1, 'nat-reverse': 2}
const CT_FLAG_BY_NAME = new Map(CT_FLAG_NAMES.map(([bit, name]) => [name, bit]))

function legBits(l: CtLeg): number {
  return (
    (l.syn ? 1 : 0) |
    (l.ack ? 2 : 0) |
    (l.fin ? 4 : 0) |
    (l.rst ? 8 : 0) |
    (l.approved ? 16 : 0) |
    (l.opener ? 32 : 0) |
    (l.workload ? 64 : 0)
  )
}

function putLeg(b: Uint8Array, o: number, l: CtLeg): void {
  put64(b, o, l.bytes ?? 0)
  put32(b, o + 8, l.packets ?? 0)
  put32be(b, o + 12, l.seqno ?? 0)
  put32(b, o + 16, legBits(l))
  put32(b, o + 20, l.ifindex ?? 0)
}

function putLegV2(b: Uint8Array, o: number, l: CtLeg): void {
  put32be(b, o, l.seqno ?? 0)
  put32(b, o + 4, legBits(l))
  put32(b, o + 8, l.ifindex ?? 0)
}

/** CT value for a layout: ct4/ct3 (88 bytes), ct4-v6/ct3-v6 (128), ct2 (64). */
export function encodeCtValue(e: ConntrackEntry, layout: MapLayoutId = 'ct4'): Uint8Array {
  const l = MAP_LAYOUTS[layout]
  if (l.kind !== 'ct') throw new Error(`${layout} is not a conntrack layout`)
  const v2 = l.valueSize === 64
  const v6 = l.ipv6
  const v = new Uint8Array(l.valueSize)
  put64(v, 0, e.rstSeenNs ?? e.createdNs ?? 0)
  put64(v, 8, e.lastSeenNs ?? 0)
  v[16] = e.typeCode ?? CT_TYPE_CODES[e.type] ?? 0
  let flags = e.flagBits
  if (flags === undefined) {
    flags = 0
    for (const f of e.flags) flags |= CT_FLAG_BY_NAME.get(f) ?? (/^0x[0-9a-f]+$/.test(f) ? parseInt(f, 16) : 0)
  }
  v[17] = flags & 0xff
  v[23] = (flags >>> 8) & 0xff
  if (layout === 'ct4' || layout === 'ct4-v6') {
    v[18] = (flags >>> 16) & 0xff
    v[19] = (flags >>> 24) & 0xff
  }
  if (e.type === 'nat-forward') {
    if (e.natReverseKey) v.set(encodeCtKey(e.natReverseKey), 24)
    put16(v, v6 ? 64 : 40, e.natSrcPort ?? 0)
    return v
  }
  const n = v6 ? 16 : 4
  if (v2) {
    if (e.legs) {
      putLegV2(v, 24, e.legs.ab)
      putLegV2(v, 36, e.legs.ba)
    }
    putIp(v, 48, e.origDst?.ip, 4)
    put16(v, 52, e.origDst?.port ?? 0)
    put16(v, 54, e.origSrcPort ?? 0)
    putIp(v, 56, e.tunnelIp, 4)
    putIp(v, 60, e.origSrcIp, 4)
    return v
  }
  if (e.legs) {
    putLeg(v, 24, e.legs.ab)
    putLeg(v, 48, e.legs.ba)
  }
  putIp(v, 72, e.tunnelIp, n)
  putIp(v, v6 ? 88 : 76, e.origDst?.ip, n)
  put16(v, v6 ? 104 : 80, e.origDst?.port ?? 0)
  put16(v, v6 ? 106 : 82, e.origSrcPort ?? 0)
  putIp(v, v6 ? 108 : 84, e.origSrcIp, n)
  return v
}

export function encodeCtEntry(e: ConntrackEntry, layout: MapLayoutId = 'ct4'): MapEntryBytes {
  return {key: encodeCtKey(e), value: encodeCtValue(e, layout)}
}

// ---------------------------------------------------------------------------------------------------------------
// bpftool text

const HEX2 = Array.from({length: 256}, (_, i) => i.toString(16).padStart(2, '0'))

/** `0a 00 00 01` — bpftool's `hex` byte syntax for `map update … key hex …`. */
export function hexBytes(b: Uint8Array): string {
  return Array.from(b, (x) => HEX2[x]!).join(' ')
}

/** `bpftool map create` line (batch syntax, no leading `bpftool`). */
export function mapCreateCommand(layout: MapLayout, opts: {path?: string; maxEntries?: number} = {}): string {
  const path = opts.path ?? `${GLOBAL_PIN_DIR}/${layout.name}`
  return (
    `map create ${path} type ${layout.mapType} key ${layout.keySize} value ${layout.valueSize} ` +
    `entries ${opts.maxEntries ?? layout.maxEntries} name ${layout.name} flags ${layout.flags}`
  )
}

/**
 * A `bpftool batch file` text: optionally the `map create` line, then one `map update pinned <path> key hex … value
 * hex …` per entry. Run with `bpftool batch file <file>`.
 */
export function renderBpftoolBatch(
  layout: MapLayout | MapLayoutId,
  entries: Iterable<MapEntryBytes>,
  opts: {create?: boolean; path?: string; maxEntries?: number} = {},
): string {
  const l = typeof layout === 'string' ? MAP_LAYOUTS[layout] : layout
  const path = opts.path ?? `${GLOBAL_PIN_DIR}/${l.name}`
  const lines: string[] = []
  if (opts.create) lines.push(mapCreateCommand(l, {path, maxEntries: opts.maxEntries}))
  for (const e of entries) {
    if (e.key.length !== l.keySize || e.value.length !== l.valueSize) {
      throw new Error(`${l.name}: entry sizes ${e.key.length}/${e.value.length}, expected ${l.keySize}/${l.valueSize}`)
    }
    lines.push(`map update pinned ${path} key hex ${hexBytes(e.key)} value hex ${hexBytes(e.value)}`)
  }
  return lines.join('\n') + '\n'
}

export interface FakeDumpOptions {
  /** `bpftool -p` style indentation. */
  pretty?: boolean
  /** Add a BTF-style `formatted` object with duplicate `""` keys, nested objects, strings with escapes. */
  formatted?: boolean
}

const jsonHex = (b: Uint8Array): string => Array.from(b, (x) => `"0x${HEX2[x]}"`).join(',')

/** A BTF-ish `formatted` object: not real BTF, but shaped like it (nested, duplicate `""` members, hex strings). */
function fakeFormatted(e: MapEntryBytes): string {
  const k = e.key
  const v = e.value
  const fields = Array.from(v.subarray(0, 16), (x, i) => `"f${i}":${x}`).join(',')
  return (
    `{"key":{"protocol":${k[0]},"addr_a":${k[4]},"port_a":"0x${HEX2[k[12] ?? 0]}","tricky":"a \\"quoted\\" } ] { [ \\\\"},` +
    `"value":{${fields},"":{"a_to_b":{"bytes":1,"packets":2,"syn_seen":"0x1","ack_seen":"0x0"},"b_to_a":{"bytes":0}},` +
    `"":{"nat_rev_key":{"protocol":6},"nat_sport":0},"arr":[[1,2],[3,[4,{"x":"]"}]]]}}`
  )
}

/** One element of a fake dump. */
function element(e: MapEntryBytes, opts: FakeDumpOptions): string {
  if (opts.pretty) {
    let s = `{\n        "key": [${jsonHex(e.key)}\n        ],\n        "value": [${jsonHex(e.value)}\n        ]`
    if (opts.formatted) s += `,\n        "formatted": ${fakeFormatted(e)}`
    return s + '\n    }'
  }
  let s = `{"key":[${jsonHex(e.key)}],"value":[${jsonHex(e.value)}]`
  if (opts.formatted) s += `,"formatted":${fakeFormatted(e)}`
  return s + '}'
}

/** Fake `bpftool -j map dump` output as chunks (so large dumps need not be one string). */
export function* renderBpftoolDumpChunks(
  entries: Iterable<MapEntryBytes>,
  opts: FakeDumpOptions = {},
): Generator<string> {
  yield '['
  let first = true
  for (const e of entries) {
    yield (first ? '' : opts.pretty ? ',' : ',') + element(e, opts)
    first = false
  }
  yield opts.pretty ? '\n]\n' : ']\n'
}

/** Fake `bpftool -j map dump` output as one string. */
export function renderBpftoolDumpJson(entries: Iterable<MapEntryBytes>, opts: FakeDumpOptions = {}): string {
  return [...renderBpftoolDumpChunks(entries, opts)].join('')
}

/**
 * Batch file text for a whole NAT setup: creates (optionally) and fills `cali_v4_nat_fe3` + `cali_v4_nat_be`
 * (or the v6 maps when `ipv6`), from model frontends with their backends.
 */
export function renderNatBatch(frontends: NatFrontend[], opts: {create?: boolean; ipv6?: boolean} = {}): string {
  const maps = encodeNatMaps(frontends.filter((f) => f.ip.includes(':') === (opts.ipv6 ?? false)))
  return (
    renderBpftoolBatch(opts.ipv6 ? 'nat-fe3-v6' : 'nat-fe3', maps.frontends, {create: opts.create}) +
    renderBpftoolBatch(opts.ipv6 ? 'nat-be-v6' : 'nat-be', maps.backends, {create: opts.create})
  )
}

/** One `cali_iface4` entry (felix/bpf/ifstate/map.go `NewValue`): flags, NUL-padded name, 8 policy indexes (-1 = none). */
export function encodeIfstate(ifindex: number, flags: number, name: string, ids: number[] = []): {key: Buffer; value: Buffer} {
  const key = Buffer.alloc(4)
  key.writeUInt32LE(ifindex)
  const value = Buffer.alloc(52)
  value.writeUInt32LE(flags, 0)
  Buffer.from(name, 'latin1').copy(value, 4, 0, 15)
  for (let i = 0; i < 8; i++) value.writeInt32LE(ids[i] ?? -1, 20 + 4 * i)
  return {key, value}
}
