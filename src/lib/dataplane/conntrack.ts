import {type ConntrackEntry, type ConntrackStats, ConntrackStatsAccumulator, DEFAULT_CT_MAP_SIZE} from '../maps/index.js'
import {runOnNodes} from '../nodes/fanout.js'
import type {NodeTarget} from '../nodes/types.js'
import {type EntryFilter, conntrackMatches} from './filter.js'
import {errorOf} from './nat.js'
import {type ConntrackReadSummary, streamConntrack} from './read.js'
import type {DumpSession} from './session.js'
import {bpfMapSizeConntrack} from './targets.js'

export interface ConntrackSink {
  /** Called once per node before its entries, in node order. */
  beginNode(node: string): void
  entries(node: string, entries: ConntrackEntry[]): void
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
  const readOne = async (node: NodeTarget): Promise<NodeConntrackResult> => {
    let matched = 0
    const mapSizeFromConfig = bpfMapSizeConntrack(session.install)
    const acc = opts.stats ? new ConntrackStatsAccumulator({mapSize: mapSizeFromConfig}) : undefined
    sink?.beginNode(node.name)
    const summary = await streamConntrack(session.runner, node, session.read, (batch) => {
      const kept = batch.filter((e) => conntrackMatches(e, opts.filter))
      matched += kept.length
      if (acc) for (const e of kept) acc.add(e)
      if (sink && kept.length) sink.entries(node.name, kept)
    })
    let stats = acc?.result()
    if (stats && mapSizeFromConfig === undefined && summary.mapSize && summary.mapSize !== DEFAULT_CT_MAP_SIZE) {
      // The map's own max_entries is the truth when FelixConfiguration does not say.
      stats = {...stats, mapSize: summary.mapSize, fillRatio: stats.mapEntries / summary.mapSize}
    }
    return {node: node.name, summary: {...summary, matched}, stats}
  }
  const streaming = sink !== undefined
  const outcomes = await runOnNodes(session.targets, readOne, {
    concurrency: streaming ? 1 : opts.concurrency,
    perNodeTimeoutMs: session.read.timeoutMs,
  })
  return outcomes.map((o) => {
    const result: NodeConntrackResult = o.ok ? o.value : {node: o.node.name, error: errorOf(o.error)}
    sink?.endNode(o.node.name, result)
    return result
  })
}

/** Writes `{"apiVersion":…,"kind":"ConntrackDump","nodes":[{"node":…,"entries":[…],…}]}` as it goes. */
export class JsonConntrackSink implements ConntrackSink {
  private buffer: string[] = []
  private size = 0
  private firstNode = true
  private firstEntry = true

  constructor(private readonly write: (text: string) => void) {
    this.push('{"apiVersion":"ebpfctl/v1","kind":"ConntrackDump","nodes":[')
  }

  beginNode(node: string): void {
    this.push(`${this.firstNode ? '' : ','}\n{"node":${JSON.stringify(node)},"entries":[`)
    this.firstNode = false
    this.firstEntry = true
  }

  entries(_node: string, entries: ConntrackEntry[]): void {
    for (const e of entries) {
      this.push((this.firstEntry ? '\n' : ',\n') + JSON.stringify(e))
      this.firstEntry = false
    }
  }

  endNode(_node: string, result: NodeConntrackResult): void {
    const {node: _, ...rest} = result
    const tail = JSON.stringify(rest).slice(1, -1)
    this.push(`]${tail ? `,${tail}` : ''}}`)
  }

  finish(): void {
    this.push('\n]}\n')
    this.flush()
  }

  private push(text: string): void {
    this.buffer.push(text)
    this.size += text.length
    if (this.size >= 1 << 20) this.flush()
  }

  private flush(): void {
    if (this.buffer.length) this.write(this.buffer.join(''))
    this.buffer = []
    this.size = 0
  }
}
