/** Decoding Calico's conntrack maps (ct2, ct3, ct4, IPv4 and IPv6) from bpftool dumps into the model (calico-bpf.md §2). */
import {ctFlagNames, protoFromNumber, tcpStateOf, CT_FLAG_BA, type ConntrackEntry, type CtLeg, type CtType, type Endpoint} from './model.js'
import {type ByteSource, type ScanStats, BpftoolDumpScanner} from './bpftool-scanner.js'
import {ipv4At, ipv6At, isZero, u16, u32, u32be, u64n, u64s} from './map-bytes.js'
import type {MapLayoutId} from './map-layouts.js'

export interface CtDecodeOptions {
  /** Which CT layout: ct4 (default), ct3, ct2, ct4-v6, ct3-v6. Sizes are checked per entry. */
  layout?: MapLayoutId
  /** The node's CLOCK_MONOTONIC now in ns; when given, `activeAgoSeconds` is computed from `last_seen`. */
  nowNs?: bigint | string
  /** What the u64 at offset 0 is: `created` (ct2; ct3 up to v3.29, the ct3 default) or `rst-seen` (v3.30+; ct4 default). */
  offset0?: 'created' | 'rst-seen'
}

/** The TCP state bits both leg layouts hold (calico-bpf.md §2.7), set on `leg` in the order the JSON shows them. */
function setLegFlags(leg: CtLeg, bits: number): void {
  leg.syn = (bits & 1) !== 0
  leg.ack = (bits & 2) !== 0
  leg.fin = (bits & 4) !== 0
  leg.rst = (bits & 8) !== 0
  leg.approved = (bits & 16) !== 0
  leg.opener = (bits & 32) !== 0
}

function decodeLeg(b: Uint8Array, o: number, withWorkload: boolean): CtLeg {
  const bits = u32(b, o + 16)
  const leg: CtLeg = {bytes: u64n(b, o), packets: u32(b, o + 8), seqno: u32be(b, o + 12)}
  setLegFlags(leg, bits)
  if (withWorkload) leg.workload = (bits & 64) !== 0
  leg.ifindex = u32(b, o + 20)
  return leg
}

/** ct2's leg: no byte and packet counters. */
function decodeLegV2(b: Uint8Array, o: number): CtLeg {
  const leg: CtLeg = {seqno: u32be(b, o)}
  setLegFlags(leg, u32(b, o + 4))
  leg.ifindex = u32(b, o + 8)
  return leg
}

/** Conntrack key (16 bytes v4, 40 bytes v6, §2.6) → proto and the two ends in key order. */
export function decodeCtKey(
  key: Uint8Array,
  o = 0,
): {proto: ReturnType<typeof protoFromNumber>; a: Endpoint; b: Endpoint} {
  const proto = protoFromNumber(key[o]!)
  if (key.length - o >= 40) {
    return {
      proto,
      a: {ip: ipv6At(key, o + 4), port: u16(key, o + 36)},
      b: {ip: ipv6At(key, o + 20), port: u16(key, o + 38)},
    }
  }
  return {
    proto,
    a: {ip: ipv4At(key, o + 4), port: u16(key, o + 12)},
    b: {ip: ipv4At(key, o + 8), port: u16(key, o + 14)},
  }
}

const CT_TYPES: CtType[] = ['normal', 'nat-forward', 'nat-reverse']

let nowCacheKey: bigint | string | undefined
let nowCacheHi = 0
let nowCacheLo = 0

function agoSeconds(nowNs: bigint | string, b: Uint8Array, o: number): number {
  if (nowNs !== nowCacheKey) {
    const n = BigInt(nowNs)
    nowCacheKey = nowNs
    nowCacheHi = Number(n >> 32n)
    nowCacheLo = Number(n & 0xffffffffn)
  }
  const hi = u32(b, o + 4)
  const lo = u32(b, o)
  return ((nowCacheHi - hi) * 4294967296 + (nowCacheLo - lo)) / 1e9
}

/**
 * One conntrack entry. Layout by value size: 88 (ct4/ct3 v4), 128 (v6), 64 (ct2). Throws on a size that matches
 * no layout (the caller chose the wrong map).
 */
export function decodeCtEntry(key: Uint8Array, value: Uint8Array, opts: CtDecodeOptions = {}): ConntrackEntry {
  const layout = opts.layout ?? (value.length === 64 ? 'ct2' : value.length === 128 ? 'ct4-v6' : 'ct4')
  const v2 = value.length === 64
  const v6 = value.length === 128
  if (!v2 && !v6 && value.length !== 88) throw new Error(`conntrack value of ${value.length} bytes matches no layout`)
  const {proto, a, b} = decodeCtKey(key)
  const typeCode = value[16]!
  const type = CT_TYPES[typeCode] ?? 'unknown'
  const isCt4 = layout === 'ct4' || layout === 'ct4-v6'
  let flagBits = value[17]! | (value[23]! << 8)
  if (isCt4) flagBits |= (value[18]! << 16) | (value[19]! << 24)
  flagBits >>>= 0
  const ba = (flagBits & CT_FLAG_BA) !== 0
  const entry: ConntrackEntry = {
    proto,
    a,
    b,
    src: ba ? b : a,
    dst: ba ? a : b,
    type,
    typeCode,
    flags: flagBits === 0 ? [] : ctFlagNames(flagBits),
    flagBits,
    lastSeenNs: u64s(value, 8),
  }
  const word0 = opts.offset0 ?? (v2 || !isCt4 ? 'created' : 'rst-seen')
  if (!isZero(value, 0, 8)) {
    if (word0 === 'created') entry.createdNs = u64s(value, 0)
    else entry.rstSeenNs = u64s(value, 0)
  }
  if (opts.nowNs !== undefined) entry.activeAgoSeconds = agoSeconds(opts.nowNs, value, 8)
  if (type === 'nat-forward') {
    const rev = decodeCtKey(value.subarray(24, v6 ? 64 : 40))
    entry.natReverseKey = rev
    entry.natSrcPort = u16(value, v6 ? 64 : 40)
    return entry
  }
  let ab: CtLeg
  let baLeg: CtLeg
  let tunOff: number
  let origOff: number
  let origPortOff: number
  let origSPortOff: number
  let origSipOff: number
  const ipLen = v6 ? 16 : 4
  if (v2) {
    ab = decodeLegV2(value, 24)
    baLeg = decodeLegV2(value, 36)
    origOff = 48
    origPortOff = 52
    origSPortOff = 54
    tunOff = 56
    origSipOff = 60
  } else {
    ab = decodeLeg(value, 24, true)
    baLeg = decodeLeg(value, 48, true)
    tunOff = 72
    origOff = v6 ? 88 : 76
    origPortOff = v6 ? 104 : 80
    origSPortOff = v6 ? 106 : 82
    origSipOff = v6 ? 108 : 84
  }
  entry.legs = {ab, ba: baLeg}
  const ipAt = v6 ? ipv6At : ipv4At
  if (type === 'nat-reverse' && !isZero(value, origOff, ipLen)) {
    entry.origDst = {ip: ipAt(value, origOff), port: u16(value, origPortOff)}
  }
  const osp = u16(value, origSPortOff)
  if (osp !== 0) entry.origSrcPort = osp
  if (!isZero(value, tunOff, ipLen)) entry.tunnelIp = ipAt(value, tunOff)
  if (!isZero(value, origSipOff, ipLen)) entry.origSrcIp = ipAt(value, origSipOff)
  if (proto === 'tcp') entry.tcpState = tcpStateOf(ab, baLeg, flagBits)
  return entry
}

/**
 * Streams a conntrack dump: yields decoded entries in batches (one batch per input chunk), with bounded memory.
 * Pass `stats` to read the scan counters afterwards. Elements whose sizes match no layout are counted as skipped.
 */
export async function* decodeConntrackDump(
  input: ByteSource,
  opts: CtDecodeOptions & {stats?: ScanStats} = {},
): AsyncGenerator<ConntrackEntry[]> {
  let batch: ConntrackEntry[] = []
  const scanner = new BpftoolDumpScanner((k, v) => {
    try {
      batch.push(decodeCtEntry(k, v, opts))
    } catch {
      scanner.stats.entries--
      scanner.stats.skipped++
    }
  })
  for await (const chunk of input) {
    scanner.push(chunk)
    if (batch.length > 0) {
      const out = batch
      batch = []
      yield out
    }
  }
  scanner.end()
  if (batch.length > 0) yield batch
  if (opts.stats) Object.assign(opts.stats, scanner.stats)
}
