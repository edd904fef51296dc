/**
 * Parsers for the text output of `calico-node -bpf nat dump`, `nat aff` and `conntrack dump`, every version
 * (calico-bpf.md §1.2–§1.4, §1.8, §1.9, §1.12). Tolerant: unknown lines are counted, never fatal.
 */
import {StringDecoder} from 'node:string_decoder'

import {
  canonicalCtOrder,
  CT_FLAG_BA,
  CT_FLAG_NAMES,
  ctFlagNames,
  protoFromNumber,
  type ConntrackEntry,
  type ConntrackParseResult,
  type CtLeg,
  type CtProto,
  type CtTextFormat,
  type CtType,
  type Endpoint,
  type NatAffinityEntry,
  type NatFrontend,
  type ParseResult,
  type TcpState,
} from './model.js'
import {forEachLine, goDurationToNs, LineAccounting, parseGoDuration, parseHostPort} from './noise.js'

// ---------------------------------------------------------------------------------------------------------------
// nat dump

const FE_LINE =
  /^\s*(\S+) +port +(\d+) +proto +(\d+) +id +(\d+) +count +(-?\d+) +local +(\d+)(?: +flags +(.*?))?(?: +src +(\S+))?\s*$/
const BE_LINE = /^\s*(\d+):(\d+)\s+(.*?)\s*$/
const BLACKHOLE_U32 = 4294967295

export interface NatTextOptions {
  /**
   * `--group-by-service` output prints several frontend lines, then their shared backends once. `'auto'` (default)
   * attaches backends to every consecutive frontend with the same id that has no backends yet; `false` attaches them
   * to the last frontend only.
   */
  grouped?: boolean | 'auto'
}

/** Splits the `flags` text (`external-local, internal-local`; v3.26.0–4 print stray `, `) into names. */
function splitNatFlags(text: string | undefined): string[] {
  if (!text) return []
  const out: string[] = []
  for (const part of text.split(',')) {
    const name = part.trim()
    if (name) out.push(name)
  }
  return out
}

function finishFrontend(fe: NatFrontend, seen: number): void {
  if (fe.count > 0 && seen < fe.count && !fe.blackhole) fe.truncated = true
  fe.backends.sort((x, y) => x.ordinal - y.ordinal)
  if (fe.missingOrdinals) fe.missingOrdinals.sort((x, y) => x - y)
}

/**
 * Parses `nat dump` text (flat or `--group-by-service`) of any version into frontends with their backends,
 * in input order.
 */
export function parseNatDumpText(text: string, opts: NatTextOptions = {}): ParseResult<NatFrontend> {
  const grouped = opts.grouped ?? 'auto'
  const acc = new LineAccounting()
  const entries: NatFrontend[] = []
  // The frontends the next backend lines belong to (one, or a --group-by-service group), and lines seen for them.
  let group: NatFrontend[] = []
  let groupSeen = 0
  let groupHasBackends = false

  const closeGroup = () => {
    for (const fe of group) finishFrontend(fe, groupSeen)
    group = []
    groupSeen = 0
    groupHasBackends = false
  }

  forEachLine(text, (line, cutOff) => {
    let m = FE_LINE.exec(line)
    if (m) {
      const rawCount = Number(m[5])
      const blackhole = rawCount === -1 || rawCount === BLACKHOLE_U32
      const fe: NatFrontend = {
        ip: m[1]!,
        port: Number(m[2]),
        proto: protoFromNumber(Number(m[3])),
        serviceId: Number(m[4]),
        count: blackhole ? -1 : rawCount,
        localCount: Number(m[6]),
        flags: splitNatFlags(m[7]),
        backends: [],
      }
      if (m[8]) fe.srcRange = m[8]
      if (blackhole) fe.blackhole = true
      const joinGroup =
        grouped !== false && group.length > 0 && !groupHasBackends && group[0]!.serviceId === fe.serviceId
      if (!joinGroup) closeGroup()
      group.push(fe)
      entries.push(fe)
      return
    }
    m = BE_LINE.exec(line)
    if (m) {
      const id = Number(m[1])
      const ordinal = Number(m[2])
      const payload = m[3]!
      const owner = group.length > 0 && group[0]!.serviceId === id ? group : undefined
      if (payload === 'is missing') {
        if (!owner) {
          acc.errors.push(`backend line without its frontend: ${line.trim()}`)
          return
        }
        if (owner[0]!.blackhole) {
          // ≤ v3.26 prints ~4.29e9 "is missing" lines after a blackhole frontend; they carry nothing.
          acc.noiseLines++
          return
        }
        for (const fe of owner) {
          fe.missingBackends = (fe.missingBackends ?? 0) + 1
          ;(fe.missingOrdinals ??= []).push(ordinal)
        }
        groupSeen++
        groupHasBackends = true
        return
      }
      const ep = parseHostPort(payload)
      if (ep) {
        if (!owner) {
          acc.errors.push(`backend line without its frontend: ${line.trim()}`)
          return
        }
        for (const fe of owner) fe.backends.push({ordinal, ip: ep.ip, port: ep.port})
        groupSeen++
        groupHasBackends = true
        return
      }
    }
    acc.other(line, cutOff)
  })
  closeGroup()
  return {
    entries,
    unknownLines: acc.unknownLines,
    samples: acc.samples,
    errors: acc.errors,
    noiseLines: acc.noiseLines,
    truncatedLastLine: acc.truncatedLastLine,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// nat aff

const AFF_OLD =
  /AffinityKey\{ClientIP:(\S+) FrontEndAffinityKey\{Proto:(\d+) Addr:(\S+) Port:(\d+)\}\}\s+AffinityValue\{Timestamp:(\d+),\s*Backend:NATBackendValue\{Addr:(\S+) Port:(\d+)\}\}/g
const AFF_NEW = /^\s*client (\S+) svc proto (\d+) (\S+) -> (\S+) ts (\S+)\s*$/

/** Parses `nat aff` text: v3.23–v3.31.6 `AffinityKey{…} AffinityValue{…}` (v3.23 without newlines) and v3.31.7+ `client …`. */
export function parseNatAffinityText(text: string): ParseResult<NatAffinityEntry> {
  const acc = new LineAccounting()
  const entries: NatAffinityEntry[] = []
  forEachLine(text, (line, cutOff) => {
    let found = false
    if (line.includes('AffinityKey{')) {
      for (const m of line.matchAll(AFF_OLD)) {
        found = true
        entries.push({
          clientIp: m[1]!,
          frontend: {ip: m[3]!, port: Number(m[4]), proto: protoFromNumber(Number(m[2]))},
          backend: {ip: m[6]!, port: Number(m[7])},
          timestampNs: m[5]!,
        })
      }
      if (found) return
    }
    const m = AFF_NEW.exec(line)
    if (m) {
      const fe = parseHostPort(m[3]!)
      const be = parseHostPort(m[4]!)
      if (fe && be) {
        const entry: NatAffinityEntry = {
          clientIp: m[1]!,
          frontend: {ip: fe.ip, port: fe.port, proto: protoFromNumber(Number(m[2]))},
          backend: be,
        }
        const ns = goDurationToNs(m[5]!)
        if (ns !== undefined) entry.timestampNs = ns
        entries.push(entry)
        return
      }
    }
    acc.other(line, cutOff)
  })
  return {
    entries,
    unknownLines: acc.unknownLines,
    samples: acc.samples,
    errors: acc.errors,
    noiseLines: acc.noiseLines,
    truncatedLastLine: acc.truncatedLastLine,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// conntrack dump

const PRETTY =
  /^\s*(TCP|UDP|ICMP6?|SCTP|UNKNOWN|Proto-\d+) +(\S+) +-> +(\S+)(?: +-> +(\S+))?(?: +external client, service forwarded to\/from +(\S+))?(?: +source port changed from +(\d+))? +(?:Age: +(\S+) +)?Active ago +(\S+)(?: +(ESTABLISHED|SYN-SENT|CLOSED|RESET))?\s*$/
const RAW =
  /^\s*ConntrackKey\{proto=(\d+) +(\S+) +<-> +(\S+)\} +-> +Entry\{Type:(\d+), *(?:Created:(\d+), *)?LastSeen:(\d+), *Flags:(.*?) *(?:Data: *(\{.*\})|REVKey ?: *ConntrackKey\{proto=(\d+) +(\S+) +<-> +(\S+)\}(?: +NATSPort: *(\d+))?|(TYPE INVALID))\}(?: +Age: +(\S+))? +Active ago +(\S+)(?: +(ESTABLISHED|SYN-SENT|CLOSED|RESET))?\s*$/

const PRETTY_PROTO: Record<string, CtProto> = {
  TCP: 'tcp',
  UDP: 'udp',
  ICMP: 'icmp',
  ICMP6: 'icmp6',
  SCTP: 'sctp',
  UNKNOWN: 'unknown',
}

function prettyProto(word: string): CtProto {
  const p = PRETTY_PROTO[word]
  if (p !== undefined) return p
  return protoFromNumber(Number(word.slice(6)))
}

function typeOf(code: number): CtType {
  return code === 0 ? 'normal' : code === 1 ? 'nat-forward' : code === 2 ? 'nat-reverse' : 'unknown'
}

const FLAG_BY_NAME = new Map<string, number>(CT_FLAG_NAMES.map(([bit, name]) => [name, bit]))

/** ` <none>`, ` 0x204 np-fwd host-psnat` (v3.24+: trust the hex), or ≤ v3.23 names only. */
function parseRawFlags(text: string): {bits: number; names: string[]} {
  const t = text.trim()
  if (t === '' || t === '<none>') return {bits: 0, names: []}
  const hex = /^0x([0-9a-fA-F]+)/.exec(t)
  if (hex) {
    const bits = parseInt(hex[1]!, 16)
    return {bits, names: ctFlagNames(bits)}
  }
  let bits = 0
  const names: string[] = []
  for (const w of t.split(/\s+/)) {
    const bit = FLAG_BY_NAME.get(w)
    if (bit !== undefined) bits |= bit
    names.push(w)
  }
  return {bits: bits >>> 0, names}
}

/** Decimal digits of `s[from, to)` as a number (NaN if any non-digit). */
function digitsAt(s: string, from: number, to: number): number {
  if (from >= to) return NaN
  let v = 0
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return NaN
    v = v * 10 + (c - 48)
  }
  return v
}

/**
 * `Bytes:1 Packets:2 Seqno:3 SynSeen:true … Ifindex:7` in `s[start, end)` (Whitelisted = approved before v3.25),
 * scanned in place. Names are told apart by first letter and length.
 */
function parseLegAt(s: string, start: number, end: number): CtLeg {
  const leg: CtLeg = {}
  let i = start
  while (i < end) {
    while (i < end && s.charCodeAt(i) === 32) i++
    const colon = s.indexOf(':', i)
    if (colon < 0 || colon >= end) break
    let sp = s.indexOf(' ', colon)
    if (sp < 0 || sp > end) sp = end
    const f = s.charCodeAt(i)
    const len = colon - i
    const v = colon + 1
    const bool = s.charCodeAt(v) === 116 // t(rue)
    if (len === 5 && f === 66) leg.bytes = digitsAt(s, v, sp)
    else if (len === 7 && f === 80) leg.packets = digitsAt(s, v, sp)
    else if (len === 5 && f === 83) leg.seqno = digitsAt(s, v, sp)
    else if (len === 7 && f === 83) leg.syn = bool
    else if (len === 7 && f === 65) leg.ack = bool
    else if (len === 7 && f === 70) leg.fin = bool
    else if (len === 7 && f === 82) leg.rst = bool
    else if ((len === 8 && f === 65) || (len === 11 && f === 87)) leg.approved = bool
    else if (len === 6 && f === 79) leg.opener = bool
    else if (len === 8 && f === 87) leg.workload = bool
    else if (len === 7 && f === 73) leg.ifindex = digitsAt(s, v, sp)
    i = sp + 1
  }
  return leg
}

const ZERO_IPS = new Set(['0.0.0.0', '::', '<nil>', ''])

/** `{A2B:{…} B2A:{…} OrigDst:… OrigSrc:… OrigPort:… OrigSPort:… TunIP:…}` into the entry. */
function applyData(entry: ConntrackEntry, data: string): boolean {
  const a2b = data.indexOf('A2B:{')
  const b2a = data.indexOf('B2A:{')
  if (a2b < 0 || b2a < 0) return false
  const a2bEnd = data.indexOf('}', a2b)
  const b2aEnd = data.indexOf('}', b2a)
  if (a2bEnd < 0 || b2aEnd < 0) return false
  entry.legs = {ab: parseLegAt(data, a2b + 5, a2bEnd), ba: parseLegAt(data, b2a + 5, b2aEnd)}
  let origDst: string | undefined
  let origPort = 0
  let i = b2aEnd + 1
  let end = data.length
  while (end > i && (data.charCodeAt(end - 1) === 125 || data.charCodeAt(end - 1) === 32)) end--
  while (i < end) {
    while (i < end && data.charCodeAt(i) === 32) i++
    const colon = data.indexOf(':', i)
    if (colon < 0 || colon >= end) break
    let sp = data.indexOf(' ', colon)
    if (sp < 0 || sp > end) sp = end
    const name = data.slice(i, colon)
    const value = data.slice(colon + 1, sp)
    if (name === 'OrigDst') origDst = value
    else if (name === 'OrigPort') origPort = Number(value)
    else if (name === 'OrigSPort') {
      const n = Number(value)
      if (n) entry.origSrcPort = n
    } else if (name === 'OrigSrc') {
      if (!ZERO_IPS.has(value)) entry.origSrcIp = value
    } else if (name === 'TunIP') {
      if (!ZERO_IPS.has(value)) entry.tunnelIp = value
    }
    i = sp + 1
  }
  if (entry.type === 'nat-reverse' && origDst !== undefined && !ZERO_IPS.has(origDst)) {
    entry.origDst = {ip: origDst, port: origPort}
  }
  return true
}

/** Index of the next non-space character at or after `i`. */
function skipSpaces(s: string, i: number): number {
  while (s.charCodeAt(i) === 32) i++
  return i
}

/** End of the token (run of non-space characters) starting at `i`. */
function tokenEnd(s: string, i: number): number {
  const sp = s.indexOf(' ', i)
  return sp < 0 ? s.length : sp
}

/**
 * The LE-u32 reading of the last IPv4 address parsed by `hostPortAt` (Calico's key-order compare value), or -1 when it
 * was not a dotted quad. A module-level scratch value, so the hot path allocates nothing for it.
 */
let lastIpv4Le = -1

/** `ip:port` in `s[start, end)` (IPv6 without brackets: split on the last colon), without intermediate strings. */
function hostPortAt(s: string, start: number, end: number): Endpoint | undefined {
  const colon = s.lastIndexOf(':', end - 1)
  if (colon <= start || end - colon - 1 > 5 || end - colon - 1 < 1) return undefined
  let port = 0
  for (let i = colon + 1; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return undefined
    port = port * 10 + (c - 48)
  }
  if (port > 65535) return undefined
  // Validate the address and, for IPv4, compute its little-endian u32 value on the way.
  let v4 = 0
  let part = 0
  let digits = 0
  let dots = 0
  let scale = 1
  let isV4 = true
  for (let i = start; i < colon; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48)
      digits++
    } else if (c === 46) {
      if (digits === 0 || digits > 3 || part > 255) isV4 = false
      v4 += part * scale
      scale *= 256
      part = 0
      digits = 0
      dots++
    } else if (c === 58 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)) isV4 = false
    else return undefined
  }
  lastIpv4Le = isV4 && dots === 3 && digits > 0 && digits <= 3 && part <= 255 ? v4 + part * scale : -1
  return {ip: s.slice(start, colon), port}
}

/**
 * Go duration in `s[start, end)` → seconds. The common `12.345s` / `493.47131ms` shapes are read in place (an exact
 * integer mantissa divided by an exact power of ten is correctly rounded, i.e. equal to `Number(text)`); anything
 * else goes through `parseGoDuration`.
 */
function durationAt(s: string, start: number, end: number): number | undefined {
  const last = s.charCodeAt(end - 1)
  if (last === 115 /* s */ && end - start >= 2) {
    const ms = s.charCodeAt(end - 2) === 109 /* m */
    const stop = ms ? end - 2 : end - 1
    let m = 0
    let frac = -1
    let ok = stop > start
    for (let i = start; i < stop; i++) {
      const c = s.charCodeAt(i)
      if (c >= 48 && c <= 57) {
        m = m * 10 + (c - 48)
        if (frac >= 0) frac++
      } else if (c === 46 && frac < 0 && i > start) frac = 0
      else {
        ok = false
        break
      }
    }
    if (ok && m < 9007199254740992 && frac <= 22) {
      const v = frac > 0 ? m / POW10[frac]! : m
      return ms ? Math.round(v * 1e6) / 1e9 : v
    }
  }
  return parseGoDuration(s.slice(start, end))
}

const POW10 = Array.from({length: 23}, (_, k) => 10 ** k)

const EXT_CLIENT = 'external client, service forwarded to/from '
const SPORT_CHANGED = 'source port changed from '
const TCP_STATE_WORDS: Record<string, TcpState> = {
  ESTABLISHED: 'ESTABLISHED',
  'SYN-SENT': 'SYN-SENT',
  CLOSED: 'CLOSED',
  RESET: 'RESET',
}

/**
 * Hand-written parser for pretty lines (the hot path; same grammar as `PRETTY`, runs of spaces allowed).
 * Returns undefined when the line does not fit, and the caller falls back to the regex.
 */
function parsePrettyFast(s: string, hasAge: {v: boolean}): ConntrackEntry | undefined {
  let i = skipSpaces(s, 0)
  let e = tokenEnd(s, i)
  let proto: CtProto
  const c0 = s.charCodeAt(i)
  const plen = e - i
  if (c0 === 84 && plen === 3 && s.startsWith('TCP', i)) proto = 'tcp'
  else if (c0 === 85 && plen === 3 && s.startsWith('UDP', i)) proto = 'udp'
  else {
    const word = s.slice(i, e)
    const p = PRETTY_PROTO[word]
    if (p !== undefined) proto = p
    else if (/^Proto-\d+$/.test(word)) proto = protoFromNumber(Number(word.slice(6)))
    else return undefined
  }
  i = skipSpaces(s, e)
  e = tokenEnd(s, i)
  const src = hostPortAt(s, i, e)
  if (!src) return undefined
  const srcLe = lastIpv4Le
  i = skipSpaces(s, e)
  if (!s.startsWith('->', i)) return undefined
  i = skipSpaces(s, i + 2)
  e = tokenEnd(s, i)
  let dst = hostPortAt(s, i, e)
  if (!dst) return undefined
  let dstLe = lastIpv4Le
  let origDst: Endpoint | undefined
  i = skipSpaces(s, e)
  if (s.startsWith('->', i)) {
    i = skipSpaces(s, i + 2)
    e = tokenEnd(s, i)
    origDst = dst
    dst = hostPortAt(s, i, e)
    if (!dst) return undefined
    dstLe = lastIpv4Le
    i = skipSpaces(s, e)
  }
  let tunnelIp: string | undefined
  if (s.charCodeAt(i) === 101 /* e */ && s.startsWith(EXT_CLIENT, i)) {
    i += EXT_CLIENT.length
    e = tokenEnd(s, i)
    tunnelIp = s.slice(i, e)
    i = skipSpaces(s, e)
  }
  let origSrcPort: number | undefined
  if (s.charCodeAt(i) === 115 /* s */ && s.startsWith(SPORT_CHANGED, i)) {
    i += SPORT_CHANGED.length
    e = tokenEnd(s, i)
    const n = Number(s.slice(i, e))
    if (!Number.isInteger(n)) return undefined
    origSrcPort = n
    i = skipSpaces(s, e)
  }
  let ageSeconds: number | undefined
  if (s.charCodeAt(i + 1) === 103 /* Ag */ && s.startsWith('Age:', i)) {
    i = skipSpaces(s, i + 4)
    e = tokenEnd(s, i)
    ageSeconds = parseGoDuration(s.slice(i, e))
    if (ageSeconds === undefined) return undefined
    i = skipSpaces(s, e)
  }
  if (!s.startsWith('Active ago ', i)) return undefined
  i = skipSpaces(s, i + 11)
  e = tokenEnd(s, i)
  const ago = durationAt(s, i, e)
  if (ago === undefined) return undefined
  i = skipSpaces(s, e)
  let tcpState: TcpState | undefined
  if (i < s.length) {
    e = tokenEnd(s, i)
    const c = s.charCodeAt(i)
    const want = c === 69 ? 'ESTABLISHED' : c === 83 ? 'SYN-SENT' : c === 67 ? 'CLOSED' : c === 82 ? 'RESET' : ''
    if (want === '' || e - i !== want.length || !s.startsWith(want, i)) return undefined
    tcpState = TCP_STATE_WORDS[want]
    i = skipSpaces(s, e)
    if (i < s.length && s.slice(i).trim() !== '') return undefined
  }
  // Calico's key order (§2.6, as canonicalCtOrder): IPv4 by LE u32 then port; IPv6 kept as printed.
  const srcFirst = srcLe < 0 || dstLe < 0 || srcLe < dstLe || (srcLe === dstLe && src.port <= dst.port)
  const entry: ConntrackEntry = {
    proto,
    a: srcFirst ? src : dst,
    b: srcFirst ? dst : src,
    src,
    dst,
    type: origDst ? 'nat-reverse' : 'normal',
    flags: [],
    keyOrderInferred: true,
  }
  if (origDst) entry.origDst = origDst
  if (tunnelIp !== undefined) entry.tunnelIp = tunnelIp
  if (origSrcPort !== undefined) entry.origSrcPort = origSrcPort
  if (ageSeconds !== undefined) {
    entry.ageSeconds = ageSeconds
    hasAge.v = true
  }
  entry.activeAgoSeconds = ago
  if (tcpState !== undefined) entry.tcpState = tcpState
  return entry
}

function parsePrettyLine(m: RegExpExecArray): ConntrackEntry | undefined {
  const src = parseHostPort(m[2]!)
  const last = parseHostPort(m[4] ?? m[3]!)
  if (!src || !last) return undefined
  const proto = prettyProto(m[1]!)
  const [a, b] = canonicalCtOrder(src, last)
  const entry: ConntrackEntry = {
    proto,
    a,
    b,
    src,
    dst: last,
    type: m[4] === undefined ? 'normal' : 'nat-reverse',
    flags: [],
    keyOrderInferred: true,
  }
  if (m[4] !== undefined) {
    const mid = parseHostPort(m[3]!)
    if (!mid) return undefined
    entry.origDst = mid
  }
  if (m[5] !== undefined) entry.tunnelIp = m[5]
  if (m[6] !== undefined) entry.origSrcPort = Number(m[6])
  if (m[7] !== undefined) {
    const age = parseGoDuration(m[7])
    if (age !== undefined) entry.ageSeconds = age
  }
  const ago = parseGoDuration(m[8]!)
  if (ago !== undefined) entry.activeAgoSeconds = ago
  if (m[9] !== undefined) entry.tcpState = m[9] as TcpState
  return entry
}

function parseRawLine(m: RegExpExecArray): ConntrackEntry | undefined {
  const ka = parseHostPort(m[2]!)
  const kb = parseHostPort(m[3]!)
  if (!ka || !kb) return undefined
  const typeCode = Number(m[4])
  const type = typeOf(typeCode)
  const {bits, names} = parseRawFlags(m[7]!)
  const ba = (bits & CT_FLAG_BA) !== 0
  const proto = protoFromNumber(Number(m[1]))
  const entry: ConntrackEntry = {
    proto,
    a: ka,
    b: kb,
    src: ba ? kb : ka,
    dst: ba ? ka : kb,
    type,
    typeCode,
    flags: names,
    flagBits: bits,
    lastSeenNs: m[6]!,
  }
  if (m[5] !== undefined) entry.createdNs = m[5]
  if (m[8] !== undefined) {
    if (!applyData(entry, m[8])) return undefined
  } else if (m[9] !== undefined) {
    const ra = parseHostPort(m[10]!)
    const rb = parseHostPort(m[11]!)
    if (!ra || !rb) return undefined
    entry.natReverseKey = {proto: protoFromNumber(Number(m[9])), a: ra, b: rb}
    if (m[12] !== undefined) entry.natSrcPort = Number(m[12])
  }
  if (m[14] !== undefined) {
    const age = parseGoDuration(m[14])
    if (age !== undefined) entry.ageSeconds = age
  }
  const ago = parseGoDuration(m[15]!)
  if (ago !== undefined) entry.activeAgoSeconds = ago
  if (m[16] !== undefined) entry.tcpState = m[16] as TcpState
  return entry
}

/**
 * A streaming conntrack text parser: feed lines (or text chunks with `write`), then call `result()`.
 * Formats: pretty (v3.30+), pretty with `Age:` (v3.28–v3.29), raw (`--raw`; default ≤ v3.27), raw with `Age:`
 * (≤ v3.23), IPv4 and IPv6. NAT-forward entries appear only in raw output.
 */
export class ConntrackTextParser {
  private readonly acc = new LineAccounting()
  private readonly entries: ConntrackEntry[] = []
  private readonly seen = new Set<CtTextFormat>()
  private readonly age = {v: false}
  private fastPretty = 0
  private pending = ''
  private decoder: StringDecoder | undefined
  /** When set, entries go to this callback instead of being collected. */
  constructor(private readonly onEntry?: (e: ConntrackEntry) => void) {}

  /** One complete line (without its newline). `cutOff` = it is the final line and had no newline. */
  line(line: string, cutOff = false): void {
    const c0 = line.charCodeAt(0)
    // Fast path: a pretty line starts with its protocol word (T, U, I, S, P) unless indented.
    if (c0 !== 67 /* C */) {
      this.age.v = false
      const fast = parsePrettyFast(line, this.age)
      if (fast) {
        if (this.age.v) this.seen.add('pretty-age')
        else this.fastPretty++
        this.emit(fast)
        return
      }
      const m = PRETTY.exec(line)
      if (m) {
        const e = parsePrettyLine(m)
        if (e) {
          this.seen.add(m[7] === undefined ? 'pretty' : 'pretty-age')
          this.emit(e)
          return
        }
      }
    }
    if (line.includes('ConntrackKey{')) {
      const m = RAW.exec(line)
      if (m) {
        const e = parseRawLine(m)
        if (e) {
          this.seen.add(m[14] === undefined ? 'raw' : 'raw-age')
          this.emit(e)
          return
        }
      }
    }
    if (/^\s*$/.test(line)) return
    this.acc.other(line, cutOff)
  }

  /**
   * Feeds a chunk (a string, or bytes such as kubectl's stdout `Buffer`s, decoded as UTF-8 across chunk
   * boundaries); incomplete trailing lines are kept until the next chunk or `end()`.
   */
  write(chunk: string | Uint8Array): void {
    const str = typeof chunk === 'string' ? chunk : (this.decoder ??= new StringDecoder('utf8')).write(chunk as Buffer)
    const text = this.pending + str
    let start = 0
    for (;;) {
      const nl = text.indexOf('\n', start)
      if (nl < 0) break
      let l = text.slice(start, nl)
      if (l.endsWith('\r')) l = l.slice(0, -1)
      if (l.length > 0) this.line(l)
      start = nl + 1
    }
    this.pending = text.slice(start)
  }

  /** Flushes a final line without newline (treated as possibly cut off). */
  end(): void {
    if (this.decoder) {
      const rest = this.decoder.end()
      this.decoder = undefined
      if (rest) this.pending += rest
    }
    if (this.pending.length > 0) this.line(this.pending, true)
    this.pending = ''
  }

  result(): ConntrackParseResult {
    this.end()
    if (this.fastPretty > 0) this.seen.add('pretty')
    const formats = [...this.seen]
    return {
      entries: this.entries,
      unknownLines: this.acc.unknownLines,
      samples: this.acc.samples,
      errors: this.acc.errors,
      noiseLines: this.acc.noiseLines,
      truncatedLastLine: this.acc.truncatedLastLine,
      format: formats.length === 0 ? 'empty' : formats.length === 1 ? formats[0]! : 'mixed',
    }
  }

  private emit(e: ConntrackEntry): void {
    if (this.onEntry) this.onEntry(e)
    else this.entries.push(e)
  }
}

/** Parses a whole `conntrack dump` text (any version, pretty or `--raw`). */
export function parseConntrackText(text: string): ConntrackParseResult {
  const p = new ConntrackTextParser()
  forEachLine(text, (line, cutOff) => p.line(line, cutOff))
  return p.result()
}

/** Parses one conntrack line; undefined when it is not a conntrack entry line. */
export function parseConntrackLine(line: string): ConntrackEntry | undefined {
  const fast = parsePrettyFast(line, {v: false})
  if (fast) return fast
  let m = PRETTY.exec(line)
  if (m) return parsePrettyLine(m)
  m = RAW.exec(line)
  if (m) return parseRawLine(m)
  return undefined
}

// ---------------------------------------------------------------------------------------------------------------
// conntrack stats (v3.30+)

export interface AgentConntrackStats {
  mapSize: number
  totalConnections: number
  totalEntries: number
  natConnections: number
  tcp: number
  udp: number
  others: number
  tcpEstablished: number
  tcpClosed: number
  tcpReset: number
  tcpSynSent: number
}

const STATS_LINES: Record<string, keyof AgentConntrackStats> = {
  'Conntrack map size': 'mapSize',
  'Total connections': 'totalConnections',
  'Total entries': 'totalEntries',
  'NAT connections': 'natConnections',
  TCP: 'tcp',
  UDP: 'udp',
  Others: 'others',
  'TCP Established': 'tcpEstablished',
  'TCP Closed': 'tcpClosed',
  'TCP Reset': 'tcpReset',
  'TCP Syn-sent': 'tcpSynSent',
}

/** Parses `conntrack stats` text (§1.11); undefined fields were not printed. */
export function parseConntrackStatsText(text: string): ParseResult<Partial<AgentConntrackStats>> {
  const acc = new LineAccounting()
  const stats: Partial<AgentConntrackStats> = {}
  forEachLine(text, (line, cutOff) => {
    const m = /^\s*([A-Za-z -]+?)\s*:\s*(\d+)\s*$/.exec(line)
    const key = m ? STATS_LINES[m[1]!] : undefined
    if (m && key) stats[key] = Number(m[2])
    else acc.other(line, cutOff)
  })
  return {
    entries: Object.keys(stats).length > 0 ? [stats] : [],
    unknownLines: acc.unknownLines,
    samples: acc.samples,
    errors: acc.errors,
    noiseLines: acc.noiseLines,
    truncatedLastLine: acc.truncatedLastLine,
  }
}

/** The regex-only path (no hand-written fast parser); exported for equivalence tests. */
export function parseConntrackLineRegex(line: string): ConntrackEntry | undefined {
  let m = PRETTY.exec(line)
  if (m) return parsePrettyLine(m)
  m = RAW.exec(line)
  if (m) return parseRawLine(m)
  return undefined
}
