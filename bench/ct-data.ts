/**
 * Deterministic generators of realistic conntrack data for the benches: v3.30+ pretty lines, `--raw` lines, and
 * bpftool `-j map dump` JSON of `cali_v4_ct4` entries (with or without a BTF-like `formatted` object of about the
 * size bpftool prints for Calico's BTF: ~1.6 KB per entry in total, calico-bpf.md §7).
 */
import {ctFlagNames, tcpStateOf, type ConntrackEntry, type CtLeg} from '../src/lib/maps/model.js'
import {encodeCtEntry, hexBytes, type MapEntryBytes} from '../test/support/map-encoders.js'

/** xorshift32: fast, deterministic. */
export function rng(seed = 0x9e3779b9): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
}

const STATES = ['ESTABLISHED', 'ESTABLISHED', 'ESTABLISHED', 'SYN-SENT', 'CLOSED', 'RESET'] as const

function goDuration(ns: number): string {
  if (ns < 1e6) return `${(ns / 1e3).toFixed(3).replace(/\.?0+$/, '')}µs`
  if (ns < 1e9) return `${(ns / 1e6).toFixed(6).replace(/\.?0+$/, '')}ms`
  const s = ns / 1e9
  if (s < 60) return `${s.toFixed(9).replace(/\.?0+$/, '')}s`
  const m = Math.floor(s / 60)
  return `${m}m${(s - m * 60).toFixed(3).replace(/\.?0+$/, '')}s`
}

const podAddress = (r: () => number) => `10.65.${r() & 3}.${(r() % 250) + 2}`
const ext = (r: () => number) => `192.168.${r() & 255}.${(r() % 250) + 2}`

const widePod = (r: () => number) => `10.${r() & 255}.${r() & 255}.${(r() % 250) + 2}`

/**
 * `n` v3.30+ pretty lines (70 % TCP, 15 % NAT, 12 % UDP, 3 % ICMP), newline-terminated. Pods come from 1,000
 * addresses, as on a node; `wideAddresses` draws them from 16 M instead (the parser's address cache then misses).
 */
export function prettyLines(n: number, seed = 1, wideAddresses = false): string {
  const r = rng(seed)
  const pod = wideAddresses ? widePod : podAddress
  const out: string[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const k = r() % 100
    const ago = goDuration(r() % 120_000_000_000)
    if (k < 70) {
      out[i] =
        `TCP ${pod(r)}:${(r() % 28000) + 32768} -> ${pod(r)}:${[80, 443, 8080, 5432][r() & 3]}  Active ago ${ago} ${STATES[r() % STATES.length]}`
    } else if (k < 85) {
      const tun = r() & 1 ? ` external client, service forwarded to/from 172.18.0.${r() & 7}` : ''
      out[i] =
        `TCP ${ext(r)}:${(r() % 28000) + 32768} -> 10.96.${r() & 255}.${r() & 255}:${[80, 443][r() & 1]} -> ${pod(r)}:8080${tun}  Active ago ${ago} ${STATES[r() % STATES.length]}`
    } else if (k < 97) {
      out[i] = `UDP ${pod(r)}:${(r() % 28000) + 32768} -> 10.96.0.10:53  Active ago ${ago}`
    } else {
      out[i] = `ICMP ${pod(r)}:0 -> 8.8.8.8:0  Active ago ${ago}`
    }
  }
  return out.join('\n') + '\n'
}

function leg(r: () => number, syn: boolean, ack: boolean, fin: boolean, rst: boolean, opener: boolean): CtLeg {
  return {
    bytes: r() % 10_000_000,
    packets: r() % 100_000,
    seqno: r(),
    syn,
    ack,
    fin,
    rst,
    approved: true,
    opener,
    workload: (r() & 1) === 1,
    ifindex: r() & 31,
  }
}

/** A realistic ct4 entry: 75 % normal, 12.5 % NAT-forward, 12.5 % NAT-reverse. */
export function ctEntry(r: () => number): ConntrackEntry {
  const k = r() % 8
  const a = {ip: podAddress(r), port: (r() % 28000) + 32768}
  const b = {ip: podAddress(r), port: [80, 443, 8080, 53][r() & 3]!}
  const proto = (r() & 7) === 0 ? 'udp' : 'tcp'
  const flagBits = (r() & 3) === 0 ? 0x100 : 0
  const lastSeenNs = String(1_000_000_000_000 + (r() % 1_000_000_000) * 1000)
  if (k === 0) {
    // NAT-forward: key (client, VIP); the value points at the NAT-reverse key (client, backend).
    const vip = {ip: `10.96.${r() & 255}.${r() & 255}`, port: 80}
    return {
      proto,
      a,
      b: vip,
      src: a,
      dst: vip,
      type: 'nat-forward',
      typeCode: 1,
      flags: [],
      flagBits: 0,
      lastSeenNs,
      natReverseKey: {proto, a, b},
      natSrcPort: 0,
    }
  }
  const fin = (r() & 15) === 0
  const ab = leg(r, true, true, fin, false, true)
  const ba = leg(r, true, (r() & 7) !== 0, fin, (r() & 31) === 0, false)
  const e: ConntrackEntry = {
    proto,
    a,
    b,
    src: flagBits ? b : a,
    dst: flagBits ? a : b,
    type: k === 1 ? 'nat-reverse' : 'normal',
    typeCode: k === 1 ? 2 : 0,
    flags: ctFlagNames(flagBits),
    flagBits,
    lastSeenNs,
    legs: {ab, ba},
  }
  if (k === 1) e.origDst = {ip: `10.96.${r() & 255}.${r() & 255}`, port: 80}
  if (proto === 'tcp') e.tcpState = tcpStateOf(ab, ba, flagBits)
  return e
}

const dec = (b: Uint8Array, o: number, n: number) => {
  let v = 0
  for (let i = n - 1; i >= 0; i--) v = v * 256 + b[o + i]!
  return v
}

/** A BTF-like `formatted` object for a ct4 entry, shaped like bpftool's output for `struct calico_ct_value`. */
function btfFormatted(e: MapEntryBytes): string {
  const k = e.key
  const v = e.value
  const legF = (o: number) => {
    const bits = v[o + 16]!
    const f = (i: number) => `"0x${(bits >> i) & 1}"`
    return (
      `{"bytes":${dec(v, o, 6)},"packets":${dec(v, o + 8, 4)},"seqno":${dec(v, o + 12, 4)},"syn_seen":${f(0)},` +
      `"ack_seen":${f(1)},"fin_seen":${f(2)},"rst_seen":${f(3)},"approved":${f(4)},"opener":${f(5)},` +
      `"workload":${f(6)},"reserved":"0x0","ifindex":${dec(v, o + 20, 4)}}`
    )
  }
  return (
    `{"key":{"protocol":${k[0]},"addr_a":${dec(k, 4, 4)},"addr_b":${dec(k, 8, 4)},"port_a":${dec(k, 12, 2)},"port_b":${dec(k, 14, 2)}},` +
    `"value":{"":{"created":0,"rst_seen":${dec(v, 0, 6)}},"last_seen":${dec(v, 8, 6)},"type":${v[16]},"flags":${v[17]},` +
    `"flags3":${v[18]},"flags4":${v[19]},"pad0":[0,0,0],"flags2":${v[23]},"":{"":{"a_to_b":${legF(24)},"b_to_a":${legF(48)},` +
    `"tun_ip":${dec(v, 72, 4)},"orig_ip":${dec(v, 76, 4)},"orig_port":${dec(v, 80, 2)},"orig_sport":${dec(v, 82, 2)},` +
    `"orig_sip":${dec(v, 84, 4)}},"":{"nat_rev_key":{"protocol":${v[24]},"addr_a":${dec(v, 28, 4)},"addr_b":${dec(v, 32, 4)},` +
    `"port_a":${dec(v, 36, 2)},"port_b":${dec(v, 38, 2)}},"nat_sport":${dec(v, 40, 2)},"pad2":[${new Array(46).fill(0).join(',')}]}}}}`
  )
}

const jsonHex = (b: Uint8Array): string =>
  hexBytes(b)
    .replace(/(\w\w)/g, '"0x$1"')
    .replace(/ /g, ',')

/**
 * A buffer holding `distinct` elements of a ct4 dump (each preceded by `[` or `,`), to be repeated to any size.
 * `btf` adds the `formatted` object.
 */
export function ct4DumpBody(
  distinct: number,
  btf: boolean,
  seed = 7,
): {body: Buffer; first: Buffer; perEntry: number; offsets: number[]} {
  const r = rng(seed)
  const parts: string[] = []
  for (let i = 0; i < distinct; i++) {
    const e = encodeCtEntry(ctEntry(r), 'ct4')
    let s = `{"key":[${jsonHex(e.key)}],"value":[${jsonHex(e.value)}]`
    if (btf) s += `,"formatted":${btfFormatted(e)}`
    parts.push(s + '}')
  }
  const body = Buffer.from(parts.map((p) => `,${p}`).join(''))
  const offsets: number[] = []
  let o = 0
  for (const p of parts) {
    offsets.push(o)
    o += Buffer.byteLength(p) + 1
  }
  const first = Buffer.from(`[${parts[0]}`)
  return {body, first, perEntry: body.length / distinct, offsets}
}

/**
 * Yields a `bpftool -j map dump` of `total` ct4 entries in `chunkSize` chunks (like a pipe), from a repeated body.
 */
export function* ct4DumpChunks(
  total: number,
  btf: boolean | ReturnType<typeof ct4DumpBody>,
  chunkSize = 65536,
  distinct = 4096,
): Generator<Buffer> {
  const {body, first, offsets} = typeof btf === 'boolean' ? ct4DumpBody(distinct, btf) : btf
  distinct = offsets.length
  // The first element, then repeated bodies of `distinct` elements (each starting with ','), then `]`.
  yield first
  let left = total - 1
  while (left > 0) {
    const take = Math.min(left, distinct)
    const end = take === distinct ? body.length : offsets[take]!
    for (let o = 0; o < end; o += chunkSize) yield body.subarray(o, Math.min(end, o + chunkSize))
    left -= take
  }
  yield Buffer.from(']\n')
}

/** `n` raw (`--raw`) lines in the v3.31+ format. */
export function rawLines(n: number, seed = 3): string {
  const r = rng(seed)
  const out: string[] = new Array(n)
  const legText = (l: CtLeg) =>
    `{Bytes:${l.bytes} Packets:${l.packets} Seqno:${l.seqno} SynSeen:${l.syn} AckSeen:${l.ack} FinSeen:${l.fin} RstSeen:${l.rst} Approved:${l.approved} Opener:${l.opener} Workload:${l.workload} Ifindex:${l.ifindex}}`
  for (let i = 0; i < n; i++) {
    const e = ctEntry(r)
    const key = `ConntrackKey{proto=${e.proto === 'tcp' ? 6 : 17} ${e.a.ip}:${e.a.port} <-> ${e.b.ip}:${e.b.port}}`
    const flags = e.flagBits ? ` 0x${e.flagBits.toString(16)} ${e.flags.join(' ')}` : ' <none>'
    const ago = goDuration(r() % 120_000_000_000)
    if (e.type === 'nat-forward') {
      const rk = e.natReverseKey!
      out[i] =
        `${key} -> Entry{Type:1, LastSeen:${e.lastSeenNs}, Flags:${flags} REVKey: ConntrackKey{proto=6 ${rk.a.ip}:${rk.a.port} <-> ${rk.b.ip}:${rk.b.port}} NATSPort: 0} Active ago ${ago}`
      continue
    }
    const od = e.origDst ?? {ip: '0.0.0.0', port: 0}
    const data = `{A2B:${legText(e.legs!.ab)} B2A:${legText(e.legs!.ba)} OrigDst:${od.ip} OrigSrc:0.0.0.0 OrigPort:${od.port} OrigSPort:0 TunIP:0.0.0.0}`
    out[i] =
      `${key} -> Entry{Type:${e.typeCode}, LastSeen:${e.lastSeenNs}, Flags:${flags} Data: ${data}} Active ago ${ago}${e.tcpState ? ' ' + e.tcpState : ''}`
  }
  return out.join('\n') + '\n'
}
