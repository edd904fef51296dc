/**
 * The one data model for Calico's BPF NAT and conntrack maps, whatever the source:
 * - `agent-text`: `calico-node -bpf nat dump` / `conntrack dump` text (every version, see calico-bpf.md §1),
 * - `agent-json`: the same commands with `--json` (v3.31.5+/v3.32.0+, §1.5, §1.10),
 * - `bpftool`: `bpftool -j map dump pinned /sys/fs/bpf/tc/globals/<map>` bytes (§2).
 *
 * Every object is plain and JSON-serialisable. 64-bit kernel timestamps (ktime ns) are decimal strings because they
 * exceed 2^53 after ~104 days of uptime; byte and packet counters are numbers (exact up to 2^53).
 * A field that a source cannot provide is absent (never `null`), so `'x' in entry` tells what the source knew.
 */

/** IP protocol: a name for the well-known ones, the protocol number otherwise. */
export type IpProto = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmp6' | number

/**
 * Protocol of a conntrack entry. `'unknown'` only comes from v3.28.0–v3.32.1 pretty text, which prints `UNKNOWN`
 * instead of the number for protocols other than TCP/UDP/ICMP/ICMP6.
 */
export type CtProto = IpProto | 'unknown'

/** An IP address (dotted quad, or RFC 5952 IPv6 without brackets) and a port (host order, decimal). */
export interface Endpoint {
  ip: string
  port: number
}

// ---------------------------------------------------------------------------------------------------------------
// NAT

/** One backend of a frontend: the backend map entry `(serviceId, ordinal) -> ip:port`. */
export interface NatBackend {
  ordinal: number
  ip: string
  port: number
}

/**
 * One NAT frontend map entry (`cali_v4_nat_fe3` key+value) with its backends attached.
 * The frontend key is (ip, port, proto, srcRange); several frontends share a `serviceId` (ClusterIP, NodePorts,
 * LB IPs and external IPs of one Service port) and therefore share the backends.
 */
export interface NatFrontend {
  ip: string
  port: number
  proto: IpProto
  /** Calico's service ID (value `id`); also the backend-map key prefix. */
  serviceId: number
  /** Number of backends, as programmed; -1 for a blackhole (drop) entry (0xffffffff in the map). */
  count: number
  /** Number of node-local backends; they occupy ordinals [0, localCount). */
  localCount: number
  /**
   * Flag names in bit order: `external-local` (0x1), `internal-local` (0x2), `nat-exclude` (0x4), `maglev` (0x8);
   * an unknown bit is named `0x<hex>` (bpftool only; text drops unnamed bits).
   */
  flags: string[]
  /** The raw flags word (bpftool only; text/JSON give names only). */
  flagBits?: number
  /** Source CIDR for a LoadBalancer `loadBalancerSourceRanges` frontend (prefix length > 0 only). */
  srcRange?: string
  /** Session-affinity timeout in seconds, 0 = none (bpftool only). */
  affinityTimeoutSec?: number
  /** The backends found, in ordinal order. Missing ordinals are not listed here (see `missingOrdinals`). */
  backends: NatBackend[]
  /** true when count is -1 (drop everything that matches). */
  blackhole?: boolean
  /** How many ordinals in [0, count) have no backend map entry (`is missing` in text). Absent when 0. */
  missingBackends?: number
  /** Those ordinals, ascending. Absent when none. */
  missingOrdinals?: number[]
  /**
   * Text only: fewer backend lines than `count` followed this frontend (and none said `is missing`), i.e. the
   * output was cut (grep -A, a truncated paste). Backends are then incomplete; do not report drift from them.
   */
  truncated?: boolean
}

/** One NAT affinity map entry (`cali_v4_nat_aff`): a client pinned to a backend of a frontend. */
export interface NatAffinityEntry {
  clientIp: string
  frontend: {ip: string; port: number; proto: IpProto}
  backend: Endpoint
  /**
   * `bpf_ktime_get_ns()` when the affinity was written or refreshed (time since boot, not an age), decimal ns.
   * Text output of v3.24–v3.31.6 prints it raw; v3.31.7+/v3.32.1+ print it as a Go duration, converted back here.
   */
  timestampNs?: string
}

// ---------------------------------------------------------------------------------------------------------------
// Conntrack

export type CtType = 'normal' | 'nat-forward' | 'nat-reverse' | 'unknown'

export type TcpState = 'ESTABLISHED' | 'SYN-SENT' | 'CLOSED' | 'RESET'

/** One direction of a connection (`calico_ct_leg`). Only the fields the source printed are present. */
export interface CtLeg {
  bytes?: number
  packets?: number
  /** TCP sequence number as Calico's Go code reads it (big-endian), see calico-bpf.md §2.7. */
  seqno?: number
  syn?: boolean
  ack?: boolean
  fin?: boolean
  rst?: boolean
  /** `approved` (called `whitelisted` before v3.25). */
  approved?: boolean
  opener?: boolean
  /** v3.30+ only. */
  workload?: boolean
  /** 0 = created from the host. */
  ifindex?: number
}

/**
 * One conntrack map entry (`cali_v4_ct4`/`ct3`/`ct2`, v6 alike), or one line of the agent's output.
 *
 * `a`/`b` are the key's two ends in Calico's canonical order (§2.6: the "lower" end first). `src`/`dst` are the same
 * two ends oriented by the `B-A` flag: `src` is the side that opened the connection, as Calico's pretty printer
 * shows it. Sources that print only src/dst (pretty text and pretty JSON) do not print the key: there `a`/`b` are
 * derived with Calico's IPv4 ordering rule and `keyOrderInferred` is true (for IPv6, a = src, b = dst).
 *
 * A pretty `nat` line is the NAT-reverse entry: key (client, backend); `origDst` is the service VIP:port.
 * NAT-forward entries (key (client, VIP)) are only in raw text, raw JSON and bpftool dumps.
 */
export interface ConntrackEntry {
  proto: CtProto
  a: Endpoint
  b: Endpoint
  src: Endpoint
  dst: Endpoint
  type: CtType
  /** The numeric type byte when it is not 0/1/2, or whenever the source gives it (raw text, bpftool). */
  typeCode?: number
  /** Flag names (calico-bpf.md §2.7 table, `v4.FlagNames`); unnamed bits appear as `0x<hex>`. */
  flags: string[]
  /** The raw flags word, when the source gives it (raw text, bpftool). */
  flagBits?: number
  /** TCP entries only: CLOSED > RESET > ESTABLISHED > SYN-SENT, as printed or as Calico computes it. */
  tcpState?: TcpState
  /** NAT-reverse: original (pre-DNAT) destination, i.e. the service VIP:port. */
  origDst?: Endpoint
  /** NAT-reverse: original source IP (`orig_sip`, bpftool only; absent when 0.0.0.0/::). */
  origSrcIp?: string
  /** Original source port when `host-psnat` changed it ("source port changed from N"). */
  origSrcPort?: number
  /** NAT-reverse: node the traffic was tunnelled from/to (nodeport forwarding). Absent when zero. */
  tunnelIp?: string
  /** NAT-forward: the key of its NAT-reverse twin. */
  natReverseKey?: {proto: CtProto; a: Endpoint; b: Endpoint}
  /** NAT-forward: the port to SNAT to (`NATSPort`). */
  natSrcPort?: number
  /** `last_seen`, CLOCK_MONOTONIC ns (raw text, bpftool). */
  lastSeenNs?: string
  /** Seconds since last seen ("Active ago"); from text/JSON, or computed by the bpftool decoder given `nowNs`. */
  activeAgoSeconds?: number
  /** `created` ktime ns (ct2, and ct3 up to v3.29). */
  createdNs?: string
  /** Seconds since creation ("Age:", v3.28–v3.29 pretty text and ≤ v3.23 raw text). */
  ageSeconds?: number
  /** `rst_seen` ktime ns (v3.30+ layouts; 0 = never, then absent). */
  rstSeenNs?: string
  /** Per-direction details (raw text and bpftool). */
  legs?: {ab: CtLeg; ba: CtLeg}
  /** true when a/b were derived rather than read from the key (pretty text/JSON). */
  keyOrderInferred?: boolean
}

// ---------------------------------------------------------------------------------------------------------------
// Parse results

/**
 * What every parser returns. Parsing never throws on input: lines it cannot read are counted and sampled.
 * - `unknownLines`: non-blank lines that are neither data nor recognised noise; `samples` holds the first few.
 * - `noiseLines`: recognised noise that was skipped (log lines, kubectl messages, grep `--`, prompts/commands).
 * - `errors`: error messages found in the input (logrus/Calico `error`/`fatal` lines, cobra `Error:` lines) and
 *   structural problems (orphan backend lines, invalid JSON).
 * - `truncatedLastLine`: the input did not end with a newline and its last line could not be parsed.
 */
export interface ParseResult<T> {
  entries: T[]
  unknownLines: number
  samples: string[]
  errors: string[]
  noiseLines: number
  truncatedLastLine: boolean
}

/** Conntrack text formats (calico-bpf.md §1.8, §1.9, §1.12). */
export type CtTextFormat = 'pretty' | 'pretty-age' | 'raw' | 'raw-age' | 'mixed' | 'empty'

export interface ConntrackParseResult extends ParseResult<ConntrackEntry> {
  /** Which format the lines were in; 'mixed' if more than one. */
  format: CtTextFormat
}

// ---------------------------------------------------------------------------------------------------------------
// Stats, join and drift

export interface ConntrackStats {
  /** Entries counted (every input entry). */
  entries: number
  byType: Record<CtType, number>
  /** Keyed by protocol name (`tcp`, `udp`, `icmp`, …) or number as a string. */
  byProto: Record<string, number>
  /**
   * The same for connections only (NAT-forward entries left out): what Calico's `conntrack stats` prints as `TCP`,
   * `UDP` and `Others` (felix/cmd/calico-bpf/commands/conntrack.go counts protocols after skipping NAT-forward entries).
   */
  connectionsByProto: Record<string, number>
  /** TCP entries by state; entries without a state (NAT-forward) are not counted. */
  tcpStates: Record<TcpState, number>
  /** Calico's `conntrack stats` numbers: connections = entries excluding NAT-forward. */
  connections: number
  /** Estimated map entries: `entries`, plus one hidden NAT-forward twin per NAT-reverse when the source hides them. */
  mapEntries: number
  mapSize: number
  /** mapEntries / mapSize (0..1+). */
  fillRatio: number
}

/** A Kubernetes Service port a frontend belongs to. */
export interface ServiceRef {
  namespace: string
  name: string
  /** Service port name ('' when unnamed). */
  portName: string
  port: number
  proto: IpProto
  /** How the frontend matched. */
  via: 'cluster-ip' | 'node-port' | 'load-balancer' | 'external-ip' | 'service-id'
  /** `namespace/name:portName` (or `namespace/name:port` when unnamed). */
  ref: string
}

export interface JoinedBackend extends NatBackend {
  /** `namespace/name` of the pod (EndpointSlice targetRef). */
  pod?: string
  nodeName?: string
  ready?: boolean
  serving?: boolean
  terminating?: boolean
}

export interface JoinedFrontend extends Omit<NatFrontend, 'backends'> {
  service?: ServiceRef
  backends: JoinedBackend[]
}

export type DriftKind =
  | 'stale-backend' // a backend in the map that the EndpointSlices do not list
  | 'missing-backend' // an EndpointSlice endpoint that the map does not have
  | 'missing-service' // a Service port with no frontend on the node
  | 'unexpected-frontend' // a frontend that matches no Service
  | 'backend-hole' // an ordinal in [0, count) with no backend entry ("is missing")
  | 'node-disagreement' // the same frontend has different backend sets on different nodes

export interface DriftFinding {
  kind: DriftKind
  /** `ip:port/proto` (+ ` src <cidr>`), or for missing-service the Service's ClusterIP:port/proto. */
  frontend: string
  service?: string
  /** The node, for per-node findings. */
  node?: string
  /** The nodes involved, for node-disagreement. */
  nodes?: string[]
  /** Sorted `ip:port` lists: the full expected set (from EndpointSlices) and the full set in the map. */
  expected?: string[]
  actual?: string[]
  /** The backends the finding is about: the stale ones, the missing ones, or the missing ordinals as `id:ord`. */
  backends?: string[]
  /** node-disagreement: each node's sorted backend set. */
  byNode?: Record<string, string[]>
  message: string
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers shared by every source

const PROTO_NAMES: Record<number, IpProto> = {1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6', 132: 'sctp'}
const PROTO_NUMBERS: Record<string, number> = {icmp: 1, tcp: 6, udp: 17, icmp6: 58, sctp: 132}

/** 6 → 'tcp', 17 → 'udp', 132 → 'sctp', 1 → 'icmp', 58 → 'icmp6', anything else stays a number. */
export function protoFromNumber(n: number): IpProto {
  return PROTO_NAMES[n] ?? n
}

/** The protocol number of an IpProto ('tcp' → 6 …); undefined for 'unknown'. */
export function protoNumber(p: CtProto): number | undefined {
  if (typeof p === 'number') return p
  return PROTO_NUMBERS[p]
}

/** `10.96.0.1:443/tcp`, `[fd00::1]:53/udp`, plus ` src 192.168.0.0/16` for source-range frontends. */
export function frontendKey(fe: {ip: string; port: number; proto: IpProto; srcRange?: string}): string {
  const host = fe.ip.includes(':') ? `[${fe.ip}]` : fe.ip
  return `${host}:${fe.port}/${fe.proto}${fe.srcRange ? ` src ${fe.srcRange}` : ''}`
}

/** `ip:port` with brackets for IPv6. */
export function endpointString(ep: Endpoint): string {
  return ep.ip.includes(':') ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`
}

/** NAT frontend flag names by bit (calico-bpf.md §1.2/§2.3). */
export const NAT_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [0x1, 'external-local'],
  [0x2, 'internal-local'],
  [0x4, 'nat-exclude'],
  [0x8, 'maglev'],
]

/** Conntrack flag names by bit, as `v4.FlagNames` (HEAD) names them (calico-bpf.md §2.7). */
export const CT_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [0x1, 'nat-out'],
  [0x2, 'fwd-dsr'],
  [0x4, 'np-fwd'],
  [0x8, 'skip-fib'],
  [0x40, 'ext-local'],
  [0x80, 'via-nat-iface'],
  [0x100, 'B-A'],
  [0x200, 'host-psnat'],
  [0x400, 'svc-self'],
  [0x800, 'np-loop'],
  [0x1000, 'np-remote'],
  [0x2000, 'no-dsr'],
  [0x4000, 'no-redir-peer'],
  [0x8000, 'dscp'],
  [0x10000, 'maglev'],
  [0x20000, 'send-rst'],
  [0x40000, 'connlimit-in'],
  [0x80000, 'connlimit-in-rej'],
  [0x100000, 'connlimit-out'],
  [0x200000, 'connlimit-dec'],
]

/** Conntrack flag bits by name: the inverse of CT_FLAG_NAMES, for the sources that print names. */
export const CT_FLAG_BY_NAME: ReadonlyMap<string, number> = new Map(CT_FLAG_NAMES.map(([bit, name]) => [name, bit]))

/** The protocol words the agent prints for conntrack entries (text and JSON), as the model names them. */
export const CT_PROTO_BY_WORD: Readonly<Record<string, CtProto>> = {
  TCP: 'tcp',
  UDP: 'udp',
  ICMP: 'icmp',
  ICMP6: 'icmp6',
  SCTP: 'sctp',
  UNKNOWN: 'unknown',
}

export const CT_FLAG_BA = 0x100
export const CT_FLAG_FWD_DSR = 0x2

function flagNames(bits: number, table: ReadonlyArray<readonly [number, string]>): string[] {
  const out: string[] = []
  let rest = bits >>> 0
  for (const [bit, name] of table) {
    if (rest & bit) {
      out.push(name)
      rest = (rest & ~bit) >>> 0
    }
  }
  for (let bit = 1; rest !== 0 && bit !== 0; bit = (bit << 1) >>> 0) {
    if (rest & bit) {
      out.push(`0x${bit.toString(16)}`)
      rest = (rest & ~bit) >>> 0
    }
  }
  return out
}

/** NAT frontend flags word → names (unknown bits as `0x<hex>`). */
export function natFlagNames(bits: number): string[] {
  return flagNames(bits, NAT_FLAG_NAMES)
}

/** Conntrack flags word → names (unknown bits, e.g. reserved 0x10/0x20, as `0x<hex>`). */
export function ctFlagNames(bits: number): string[] {
  return flagNames(bits, CT_FLAG_NAMES)
}

/**
 * Calico's TCP state for an entry (calico-bpf.md §1.8 rule 4): CLOSED if both FINs (or either FIN with fwd-dsr),
 * RESET if either RST, ESTABLISHED if SYN+ACK both ways, SYN-SENT otherwise.
 */
export function tcpStateOf(ab: CtLeg, ba: CtLeg, flagBits: number): TcpState {
  if ((ab.fin && ba.fin) || ((flagBits & CT_FLAG_FWD_DSR) !== 0 && (ab.fin || ba.fin))) return 'CLOSED'
  if (ab.rst || ba.rst) return 'RESET'
  if (ab.syn && ab.ack && ba.syn && ba.ack) return 'ESTABLISHED'
  return 'SYN-SENT'
}

/** Parse a dotted-quad IPv4 into its LE-u32 reading of the network bytes (Calico's `src_lt_dest` compare). */
function ipv4LeValue(ip: string): number | undefined {
  let v = 0
  let part = 0
  let digits = 0
  let dots = 0
  let scale = 1
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48)
      if (++digits > 3 || part > 255) return undefined
    } else if (c === 46 && digits > 0 && dots < 3) {
      v += part * scale
      scale *= 256
      part = 0
      digits = 0
      dots++
    } else return undefined
  }
  if (dots !== 3 || digits === 0) return undefined
  return v + part * scale
}

/**
 * Calico's canonical key order for two ends (§2.6, `fill_ct_key`/`src_lt_dest`): for IPv4 the raw `__be32` compared
 * as a native (little-endian) u32, then the port. Returns [a, b, inferredFromRule]. For IPv6 the rule is not
 * documented, so the input order is kept and the third element is false.
 */
export function canonicalCtOrder(src: Endpoint, dst: Endpoint): [Endpoint, Endpoint, boolean] {
  const s = ipv4LeValue(src.ip)
  const d = ipv4LeValue(dst.ip)
  if (s === undefined || d === undefined) return [src, dst, false]
  if (s < d || (s === d && src.port <= dst.port)) return [src, dst, true]
  return [dst, src, true]
}

/** Fresh empty stats record keys. */
export function emptyParseResult<T>(): ParseResult<T> {
  return {entries: [], unknownLines: 0, samples: [], errors: [], noiseLines: 0, truncatedLastLine: false}
}
