/**
 * Parser for the text output of `calico-node -bpf conntrack dump`, every version, pretty and `--raw`
 * (calico-bpf.md §1.9, §1.12): a streaming parser with a byte-level fast path. Tolerant: unknown lines are counted,
 * never fatal.
 */
import {
  canonicalCtOrder,
  CT_FLAG_BA,
  CT_FLAG_BY_NAME,
  CT_PROTO_BY_WORD,
  ctFlagNames,
  protoFromNumber,
  type ConntrackEntry,
  type ConntrackParseResult,
  type CtLeg,
  type CtProto,
  type CtTextFormat,
  type CtType,
  type Endpoint,
  type TcpState,
} from './model.js'
import {LineAccounting, parseGoDuration, parseHostPort} from './agent-lines.js'

const PRETTY =
  /^\s*(TCP|UDP|ICMP6?|SCTP|UNKNOWN|Proto-\d+) +(\S+) +-> +(\S+)(?: +-> +(\S+))?(?: +external client, service forwarded to\/from +(\S+))?(?: +source port changed from +(\d+))? +(?:Age: +(\S+) +)?Active ago +(\S+)(?: +(ESTABLISHED|SYN-SENT|CLOSED|RESET))?\s*$/
const RAW =
  /^\s*ConntrackKey\{proto=(\d+) +(\S+) +<-> +(\S+)\} +-> +Entry\{Type:(\d+), *(?:Created:(\d+), *)?LastSeen:(\d+), *Flags:(.*?) *(?:Data: *(\{.*\})|REVKey ?: *ConntrackKey\{proto=(\d+) +(\S+) +<-> +(\S+)\}(?: +NATSPort: *(\d+))?|(TYPE INVALID))\}(?: +Age: +(\S+))? +Active ago +(\S+)(?: +(ESTABLISHED|SYN-SENT|CLOSED|RESET))?\s*$/


function prettyProto(word: string): CtProto {
  const p = CT_PROTO_BY_WORD[word]
  if (p !== undefined) return p
  return protoFromNumber(Number(word.slice(6)))
}

function typeOf(code: number): CtType {
  return code === 0 ? 'normal' : code === 1 ? 'nat-forward' : code === 2 ? 'nat-reverse' : 'unknown'
}

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
    const bit = CT_FLAG_BY_NAME.get(w)
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

// The pretty-line fast path reads bytes, not a string: indexed loads from a Buffer are about 1.6× faster than
// charCodeAt here, and no line string is made unless the line needs the general (regex) path.

const SP = 32

/** Index of the next non-space byte at or after `i` (at most `end`). */
function skipSpaces(b: Buffer, i: number, end: number): number {
  while (i < end && b[i] === SP) i++
  return i
}

/** End of the token (run of non-space bytes) starting at `i`, at most `end`. */
function tokenEnd(b: Buffer, i: number, end: number): number {
  while (i < end && b[i] !== SP) i++
  return i
}

/** Whether `b[i, end)` starts with the ASCII `word`. */
function hasAt(b: Buffer, i: number, end: number, word: string): boolean {
  const n = word.length
  if (i + n > end) return false
  for (let k = 0; k < n; k++) if (b[i + k] !== word.charCodeAt(k)) return false
  return true
}

/**
 * Scratch results of the scanners besides their return value, so the hot path allocates nothing for them (an object's
 * fields: measured faster here than module-level `let`s).
 * - `ipv4Le`: the LE-u32 reading of the last address `endpointAt` read (Calico's key-order compare value), or -1
 *   when it was not a dotted quad;
 * - `pos`: the index just after the token the last `endpointAt` / `durationScan` read.
 */
const scan = {ipv4Le: -1, pos: 0}

/**
 * A direct-mapped cache of IPv4 address strings by their LE-u32 value: a conntrack table names the same pod and
 * service addresses over and over, and a hit costs no native call and no allocation. Fixed size.
 */
const IPV4_CACHE_SIZE = 4096
const ipv4CacheKeys = new Float64Array(IPV4_CACHE_SIZE).fill(-1)
const ipv4CacheStrings = new Array<string>(IPV4_CACHE_SIZE).fill('')

/**
 * The ASCII bytes `b[s, e)` of an IPv4 address (7–15 characters) as a string. `String.fromCharCode` with the bytes as
 * explicit arguments makes one flat string in about a third of the time of `Buffer#toString` for such short tokens.
 */
function ipv4Text(b: Buffer, s: number, e: number): string {
  // Explicit element reads, not a helper closure: this must stay small enough for V8 to inline it.
  switch (e - s) {
    case 7:
      return String.fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!
      )
    case 8:
      return String.fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!
      )
    case 9:
      return String.fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!
      )
    case 10:
      return String.fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!
      )
    case 11:
      return String.fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!,
        b[s + 10]!
      )
    case 12:
      return String.fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!,
        b[s + 10]!, b[s + 11]!
      )
    case 13:
      return String.fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!,
        b[s + 10]!, b[s + 11]!, b[s + 12]!
      )
    case 14:
      return String.fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!,
        b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!
      )
    case 15:
      return String.fromCharCode(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!,
        b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!
      )
    default:
      return b.toString('latin1', s, e)
  }
}

/** The text of the IPv4 address `b[start, end)`, whose LE-u32 value is `le`. */
function ipv4String(b: Buffer, start: number, end: number, le: number): string {
  // The last two octets vary most; fold them into the slot.
  const slot = ((le >>> 24) | ((le >>> 8) & 0xf00)) & (IPV4_CACHE_SIZE - 1)
  if (ipv4CacheKeys[slot] === le) return ipv4CacheStrings[slot]!
  const ip = ipv4Text(b, start, end)
  ipv4CacheKeys[slot] = le
  ipv4CacheStrings[slot] = ip
  return ip
}

/**
 * The endpoint token at `i` (it ends at a space or `end`). The common IPv4 `a.b.c.d:port` is validated and read in
 * one pass; anything else (IPv6, split on the last colon) goes through `hostPortToken`. Sets `scan.pos` and
 * `scan.ipv4Le`.
 */
function endpointAt(b: Buffer, i: number, end: number): Endpoint | undefined {
  let part = 0
  let digits = 0
  let dots = 0
  let v4 = 0
  let scale = 1
  let k = i
  for (; k < end; k++) {
    const c = b[k]!
    if (c >= 48 && c <= 57) {
      // Go never prints a leading zero; such text takes the general path (and would alias in the string cache).
      if (digits === 1 && part === 0) return undefined
      part = part * 10 + (c - 48)
      if (++digits > 3) break
    } else if (c === 46 /* . */ && digits > 0 && part <= 255 && dots < 3) {
      v4 += part * scale
      scale *= 256
      part = 0
      digits = 0
      dots++
    } else break
  }
  if (k < end && b[k] === 58 /* : */ && dots === 3 && digits > 0 && part <= 255) {
    const ipEnd = k
    let port = 0
    let portDigits = 0
    for (k++; k < end; k++) {
      const c = b[k]!
      if (c < 48 || c > 57) break
      port = port * 10 + (c - 48)
      portDigits++
    }
    if (portDigits >= 1 && portDigits <= 5 && port <= 65535 && (k === end || b[k] === SP)) {
      const le = v4 + part * scale
      scan.pos = k
      scan.ipv4Le = le
      return {ip: ipv4String(b, i, ipEnd, le), port}
    }
  }
  const e = tokenEnd(b, i, end)
  scan.pos = e
  return hostPortToken(b, i, e)
}

/** `ip:port` in `b[start, end)` split on the last colon (IPv6 without brackets); sets `scan.ipv4Le`. */
function hostPortToken(b: Buffer, start: number, end: number): Endpoint | undefined {
  let colon = end - 1
  while (colon > start && b[colon] !== 58) colon--
  const portDigits = end - colon - 1
  if (colon <= start || portDigits > 5 || portDigits < 1) return undefined
  let port = 0
  for (let i = colon + 1; i < end; i++) {
    const c = b[i]!
    if (c < 48 || c > 57) return undefined
    port = port * 10 + (c - 48)
  }
  if (port > 65535) return undefined
  for (let i = start; i < colon; i++) {
    const c = b[i]!
    // 0-9 . : a-f A-F
    if (!((c >= 48 && c <= 58) || c === 46 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return undefined
  }
  // endpointAt already took every dotted quad, so this is not one.
  scan.ipv4Le = -1
  return {ip: b.toString('latin1', start, colon), port}
}

const MAX_EXACT_MANTISSA = 9007199254740992
const POW10 = Array.from({length: 23}, (_, k) => 10 ** k)

/**
 * The Go duration token at `i` (it ends at a space or `end`) → seconds, read in one pass and equal to
 * `parseGoDuration` of the token: one `s` or `ms` part as `Number(text)` would read it, several parts or other
 * units summed and rounded to the nanosecond. An exact integer mantissa divided by an exact power of ten is
 * correctly rounded, i.e. equal to `Number(text)`. Unusual shapes go through `parseGoDuration`. Sets `scan.pos`.
 */
function durationScan(b: Buffer, i: number, end: number): number | undefined {
  let total = 0
  let parts = 0
  let single = 0
  let singleUnit = 0
  let k = i
  while (k < end && b[k] !== SP) {
    let m = 0
    let digits = 0
    let frac = -1
    for (; k < end; k++) {
      const c = b[k]!
      if (c >= 48 && c <= 57) {
        m = m * 10 + (c - 48)
        digits++
        if (frac >= 0) frac++
      } else if (c === 46 /* . */ && frac < 0 && digits > 0) frac = 0
      else break
    }
    if (digits === 0 || frac === 0 || m >= MAX_EXACT_MANTISSA || frac > 22 || k >= end) return durationSlow(b, i, end)
    const value = frac > 0 ? m / POW10[frac]! : m
    const u = b[k]
    const next = k + 1 < end ? b[k + 1] : 0
    let unit: number
    if (u === 115 /* s */) {
      unit = 1
      k++
    } else if (u === 109 /* m */) {
      if (next === 115) {
        unit = 1e-3
        k += 2
      } else {
        unit = 60
        k++
      }
    } else if (u === 104 /* h */) {
      unit = 3600
      k++
    } else if (u === 117 /* u */ && next === 115) {
      unit = 1e-6
      k += 2
    } else if (u === 110 /* n */ && next === 115) {
      unit = 1e-9
      k += 2
    } else return durationSlow(b, i, end) // µs and μs (multi-byte), or not a duration
    total += value * unit
    single = value
    singleUnit = unit
    parts++
  }
  if (parts === 0) return undefined
  scan.pos = k
  if (parts === 1 && singleUnit === 1) return single
  if (parts === 1 && singleUnit === 1e-3) return Math.round(single * 1e6) / 1e9
  return Math.round(total * 1e9) / 1e9
}

function durationSlow(b: Buffer, i: number, end: number): number | undefined {
  const e = tokenEnd(b, i, end)
  scan.pos = e
  return parseGoDuration(b.toString('utf8', i, e))
}

/** Longer than any conntrack line Calico prints (an IPv6 `--raw` line with both legs is under 1,000 characters). */
const MAX_CT_LINE = 4096

const EXT_CLIENT = 'external client, service forwarded to/from '
const SPORT_CHANGED = 'source port changed from '
const ACTIVE_AGO_LENGTH = 'Active ago '.length

/** `hasAt(b, i, end, 'Active ago ')`, unrolled: it runs on every line, and literal compares are cheaper than a loop. */
function isActiveAgoAt(b: Buffer, i: number, end: number): boolean {
  return (
    i + 11 <= end &&
    b[i] === 65 /* A */ &&
    b[i + 1] === 99 /* c */ &&
    b[i + 2] === 116 /* t */ &&
    b[i + 3] === 105 /* i */ &&
    b[i + 4] === 118 /* v */ &&
    b[i + 5] === 101 /* e */ &&
    b[i + 6] === SP &&
    b[i + 7] === 97 /* a */ &&
    b[i + 8] === 103 /* g */ &&
    b[i + 9] === 111 /* o */ &&
    b[i + 10] === SP
  )
}

/** Scratch output of `parsePrettyAt` besides the entry: whether the line had `Age:` (v3.28–v3.29). */
interface PrettyLineInfo {
  hasAge: boolean
}

/**
 * Hand-written parser for the pretty line `b[start, end)` (the hot path; same grammar as `PRETTY`, runs of spaces
 * allowed), read in place and in one pass. Returns undefined when the line does not fit, and the caller falls back to
 * the regex.
 */
function parsePrettyAt(b: Buffer, start: number, end: number, info: PrettyLineInfo): ConntrackEntry | undefined {
  let i = skipSpaces(b, start, end)
  let proto: CtProto
  const c0 = b[i]
  if (i + 3 < end && b[i + 3] === SP && c0 === 84 && b[i + 1] === 67 && b[i + 2] === 80) {
    proto = 'tcp'
    i += 4
  } else if (i + 3 < end && b[i + 3] === SP && c0 === 85 && b[i + 1] === 68 && b[i + 2] === 80) {
    proto = 'udp'
    i += 4
  } else {
    const e = tokenEnd(b, i, end)
    const word = b.toString('latin1', i, e)
    const p = CT_PROTO_BY_WORD[word]
    if (p !== undefined) proto = p
    else if (/^Proto-\d+$/.test(word)) proto = protoFromNumber(Number(word.slice(6)))
    else return undefined
    i = e
  }
  i = skipSpaces(b, i, end)
  const src = endpointAt(b, i, end)
  if (!src) return undefined
  const srcLe = scan.ipv4Le
  i = skipSpaces(b, scan.pos, end)
  if (i + 2 > end || b[i] !== 45 || b[i + 1] !== 62) return undefined
  i = skipSpaces(b, i + 2, end)
  let dst = endpointAt(b, i, end)
  if (!dst) return undefined
  let dstLe = scan.ipv4Le
  let origDst: Endpoint | undefined
  i = skipSpaces(b, scan.pos, end)
  if (i + 2 <= end && b[i] === 45 && b[i + 1] === 62) {
    i = skipSpaces(b, i + 2, end)
    origDst = dst
    dst = endpointAt(b, i, end)
    if (!dst) return undefined
    dstLe = scan.ipv4Le
    i = skipSpaces(b, scan.pos, end)
  }
  let tunnelIp: string | undefined
  if (b[i] === 101 /* e */ && hasAt(b, i, end, EXT_CLIENT)) {
    i += EXT_CLIENT.length
    const e = tokenEnd(b, i, end)
    tunnelIp = b.toString('utf8', i, e)
    i = skipSpaces(b, e, end)
  }
  let origSrcPort: number | undefined
  if (b[i] === 115 /* s */ && hasAt(b, i, end, SPORT_CHANGED)) {
    i += SPORT_CHANGED.length
    const e = tokenEnd(b, i, end)
    const n = Number(b.toString('latin1', i, e))
    if (!Number.isInteger(n)) return undefined
    origSrcPort = n
    i = skipSpaces(b, e, end)
  }
  let ageSeconds: number | undefined
  if (b[i + 1] === 103 /* g */ && hasAt(b, i, end, 'Age:')) {
    i = skipSpaces(b, i + 4, end)
    ageSeconds = durationScan(b, i, end)
    if (ageSeconds === undefined) return undefined
    i = skipSpaces(b, scan.pos, end)
  }
  if (!isActiveAgoAt(b, i, end)) return undefined
  i = skipSpaces(b, i + ACTIVE_AGO_LENGTH, end)
  const ago = durationScan(b, i, end)
  if (ago === undefined) return undefined
  i = skipSpaces(b, scan.pos, end)
  let tcpState: TcpState | undefined
  if (i < end) {
    const c = b[i]
    const state =
      c === 69 ? 'ESTABLISHED' : c === 83 ? 'SYN-SENT' : c === 67 ? 'CLOSED' : c === 82 ? 'RESET' : undefined
    if (state === undefined || !hasAt(b, i, end, state)) return undefined
    tcpState = state
    // Only whitespace may follow (tabs as well as spaces, like the regex's \s*).
    for (let k = i + state.length; k < end; k++) {
      const ck = b[k]
      if (ck !== SP && ck !== 9) return undefined
    }
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
    info.hasAge = true
  }
  entry.activeAgoSeconds = ago
  if (tcpState !== undefined) entry.tcpState = tcpState
  return entry
}

/** The `Age:`, `Active ago` and TCP state captures both regex paths end with. */
function withTimes(entry: ConntrackEntry, age: string | undefined, ago: string, state: string | undefined): ConntrackEntry {
  if (age !== undefined) {
    const seconds = parseGoDuration(age)
    if (seconds !== undefined) entry.ageSeconds = seconds
  }
  const agoSeconds = parseGoDuration(ago)
  if (agoSeconds !== undefined) entry.activeAgoSeconds = agoSeconds
  if (state !== undefined) entry.tcpState = state as TcpState
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
  return withTimes(entry, m[7], m[8]!, m[9])
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
  return withTimes(entry, m[14], m[15]!, m[16])
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
  private readonly info: PrettyLineInfo = {hasAge: false}
  private fastPretty = 0
  private pendingBytes: Buffer[] = []
  /** When set, entries go to this callback instead of being collected. */
  constructor(private readonly onEntry?: (e: ConntrackEntry) => void) {}

  /** One complete line (without its newline). `cutOff` = it is the final line and had no newline. */
  line(line: string, cutOff = false): void {
    const bytes = Buffer.from(line, 'utf8')
    if (!this.fastAt(bytes, 0, bytes.length)) this.slowLine(line, cutOff)
  }

  /** The pretty fast path on `b[start, end)`; false when the line needs the general path. */
  private fastAt(b: Buffer, start: number, end: number): boolean {
    // A pretty line starts with its protocol word (T, U, I, S, P) unless indented; raw lines with `ConntrackKey{`.
    if (b[start] === 67 /* C */) return false
    this.info.hasAge = false
    const fast = parsePrettyAt(b, start, end, this.info)
    if (!fast) return false
    if (this.info.hasAge) this.seen.add('pretty-age')
    else this.fastPretty++
    this.emit(fast)
    return true
  }

  private slowLine(line: string, cutOff: boolean): void {
    // The regexes backtrack quadratically on a long line that almost matches (64 KiB of ` Data: {`: 3 s, 256 KiB: 51 s,
    // measured at load ~25); no conntrack line Calico prints is near this long.
    if (line.length > MAX_CT_LINE) {
      this.acc.other(line, cutOff)
      return
    }
    if (line.charCodeAt(0) !== 67 /* C */) {
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
   * Feeds a chunk: bytes such as kubectl's stdout `Buffer`s (UTF-8; a newline byte is never inside a multi-byte
   * sequence, so cutting at newlines keeps every character whole), or a string. Incomplete trailing lines are kept
   * until the next chunk or `end()`.
   */
  write(chunk: string | Uint8Array): void {
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let start = 0
    if (this.pendingBytes.length > 0) {
      const nl = bytes.indexOf(10)
      if (nl < 0) {
        this.pendingBytes.push(Buffer.from(bytes))
        return
      }
      this.pendingBytes.push(bytes.subarray(0, nl))
      const line = Buffer.concat(this.pendingBytes)
      this.pendingBytes = []
      this.lineIn(line, 0, line.length)
      start = nl + 1
    }
    for (;;) {
      const nl = bytes.indexOf(10, start)
      if (nl < 0) break
      this.lineIn(bytes, start, nl)
      start = nl + 1
    }
    // A copy: the caller may reuse its buffer.
    if (start < bytes.length) this.pendingBytes.push(Buffer.from(bytes.subarray(start)))
  }

  /** The complete line `b[start, nl)` (before its newline; a `\r` before it is dropped). */
  private lineIn(b: Buffer, start: number, nl: number): void {
    const end = nl > start && b[nl - 1] === 13 /* \r */ ? nl - 1 : nl
    // Only a line the fast path does not take becomes a string.
    if (end > start && !this.fastAt(b, start, end)) this.slowLine(b.toString('utf8', start, end), false)
  }

  /** Flushes a final line without newline (treated as possibly cut off). */
  end(): void {
    if (this.pendingBytes.length === 0) return
    const line = Buffer.concat(this.pendingBytes)
    this.pendingBytes = []
    const end = line[line.length - 1] === 13 ? line.length - 1 : line.length
    if (end > 0 && !this.fastAt(line, 0, end)) this.slowLine(line.toString('utf8', 0, end), true)
  }

  result(): ConntrackParseResult {
    this.end()
    if (this.fastPretty > 0) this.seen.add('pretty')
    const formats = [...this.seen]
    return {
      ...this.acc.result(this.entries),
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
  p.write(text)
  return p.result()
}

/** Parses one conntrack line; undefined when it is not a conntrack entry line. */
export function parseConntrackLine(line: string): ConntrackEntry | undefined {
  const bytes = Buffer.from(line, 'utf8')
  const fast = parsePrettyAt(bytes, 0, bytes.length, {hasAge: false})
  if (fast) return fast
  if (line.length > MAX_CT_LINE) return undefined
  let m = PRETTY.exec(line)
  if (m) return parsePrettyLine(m)
  m = RAW.exec(line)
  if (m) return parseRawLine(m)
  return undefined
}

/** The regex-only path (no hand-written fast parser); exported for equivalence tests. */
export function parseConntrackLineRegex(line: string): ConntrackEntry | undefined {
  let m = PRETTY.exec(line)
  if (m) return parsePrettyLine(m)
  m = RAW.exec(line)
  if (m) return parseRawLine(m)
  return undefined
}
