import {UserError} from '../errors.js'
import type {NodeRunner} from '../nodes/types.js'
import type {NodeObject} from '../kube/calico-types.js'
import type {NodeFacts} from './types.js'

/** What `ebpfctl check --nodes …` learned from the nodes; the node checks judge these facts as they judge this machine's. */
export interface NodeFactsResult {
  facts: Map<string, NodeFacts>
  /** Nodes that could not be probed: one line and a remedy each. */
  errors: Map<string, {message: string; remedy?: string}>
}
/** Which cluster nodes `--nodes all|NAME,…` names; unknown names are a usage error. */
export function selectNodes(all: NodeObject[], spec: string): NodeObject[] {
  const linux = all.filter((n) => n.status?.nodeInfo?.operatingSystem?.toLowerCase() !== 'windows')
  if (spec.trim().toLowerCase() === 'all') return linux
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean)
  const byName = new Map(all.map((n) => [n.metadata.name, n]))
  const unknown = names.filter((n) => !byName.has(n))
  if (unknown.length > 0) {
    throw new UserError(`--nodes: no such node${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      remedy: 'List the nodes with kubectl get nodes, or pass --nodes all.',
    })
  }
  return names.map((n) => byName.get(n)!)
}

/** Probes the nodes through the runner (src/lib/nodes, imported only with --nodes: ssh2 is heavy), fanned out. */
export async function probeNodes(
  runner: NodeRunner,
  nodes: NodeObject[],
  opts: {timeoutMs: number; concurrency: number},
): Promise<NodeFactsResult> {
  const {probeNode, runOnNodes} = await import('../nodes/index.js')
  const targets = nodes.map((n) => ({name: n.metadata.name, addresses: n.status?.addresses}))
  const outcomes = await runOnNodes(targets, (t) => probeNode(runner, t, {timeoutMs: opts.timeoutMs}), {
    concurrency: opts.concurrency,
    perNodeTimeoutMs: opts.timeoutMs + 5000,
  })
  const result: NodeFactsResult = {facts: new Map(), errors: new Map()}
  for (const o of outcomes) {
    if (o.ok) result.facts.set(o.node.name, {...o.value, via: runner.via})
    else result.errors.set(o.node.name, {message: o.error.message, remedy: o.error.remedy})
  }
  return result
}
