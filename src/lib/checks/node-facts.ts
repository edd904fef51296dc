import type {NodeRunner, NodeTarget} from '../nodes/types.js'
import type {NodeFacts} from './types.js'

/** What `ebpfctl check --nodes …` learned from the nodes; the node checks judge these facts as they judge this machine's. */
export interface NodeFactsResult {
  facts: Map<string, NodeFacts>
  /** Nodes that could not be probed: one line and a remedy each. */
  errors: Map<string, {message: string; remedy?: string}>
}
/** Probes the nodes through the runner (src/lib/nodes, imported only with --nodes: ssh2 is heavy), fanned out. */
export async function probeNodes(
  runner: NodeRunner,
  targets: NodeTarget[],
  opts: {timeoutMs: number; concurrency: number},
): Promise<NodeFactsResult> {
  const {probeNode, runOnNodes} = await import('../nodes/index.js')
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
