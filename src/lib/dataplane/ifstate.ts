/**
 * A node's dataplane from its BPF state: Calico's interface-state map says, per interface, whether Felix attached its
 * programs. Read through the agent (`ifstate dump`, JSON where the release has it) or the pinned map with bpftool.
 */
import {IFSTATE_MAPS, type IfaceState, decodeIfstate, parseIfstateJson, parseIfstateText} from '../maps/ifstate.js'
import {NodeAccessError, type NodeRunner, type NodeTarget} from '../nodes/types.js'
import {type DataplaneReadOptions, DataplaneReadError, type ReadSource, limits, noJsonIn, runAgent, withFallback} from './read-maps.js'
import {dumpFirstPinned} from './small-maps.js'

export interface IfstateRead {
  source: ReadSource
  /** undefined: no ifstate map is pinned (Felix has not started the BPF dataplane on this node). */
  interfaces?: IfaceState[]
  /** Which pinned map (bpftool). */
  map?: string
  /** stdout bytes of the read itself. */
  bytes: number
}

/** Reads the ifstate map; `interfaces: undefined` when the map is not pinned (not an error: the node runs iptables). */
export async function readIfstate(runner: NodeRunner, node: NodeTarget, opts: DataplaneReadOptions): Promise<IfstateRead> {
  try {
    return await withFallback<IfstateRead>(
      opts,
      async () => {
        const ran = await runAgent(runner, node, ['ifstate', 'dump'], opts)
        const bytes = Buffer.byteLength(ran.stdout)
        const asJson = ran.json && !noJsonIn(ran.stdout)
        const parsed = asJson ? parseIfstateJson(ran.stdout) : parseIfstateText(ran.stdout)
        const notRead = parsed.unknown[0] ?? parsed.errors?.[0]
        if (parsed.interfaces.length === 0 && notRead !== undefined) {
          throw new DataplaneReadError(
            node.name,
            'not-understood',
            `the Calico BPF tool's ifstate output was not understood: ${JSON.stringify(notRead.slice(0, 120))}`,
            'Read the map directly with --source bpftool, and report the output format with the Calico version.',
          )
        }
        return {source: asJson ? 'agent-json' : 'agent-text', interfaces: parsed.interfaces, bytes}
      },
      async () => {
        const dump = await dumpFirstPinned(runner, node, IFSTATE_MAPS.map((m) => m.name), {
          timeoutMs: opts.timeoutMs,
          maxBytes: limits(opts).whole,
        })
        if (!dump) return {source: 'bpftool', interfaces: undefined, bytes: 0}
        const interfaces = dump.entries.flatMap((e) => (e.value ? (decodeIfstate(e.key, e.value) ?? []) : []))
        return {source: 'bpftool', interfaces, map: dump.name, bytes: dump.bytes}
      },
    )
  } catch (err) {
    // The agent says the maps are missing: same answer as bpftool finding no pin.
    const cause = err instanceof NodeAccessError ? err.cause : err
    if (cause instanceof DataplaneReadError && cause.reason === 'map-missing') return {source: 'agent-text', interfaces: undefined, bytes: 0}
    throw err
  }
}

export type NodeVerdict = 'bpf-ready' | 'bpf-not-attached' | 'iptables' | 'unreachable' | 'unknown'

export interface IfaceSummary {
  total: number
  ready: number
  workloads: number
  hosts: number
  /** Managed interfaces without their programs attached (names, at most 10). */
  notReady: string[]
}

export function summarizeInterfaces(ifaces: IfaceState[]): IfaceSummary {
  const managed = ifaces.filter((i) => !i.flags.includes('notmanaged'))
  return {
    total: ifaces.length,
    ready: managed.filter((i) => i.ready).length,
    workloads: ifaces.filter((i) => i.kind === 'workload').length,
    hosts: ifaces.filter((i) => i.kind === 'host').length,
    notReady: managed.filter((i) => !i.ready).map((i) => i.name).sort().slice(0, 10),
  }
}

/**
 * The node's verdict from its ifstate map. Programs attached on some interface = BPF ready (whatever the
 * configuration says: status reports the disagreement); a map with nothing attached, or no map, = BPF configured but
 * not attached when BPF is configured, else iptables.
 */
export function verdictFromIfstate(
  interfaces: IfaceState[] | undefined,
  configuredBpf: boolean,
): {verdict: NodeVerdict; reason: string; interfaces?: IfaceSummary} {
  if (!interfaces) {
    return configuredBpf
      ? {verdict: 'bpf-not-attached', reason: "no Calico ifstate map (cali_iface*) is pinned: Felix has not started the BPF dataplane here (check its log for 'not supported by the kernel')"}
      : {verdict: 'iptables', reason: 'no Calico ifstate map is pinned'}
  }
  const s = summarizeInterfaces(interfaces)
  if (s.ready > 0) {
    const pending = s.notReady.length ? `; not yet attached: ${s.notReady.join(', ')}` : ''
    return {verdict: 'bpf-ready', reason: `programs attached on ${s.ready}/${s.total} interfaces (${s.hosts} host, ${s.workloads} workload)${pending}`, interfaces: s}
  }
  if (!configuredBpf) return {verdict: 'iptables', reason: `a stale ifstate map is pinned (${s.total} interfaces, none attached)`, interfaces: s}
  return {
    verdict: 'bpf-not-attached',
    reason: s.total ? `the ifstate map lists ${s.total} interfaces, none with programs attached (no v4Ready/v6Ready flag)` : 'the ifstate map is empty: Felix attached programs to no interface',
    interfaces: s,
  }
}
