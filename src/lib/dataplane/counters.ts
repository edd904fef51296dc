/**
 * `ebpfctl dataplane counters`: per node, what Calico's BPF programs did with packets (accepted, dropped by reason,
 * redirected), summed over interfaces and hooks, drop reasons with the most packets first.
 */
import {COUNTERS_MAPS, type CountersSummary, type IfaceCounters, countersFromMap, parseCountersJson, parseCountersText, summarizeCounters} from '../maps/counters.js'
import {IFSTATE_MAPS, decodeIfstate} from '../maps/ifstate.js'
import {runOnNodes} from '../nodes/fanout.js'
import type {NodeRunner, NodeTarget} from '../nodes/types.js'
import {errorOf} from './nat-dump.js'
import {type DataplaneReadOptions, DataplaneReadError, type ReadSource, limits, noJsonIn, notActive, runAgent, withFallback} from './read-maps.js'
import type {DumpSession} from './dump-session.js'
import {dumpFirstPinned} from './small-maps.js'

export interface NodeCountersResult {
  node: string
  source?: ReadSource
  summary?: CountersSummary
  interfaces?: IfaceCounters[]
  error?: {reason: string; message: string; remedy?: string}
}

export interface CountersReport {
  apiVersion: 'ebpfctl/v1'
  kind: 'DataplaneCounters'
  nodes: NodeCountersResult[]
  /** Drop reasons over every node that was read, most packets first, with the nodes that drop most. */
  fleet: {reason: string; packets: number; nodes: {node: string; packets: number}[]}[]
}

export async function readCounters(
  runner: NodeRunner,
  node: NodeTarget,
  opts: DataplaneReadOptions,
): Promise<{source: ReadSource; interfaces: IfaceCounters[]}> {
  return withFallback<{source: ReadSource; interfaces: IfaceCounters[]}>(
    opts,
    async () => {
      const ran = await runAgent(runner, node, ['counters', 'dump'], opts)
      const json = ran.json && !noJsonIn(ran.stdout)
      const text = json ? undefined : parseCountersText(ran.stdout)
      const parsed = text ?? parseCountersJson(ran.stdout)
      const errors = text?.errors ?? []
      if (parsed.interfaces.length === 0 && (parsed.unknown > 0 || errors.length > 0)) {
        const why = errors[0] ?? text?.samples[0]
        throw new DataplaneReadError(
          node.name,
          'not-understood',
          `the Calico BPF tool's counters output was not understood${why ? `: ${JSON.stringify(why.slice(0, 120))}` : ''}`,
          'Read the map directly with --source bpftool.',
        )
      }
      return {source: json ? 'agent-json' : 'agent-text', interfaces: parsed.interfaces}
    },
    async () => {
      const maxBytes = limits(opts).whole
      const dump = await dumpFirstPinned(runner, node, COUNTERS_MAPS, {timeoutMs: opts.timeoutMs, maxBytes})
      if (!dump) throw notActive(node.name, 'no cali_counters* map is pinned')
      // Interface names: the ifstate map knows every interface Calico attached to.
      const ifstate = await dumpFirstPinned(runner, node, IFSTATE_MAPS.map((m) => m.name), {timeoutMs: opts.timeoutMs, maxBytes}).catch(() => undefined)
      const names = new Map<number, string>()
      for (const e of ifstate?.entries ?? []) {
        const s = e.value ? decodeIfstate(e.key, e.value) : undefined
        if (s) names.set(s.ifindex, s.name)
      }
      const entries = dump.entries.filter((e): e is {key: Uint8Array; values: Uint8Array[]} => Array.isArray(e.values))
      return {source: 'bpftool' as const, interfaces: countersFromMap(entries, (i) => names.get(i))}
    },
  )
}

export async function countersReport(session: DumpSession, opts: {concurrency: number; withInterfaces: boolean}): Promise<CountersReport> {
  const outcomes = await runOnNodes(session.targets, (n) => readCounters(session.runner, n, session.read), {
    concurrency: opts.concurrency,
    perNodeTimeoutMs: session.read.timeoutMs,
  })
  const nodes = outcomes.map((o): NodeCountersResult => {
    if (!o.ok) return {node: o.node.name, error: errorOf(o.error)}
    const summary = summarizeCounters(o.value.interfaces)
    return {node: o.node.name, source: o.value.source, summary, ...(opts.withInterfaces ? {interfaces: o.value.interfaces} : {})}
  })
  const fleet = new Map<string, {reason: string; packets: number; nodes: {node: string; packets: number}[]}>()
  for (const n of nodes) {
    for (const d of n.summary?.drops ?? []) {
      const f = fleet.get(d.reason) ?? {reason: d.reason, packets: 0, nodes: []}
      f.packets += d.packets
      f.nodes.push({node: n.node, packets: d.packets})
      fleet.set(d.reason, f)
    }
  }
  const list = [...fleet.values()].sort((a, b) => b.packets - a.packets || a.reason.localeCompare(b.reason))
  for (const f of list) f.nodes.sort((a, b) => b.packets - a.packets || a.node.localeCompare(b.node))
  return {apiVersion: 'ebpfctl/v1', kind: 'DataplaneCounters', nodes, fleet: list}
}
