/**
 * Parsers for `calico-node -bpf … --json` (v3.31.5+/v3.32.0+; calico-bpf.md §1.5, §1.10): `nat dump` (flat and
 * grouped), `nat aff`, `conntrack dump` (pretty and `--raw`) and `conntrack stats`.
 * stdout may carry noise around the JSON document (`Using config file: …`, log lines): everything before the first
 * line that starts a JSON value, and after the line that ends it, is skipped and accounted for.
 */
import type {AgentConntrackStats} from './ct-stats-text.js'
import {
  canonicalCtOrder,
  CT_FLAG_BA,
  CT_FLAG_BY_NAME,
  CT_PROTO_BY_WORD,
  protoFromNumber,
  type ConntrackEntry,
  type ConntrackParseResult,
  type CtProto,
  type CtType,
  type Endpoint,
  type NatAffinityEntry,
  type NatFrontend,
  type ParseResult,
  type TcpState,
} from './model.js'
import {goDurationToNs, LineAccounting, parseGoDuration, parseHostPort} from './agent-lines.js'

export interface Extracted {
  value: unknown
  acc: LineAccounting
  ok: boolean
}

/**
 * The agent's `--json` list in noisy stdout: its items (none for `null`, which the agent prints for an empty map), the
 * lines around it accounted for; output that holds no readable list is an `errors` entry, never a throw.
 */
export function extractJsonList(text: string, what: string): {items: unknown[]; acc: LineAccounting} {
  const {value, acc, ok} = extractJson(text)
  if (!ok || value === null) return {items: [], acc}
  if (!Array.isArray(value)) {
    acc.errors.push(`${what} JSON is not an array`)
    return {items: [], acc}
  }
  return {items: value, acc}
}

/** Finds the JSON document in noisy stdout and parses it, without splitting large outputs into lines. */
export function extractJson(text: string): Extracted {
  const acc = new LineAccounting()
  let start = -1
  let pos = 0
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos)
    if (nl < 0) nl = text.length
    const line = text.slice(pos, nl).replace(/\r$/, '')
    const t = line.trimStart()
    if (t.startsWith('[') || t.startsWith('{') || t.startsWith('null')) {
      start = pos
      break
    }
    if (t.trim()) acc.other(line, false)
    pos = nl + 1
  }
  if (start < 0) {
    acc.errors.push('no JSON document in the output')
    return {value: undefined, acc, ok: false}
  }
  let end = text.length
  for (let attempt = 0; attempt < 8 && end > start; attempt++) {
    try {
      const value: unknown = JSON.parse(text.slice(start, end))
      // Account for the lines dropped after the document.
      for (const line of text.slice(end).split('\n')) if (line.trim()) acc.other(line.replace(/\r$/, ''), false)
      return {value, acc, ok: true}
    } catch {
      // Cut the last line and retry (log lines after the document, or a cut-off document).
      let cut = text.lastIndexOf('\n', end - 1)
      while (cut > start && text.slice(cut, end).trim() === '') cut = text.lastIndexOf('\n', cut - 1)
      if (cut <= start) break
      end = cut
    }
  }
  acc.errors.push('the JSON output is not valid JSON (cut off?)')
  acc.truncatedLastLine = true
  return {value: undefined, acc, ok: false}
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : undefined
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function natFlags(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string')
  const s = str(v)
  if (!s) return []
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
}

function jsonFrontend(fe: Record<string, unknown>): NatFrontend | undefined {
  const ip = str(fe['addr'])
  const port = num(fe['port'])
  const proto = num(fe['proto'])
  const id = num(fe['id'])
  const count = num(fe['count'])
  if (ip === undefined || port === undefined || proto === undefined || id === undefined || count === undefined) {
    return undefined
  }
  const blackhole = count === -1 || count === 4294967295
  const out: NatFrontend = {
    ip,
    port,
    proto: protoFromNumber(proto),
    serviceId: id,
    count: blackhole ? -1 : count,
    localCount: num(fe['local']) ?? 0,
    flags: natFlags(fe['flags']),
    backends: [],
  }
  const src = str(fe['src_cidr'])
  if (src) out.srcRange = src
  if (blackhole) out.blackhole = true
  return out
}

function attachBackends(fe: NatFrontend, backends: unknown): void {
  if (!Array.isArray(backends)) return
  backends.forEach((b, ordinal) => {
    if (!isObj(b)) return
    const ip = str(b['addr'])
    const port = num(b['port'])
    if (ip === 'missing' || ip === undefined || port === undefined) {
      fe.missingBackends = (fe.missingBackends ?? 0) + 1
      ;(fe.missingOrdinals ??= []).push(ordinal)
      return
    }
    fe.backends.push({ordinal, ip, port})
  })
}

/** `nat dump --json`: flat `[{frontend, backends}]` or grouped (`--group-by-service`) `[{id, frontends, backends}]`. */
export function parseNatDumpJson(text: string): ParseResult<NatFrontend> {
  const {value, acc, ok} = extractJson(text)
  const entries: NatFrontend[] = []
  if (!ok) return acc.result(entries)
  if (value === null) return acc.result(entries)
  if (!Array.isArray(value)) {
    acc.errors.push('nat dump JSON is not an array')
    return acc.result(entries)
  }
  for (const item of value) {
    if (!isObj(item)) {
      acc.unknownLines++
      continue
    }
    if (isObj(item['frontend'])) {
      const fe = jsonFrontend(item['frontend'])
      if (!fe) {
        acc.unknownLines++
        if (acc.samples.length < 5) acc.samples.push(JSON.stringify(item).slice(0, 200))
        continue
      }
      attachBackends(fe, item['backends'])
      entries.push(fe)
    } else if (Array.isArray(item['frontends'])) {
      for (const raw of item['frontends']) {
        const fe = isObj(raw) ? jsonFrontend(raw) : undefined
        if (!fe) {
          acc.unknownLines++
          continue
        }
        if (!fe.blackhole) attachBackends(fe, item['backends'])
        entries.push(fe)
      }
    } else {
      acc.unknownLines++
      if (acc.samples.length < 5) acc.samples.push(JSON.stringify(item).slice(0, 200))
    }
  }
  return acc.result(entries)
}

/** `nat aff --json` (v3.31.7/v3.32.1+): `[{client_ip, proto, addr, port, backend: {addr, port}, timestamp}]`. */
export function parseNatAffinityJson(text: string): ParseResult<NatAffinityEntry> {
  const {value, acc, ok} = extractJson(text)
  const entries: NatAffinityEntry[] = []
  if (!ok || !Array.isArray(value)) {
    if (ok && value !== null) acc.errors.push('nat aff JSON is not an array')
    return acc.result(entries)
  }
  for (const item of value) {
    const be = isObj(item) && isObj(item['backend']) ? item['backend'] : undefined
    const clientIp = isObj(item) ? str(item['client_ip']) : undefined
    const ip = isObj(item) ? str(item['addr']) : undefined
    const port = isObj(item) ? num(item['port']) : undefined
    const proto = isObj(item) ? num(item['proto']) : undefined
    const beIp = be ? str(be['addr']) : undefined
    const bePort = be ? num(be['port']) : undefined
    if (
      !isObj(item) ||
      !clientIp ||
      !ip ||
      port === undefined ||
      proto === undefined ||
      !beIp ||
      bePort === undefined
    ) {
      acc.unknownLines++
      continue
    }
    const entry: NatAffinityEntry = {
      clientIp,
      frontend: {ip, port, proto: protoFromNumber(proto)},
      backend: {ip: beIp, port: bePort},
    }
    const ts = item['timestamp']
    if (typeof ts === 'number') entry.timestampNs = BigInt(Math.round(ts)).toString()
    else if (typeof ts === 'string') {
      const ns = /^\d+$/.test(ts) ? ts : goDurationToNs(ts)
      if (ns !== undefined) entry.timestampNs = ns
    }
    entries.push(entry)
  }
  return acc.result(entries)
}


function ctProto(v: unknown): CtProto | undefined {
  if (typeof v === 'number') return protoFromNumber(v)
  if (typeof v !== 'string') return undefined
  const p = CT_PROTO_BY_WORD[v.toUpperCase()]
  if (p !== undefined) return p
  const m = /^(?:Proto-)?(\d+)$/.exec(v)
  return m ? protoFromNumber(Number(m[1])) : undefined
}

function ctFlags(v: unknown): {names: string[]; bits: number} {
  const names = Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
  let bits = 0
  for (const n of names) bits |= CT_FLAG_BY_NAME.get(n) ?? 0
  return {names, bits: bits >>> 0}
}

function ep(v: unknown): Endpoint | undefined {
  return typeof v === 'string' ? parseHostPort(v) : undefined
}

const TCP_STATES = new Set(['ESTABLISHED', 'SYN-SENT', 'CLOSED', 'RESET'])

function applyCommon(entry: ConntrackEntry, item: Record<string, unknown>): void {
  const ago = str(item['active_ago'])
  if (ago !== undefined) {
    const s = parseGoDuration(ago)
    if (s !== undefined) entry.activeAgoSeconds = s
  }
  const st = str(item['tcp_state'])
  if (st && TCP_STATES.has(st)) entry.tcpState = st as TcpState
}

function prettyJsonEntry(item: Record<string, unknown>): ConntrackEntry | undefined {
  const proto = ctProto(item['proto'])
  const src = ep(item['src'])
  const dst = ep(item['dst'])
  if (proto === undefined || !src || !dst) return undefined
  const isNat = item['type'] === 'nat'
  const [a, b] = canonicalCtOrder(src, dst)
  const {names} = ctFlags(item['flags'])
  const entry: ConntrackEntry = {
    proto,
    a,
    b,
    src,
    dst,
    type: isNat ? 'nat-reverse' : 'normal',
    flags: names,
    keyOrderInferred: true,
  }
  const od = ep(item['orig_dst'])
  if (od) entry.origDst = od
  const tun = str(item['tunnel_ip'])
  if (tun && tun !== '0.0.0.0' && tun !== '::') entry.tunnelIp = tun
  const osp = num(item['orig_src_port'])
  if (osp) entry.origSrcPort = osp
  applyCommon(entry, item)
  return entry
}

function rawType(v: unknown): {type: CtType; code?: number} {
  if (v === 'normal') return {type: 'normal', code: 0}
  if (v === 'nat-forward') return {type: 'nat-forward', code: 1}
  if (v === 'nat-reverse') return {type: 'nat-reverse', code: 2}
  const m = typeof v === 'string' ? /^unknown\((\d+)\)$/.exec(v) : null
  return m ? {type: 'unknown', code: Number(m[1])} : {type: 'unknown'}
}

function rawJsonEntry(item: Record<string, unknown>): ConntrackEntry | undefined {
  const proto = ctProto(item['proto'])
  const aIp = str(item['addr_a'])
  const bIp = str(item['addr_b'])
  const aPort = num(item['port_a'])
  const bPort = num(item['port_b'])
  if (proto === undefined || !aIp || !bIp || aPort === undefined || bPort === undefined) return undefined
  const a = {ip: aIp, port: aPort}
  const b = {ip: bIp, port: bPort}
  const {names, bits} = ctFlags(item['flags'])
  const ba = (bits & CT_FLAG_BA) !== 0
  const {type, code} = rawType(item['type'])
  const entry: ConntrackEntry = {proto, a, b, src: ba ? b : a, dst: ba ? a : b, type, flags: names}
  if (code !== undefined) entry.typeCode = code
  if (type === 'nat-forward') {
    const rp = ctProto(item['rev_proto'])
    const ra = str(item['rev_addr_a'])
    const rb = str(item['rev_addr_b'])
    const rpa = num(item['rev_port_a'])
    const rpb = num(item['rev_port_b'])
    if (ra && rb && rpa !== undefined && rpb !== undefined) {
      entry.natReverseKey = {proto: rp ?? proto, a: {ip: ra, port: rpa}, b: {ip: rb, port: rpb}}
    }
  }
  applyCommon(entry, item)
  return entry
}

/** `conntrack dump --json` (pretty: normal entries then `nat` ones) or `--raw --json` (one object per map entry). */
export function parseConntrackJson(text: string): ConntrackParseResult {
  const {value, acc, ok} = extractJson(text)
  const entries: ConntrackEntry[] = []
  let pretty = 0
  let raw = 0
  if (ok && Array.isArray(value)) {
    for (const item of value) {
      let e: ConntrackEntry | undefined
      if (isObj(item)) {
        if ('addr_a' in item) {
          e = rawJsonEntry(item)
          if (e) raw++
        } else {
          e = prettyJsonEntry(item)
          if (e) pretty++
        }
      }
      if (e) entries.push(e)
      else {
        acc.unknownLines++
        if (acc.samples.length < 5) acc.samples.push(JSON.stringify(item).slice(0, 200))
      }
    }
  } else if (ok && value !== null) acc.errors.push('conntrack JSON is not an array')
  return {
    ...acc.result(entries),
    format: pretty && raw ? 'mixed' : pretty ? 'pretty' : raw ? 'raw' : 'empty',
  }
}

const STATS_KEYS: Record<string, keyof AgentConntrackStats> = {
  map_size: 'mapSize',
  total_connections: 'totalConnections',
  total_entries: 'totalEntries',
  nat_connections: 'natConnections',
  tcp: 'tcp',
  udp: 'udp',
  others: 'others',
  tcp_established: 'tcpEstablished',
  tcp_closed: 'tcpClosed',
  tcp_reset: 'tcpReset',
  tcp_syn_sent: 'tcpSynSent',
}

/** `conntrack stats --json`. */
export function parseConntrackStatsJson(text: string): ParseResult<Partial<AgentConntrackStats>> {
  const {value, acc, ok} = extractJson(text)
  if (!ok || !isObj(value)) {
    if (ok) acc.errors.push('conntrack stats JSON is not an object')
    return acc.result([])
  }
  const stats: Partial<AgentConntrackStats> = {}
  for (const [k, v] of Object.entries(value)) {
    const key = STATS_KEYS[k]
    const n = num(v)
    if (key && n !== undefined) stats[key] = n
  }
  return acc.result([stats])
}
