import {UserError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import type {NodeObject} from '../kube/calico-types.js'
import type {NodeFacts} from './types.js'

/**
 * The seam through which `ebpfctl check --nodes … --via ssh|exec|auto` gets NodeFacts from remote nodes. The same
 * node checks then judge them exactly as they judge this machine's facts.
 */
export type Via = 'ssh' | 'exec' | 'auto'

export interface NodeFactsRequest {
  via: Via
  timeoutMs: number
  kubeconfig?: string
  context?: string
}

export interface NodeFactsResult {
  facts: Map<string, NodeFacts>
  /** Nodes that could not be probed: one line and a remedy each. */
  errors: Map<string, {message: string; remedy?: string}>
}

export type NodeFactsProvider = (kube: KubeClient, nodes: NodeObject[], req: NodeFactsRequest) => Promise<NodeFactsResult>

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

/**
 * The node prober: src/lib/nodes (probeNode over an SshRunner or an ExecRunner, fanned out with runOnNodes), imported
 * only when --nodes is given (ssh2 is heavy). `auto` uses pod exec into calico-node when Calico runs, else SSH.
 */
export async function loadNodeFactsProvider(calicoNamespace?: string): Promise<NodeFactsProvider> {
  const nodesLib = await import('../nodes/index.js')
  return async (kube, nodes, req) => {
    const via = req.via === 'auto' ? (calicoNamespace ? 'exec' : 'ssh') : req.via
    if (via === 'exec' && !calicoNamespace) {
      throw new UserError('--via exec needs calico-node pods, and Calico is not installed', {remedy: 'Use --via ssh.'})
    }
    const runner =
      via === 'exec' ? new nodesLib.ExecRunner({kube, namespace: calicoNamespace!}) : new nodesLib.SshRunner({})
    try {
      const targets = nodes.map((n) => ({name: n.metadata.name, addresses: n.status?.addresses}))
      const outcomes = await nodesLib.runOnNodes(targets, (t) => nodesLib.probeNode(runner, t, {timeoutMs: req.timeoutMs}), {
        perNodeTimeoutMs: req.timeoutMs + 5000,
      })
      const result: NodeFactsResult = {facts: new Map(), errors: new Map()}
      for (const o of outcomes) {
        if (o.ok) result.facts.set(o.node.name, {...o.value, via})
        else result.errors.set(o.node.name, {message: o.error.message, remedy: o.error.remedy})
      }
      return result
    } finally {
      await runner.close()
    }
  }
}
