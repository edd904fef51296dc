import {type ConntrackEntry, type ConntrackStats, ConntrackStatsAccumulator, DEFAULT_CT_MAP_SIZE} from '../maps/index.js'
import {type NodeOutcome, runOnNodes} from '../nodes/fanout.js'
import type {NodeTarget} from '../nodes/types.js'
import {type EntryFilter, conntrackMatches} from './dump-filter.js'
import {errorOf} from './nat-dump.js'
import {type ConntrackReadSummary, streamConntrack} from './read-maps.js'
import type {DumpSession} from './dump-session.js'
import {bpfMapSizeConntrack} from './targets.js'

export interface ConntrackSink {
  /** Called once per node before its entries, in node order. */
  beginNode(node: string): void
  /** A returned promise is backpressure (stdout is full): the read pauses until it settles. */
  entries(node: string, entries: ConntrackEntry[]): unknown
  endNode(node: string, result: NodeConntrackResult): void
}

export interface NodeConntrackResult {
  node: string
  summary?: ConntrackReadSummary & {matched: number}
  stats?: ConntrackStats
  error?: {reason: string; message: string; remedy?: string}
}

/**
 * Streams each node's conntrack entries that pass the filter into the sink. Nodes are read one after another when
 * entries are streamed (so output stays grouped and memory bounded) and concurrently for --stats.
 */
export async function conntrackDump(
  session: DumpSession,
  opts: {filter: EntryFilter & {natOnly?: boolean}; stats: boolean; concurrency: number},
  sink?: ConntrackSink,
): Promise<NodeConntrackResult[]> {
  const readOne = async (
    node: NodeTarget,
    emit?: (batch: ConntrackEntry[]) => unknown,
  ): Promise<NodeConntrackResult> => {
    let matched = 0
    const mapSizeFromConfig = bpfMapSizeConntrack(session.install)
    const acc = opts.stats ? new ConntrackStatsAccumulator({mapSize: mapSizeFromConfig}) : undefined
    const summary = await streamConntrack(session.runner, node, session.read, (batch) => {
      const kept = batch.filter((e) => conntrackMatches(e, opts.filter))
      matched += kept.length
      if (acc) for (const e of kept) acc.add(e)
      if (emit && kept.length) return emit(kept)
    })
    let stats = acc?.result()
    if (stats && mapSizeFromConfig === undefined && summary.mapSize && summary.mapSize !== DEFAULT_CT_MAP_SIZE) {
      // The map's own max_entries is the truth when FelixConfiguration does not say.
      stats = {...stats, mapSize: summary.mapSize, fillRatio: stats.mapEntries / summary.mapSize}
    }
    return {node: node.name, summary: {...summary, matched}, stats}
  }
  const resultOf = (o: NodeOutcome<NodeConntrackResult>): NodeConntrackResult =>
    o.ok ? o.value : {node: o.node.name, error: errorOf(o.error)}
  if (!sink) {
    const outcomes = await runOnNodes(session.targets, (n) => readOne(n), {
      concurrency: opts.concurrency,
      perNodeTimeoutMs: session.read.timeoutMs,
    })
    return outcomes.map(resultOf)
  }
  // Streaming: one node at a time, each closed (endNode) before the next begins, so the output stays one well-formed
  // document. A node that timed out is closed with its error, and whatever its abandoned read still produces is
  // dropped instead of landing inside the next node.
  const results: NodeConntrackResult[] = []
  for (const node of session.targets) {
    let open = true
    sink.beginNode(node.name)
    const [outcome] = await runOnNodes(
      [node],
      (n) => readOne(n, (batch) => (open ? sink.entries(n.name, batch) : undefined)),
      {concurrency: 1, perNodeTimeoutMs: session.read.timeoutMs},
    )
    open = false
    const result = resultOf(outcome!)
    sink.endNode(node.name, result)
    results.push(result)
  }
  return results
}
