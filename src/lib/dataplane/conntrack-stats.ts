/**
 * `ebpfctl conntrack stats`: per node how full Calico's conntrack map is (against the map's real max_entries), the
 * NAT share, TCP states, and fleet-wide sizing advice in FelixConfiguration terms (bpfMapSizeConntrack,
 * bpfMapSizeConntrackScaling). Calico's own `conntrack stats` (v3.30+) prints a few hundred bytes per node; older
 * releases and broken agents fall back to counting a streamed dump (agent or bpftool).
 */
import {
  type AgentConntrackStats,
  ConntrackStatsAccumulator,
  DEFAULT_CT_MAP_SIZE,
  parseConntrackStatsJson,
  parseConntrackStatsText,
} from '../maps/index.js'
import {runOnNodes} from '../nodes/fanout.js'
import type {NodeRunner, NodeTarget} from '../nodes/types.js'
import {countConntrackOneCommand} from './ct-count.js'
import {errorOf} from './nat-dump.js'
import {type DataplaneReadOptions, DataplaneReadError, type ReadSource, noJsonIn, runAgent, streamConntrack, wantAgent} from './read-maps.js'
import type {DumpSession} from './dump-session.js'
import {pinnedMapInfo} from './small-maps.js'

export interface NodeCtStats {
  source: ReadSource
  /** How the numbers were obtained: Calico's `conntrack stats`, or by counting a dump. */
  method: 'agent-stats' | 'counted-dump'
  mapSize: number
  /** Where mapSize comes from: the map itself (max_entries), FelixConfiguration, or Felix's default. */
  mapSizeFrom: 'map' | 'felix-config' | 'default'
  /** Map entries (connections plus NAT-forward entries). */
  entries: number
  connections: number
  natConnections: number
  /** natConnections / connections. */
  natShare: number
  /** entries / mapSize. */
  fill: number
  tcp: {established: number; synSent: number; closed: number; reset: number}
  byProto: {tcp: number; udp: number; other: number}
}

export interface NodeCtStatsResult {
  node: string
  stats?: NodeCtStats
  error?: {reason: string; message: string; remedy?: string}
}

export interface CtSizingAdvice {
  level: 'ok' | 'warn' | 'fail'
  message: string
  /** A FelixConfiguration patch that would fix it, when one would. */
  patch?: Record<string, unknown>
}

export interface ConntrackStatsReport {
  apiVersion: 'ebpfctl/v1'
  kind: 'ConntrackStats'
  config: {bpfMapSizeConntrack?: number; bpfMapSizeConntrackScaling?: string}
  nodes: NodeCtStatsResult[]
  advice: CtSizingAdvice[]
}

const CT_MAP_NAMES = ['cali_v4_ct4', 'cali_v4_ct3', 'cali_v4_ct2']

function fromAgent(s: Partial<AgentConntrackStats>, source: ReadSource): Omit<NodeCtStats, 'mapSizeFrom'> | undefined {
  if (s.totalEntries === undefined || s.mapSize === undefined) return undefined
  const connections = s.totalConnections ?? s.totalEntries - (s.natConnections ?? 0)
  const nat = s.natConnections ?? 0
  return {
    source,
    method: 'agent-stats',
    mapSize: s.mapSize,
    entries: s.totalEntries,
    connections,
    natConnections: nat,
    natShare: connections > 0 ? nat / connections : 0,
    fill: s.mapSize > 0 ? s.totalEntries / s.mapSize : 0,
    tcp: {established: s.tcpEstablished ?? 0, synSent: s.tcpSynSent ?? 0, closed: s.tcpClosed ?? 0, reset: s.tcpReset ?? 0},
    byProto: {tcp: s.tcp ?? 0, udp: s.udp ?? 0, other: s.others ?? 0},
  }
}

/** One node: `conntrack stats` from the agent; else count a dump, sized by the map's own max_entries. */
export async function readConntrackStats(
  runner: NodeRunner,
  node: NodeTarget,
  opts: DataplaneReadOptions,
  configuredSize?: number,
): Promise<NodeCtStats> {
  if (wantAgent(opts) && opts.source !== 'bpftool') {
    try {
      const ran = await runAgent(runner, node, ['conntrack', 'stats'], opts)
      const json = ran.json && !noJsonIn(ran.stdout)
      const parsed = json ? parseConntrackStatsJson(ran.stdout) : parseConntrackStatsText(ran.stdout)
      const s = parsed.entries[0] ? fromAgent(parsed.entries[0], json ? 'agent-json' : 'agent-text') : undefined
      if (s) return {...s, mapSizeFrom: 'map'}
      if (opts.source === 'agent') {
        throw new DataplaneReadError(node.name, 'not-understood', "the Calico BPF tool's conntrack stats output was not understood")
      }
    } catch (err) {
      // No `conntrack stats` before v3.30, or an agent that cannot run: count a dump instead (below).
      if (opts.source === 'agent') throw err
      if (err instanceof DataplaneReadError && (err.reason === 'map-missing' || err.reason === 'agent-cmd-failed')) throw err
      if (!(err instanceof DataplaneReadError)) throw err
    }
  }
  const acc = new ConntrackStatsAccumulator({mapSize: configuredSize})
  // bpftool only: one remote command instead of two, entries tallied rather than decoded one by one.
  const counted = wantAgent(opts) ? undefined : await countConntrackOneCommand(runner, node, opts)
  if (counted) counted.tally.addTo(acc, {layout: counted.layout})
  const summary: {source: ReadSource; mapSize?: number} = counted
    ? {source: 'bpftool', mapSize: counted.mapSize}
    : await streamConntrack(runner, node, opts, (batch) => {
        for (const e of batch) acc.add(e)
      })
  let mapSize = summary.mapSize
  let mapSizeFrom: NodeCtStats['mapSizeFrom'] = 'map'
  if (!mapSize) {
    // The agent's dump does not say how big the map is: ask bpftool (the calico-node image ships it).
    for (const name of CT_MAP_NAMES) {
      const info = await pinnedMapInfo(runner, node, name, {timeoutMs: opts.timeoutMs}).catch(() => undefined)
      if (info?.max_entries) {
        mapSize = info.max_entries
        break
      }
    }
  }
  if (!mapSize) {
    mapSize = configuredSize ?? DEFAULT_CT_MAP_SIZE
    mapSizeFrom = configuredSize ? 'felix-config' : 'default'
  }
  const r = acc.result()
  // NAT-forward entries, or their hidden twins (one per NAT-reverse) when the source hides them.
  const nat = r.byType['nat-forward'] + (r.mapEntries - r.entries)
  // Protocols of connections, as Calico's own `conntrack stats` counts them (NAT-forward entries left out).
  const byProto = {tcp: r.connectionsByProto.tcp ?? 0, udp: r.connectionsByProto.udp ?? 0, other: 0}
  byProto.other = r.connections - byProto.tcp - byProto.udp
  return {
    source: summary.source,
    method: 'counted-dump',
    mapSize,
    mapSizeFrom,
    entries: r.mapEntries,
    connections: r.connections,
    natConnections: nat,
    natShare: r.connections > 0 ? nat / r.connections : 0,
    fill: mapSize > 0 ? r.mapEntries / mapSize : 0,
    tcp: {established: r.tcpStates.ESTABLISHED, synSent: r.tcpStates['SYN-SENT'], closed: r.tcpStates.CLOSED, reset: r.tcpStates.RESET},
    byProto,
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`
/** A size with room: twice the entries, rounded up to a multiple of 64,000. */
const roomFor = (entries: number) => Math.max(DEFAULT_CT_MAP_SIZE, Math.ceil((entries * 2) / 64_000) * 64_000)

/**
 * Fleet-wide advice from the fullest node, in FelixConfiguration terms. Felix's DoubleIfFull (v3.30+, the default)
 * doubles the map and restarts Felix when a sweep finds it over 90% full (or over 85% three sweeps running,
 * felix/bpf/conntrack/scanner.go); with Disabled, new connections fail once it is full.
 */
export function conntrackSizingAdvice(report: Pick<ConntrackStatsReport, 'nodes' | 'config'>): CtSizingAdvice[] {
  const read = report.nodes.filter((n) => n.stats)
  if (read.length === 0) return []
  const fullest = read.reduce((a, b) => (b.stats!.fill > a.stats!.fill ? b : a))
  const s = fullest.stats!
  const scaling = report.config.bpfMapSizeConntrackScaling ?? 'DoubleIfFull'
  const doubling = scaling.toLowerCase() === 'doubleiffull'
  const configured = report.config.bpfMapSizeConntrack ?? DEFAULT_CT_MAP_SIZE
  const advice: CtSizingAdvice[] = []
  const where = `the fullest node, ${fullest.node}, holds ${s.entries} entries in a map of ${s.mapSize} (${pct(s.fill)})`
  const size = roomFor(s.entries)
  if (s.fill > 0.85) {
    advice.push({
      level: 'fail',
      message: doubling
        ? `${where}: past 85–90% Felix doubles the map (bpfMapSizeConntrackScaling: ${scaling}) and restarts to apply it, resetting its state under load; set bpfMapSizeConntrack: ${size} ahead of time (changing it can disrupt existing connections)`
        : `${where}: when it is full new connections fail (bpfMapSizeConntrackScaling: ${scaling}); set bpfMapSizeConntrack: ${size}, or bpfMapSizeConntrackScaling: DoubleIfFull (v3.30+)`,
      patch: {spec: {bpfMapSizeConntrack: size}},
    })
  } else if (s.fill > 0.7) {
    advice.push({
      level: 'warn',
      message: `${where}: little headroom; consider bpfMapSizeConntrack: ${size}${doubling ? '' : ' (bpfMapSizeConntrackScaling is Disabled: a full map drops new connections)'}`,
      patch: {spec: {bpfMapSizeConntrack: size}},
    })
  } else {
    advice.push({level: 'ok', message: `${where}: enough headroom (bpfMapSizeConntrack ${configured}, bpfMapSizeConntrackScaling ${scaling})`})
  }
  const grown = read.filter((n) => n.stats!.mapSizeFrom === 'map' && n.stats!.mapSize > configured)
  if (grown.length > 0) {
    advice.push({
      level: 'warn',
      message: `${grown.length} node(s) have a larger map than bpfMapSizeConntrack ${configured} (e.g. ${grown[0]!.node}: ${grown[0]!.stats!.mapSize}): Felix resized it (DoubleIfFull); set bpfMapSizeConntrack: ${grown[0]!.stats!.mapSize} to make the size explicit`,
      patch: {spec: {bpfMapSizeConntrack: grown[0]!.stats!.mapSize}},
    })
  }
  return advice
}

export async function conntrackStatsReport(session: DumpSession, opts: {concurrency: number}): Promise<ConntrackStatsReport> {
  const spec = session.install?.felixDefault?.spec as {bpfMapSizeConntrack?: number; bpfMapSizeConntrackScaling?: string} | undefined
  const config = {bpfMapSizeConntrack: spec?.bpfMapSizeConntrack, bpfMapSizeConntrackScaling: spec?.bpfMapSizeConntrackScaling}
  const outcomes = await runOnNodes(
    session.targets,
    (n) => readConntrackStats(session.runner, n, session.read, config.bpfMapSizeConntrack),
    {concurrency: opts.concurrency, perNodeTimeoutMs: session.read.timeoutMs},
  )
  const nodes = outcomes.map((o): NodeCtStatsResult => (o.ok ? {node: o.node.name, stats: o.value} : {node: o.node.name, error: errorOf(o.error)}))
  const report: ConntrackStatsReport = {apiVersion: 'ebpfctl/v1', kind: 'ConntrackStats', config, nodes, advice: []}
  report.advice = conntrackSizingAdvice(report)
  return report
}
