import type {ClusterCheckContext, Finding, NewFinding} from '../types.js'
import {kernelVerdict} from '../kernel.js'
import {clusterKernelVerdicts} from '../node/kernel.js'
import {nameList, plural} from '../util.js'

/**
 * A "hybrid" cluster: some Linux nodes would run BPF and others would fall back to iptables (kernel below Felix's
 * floor, or a node.<name> FelixConfiguration with bpfEnabled: false). NodePort traffic between the two is dropped.
 */
export function run(ctx: ClusterCheckContext, finding: NewFinding): Finding[] {
  const {state} = ctx.cluster
  const verdicts = clusterKernelVerdicts(state.nodes)
  // Node facts (exact /proc/version) win over the API-only inference.
  for (const [name, facts] of ctx.nodeFacts ?? []) {
    if (!verdicts.has(name) || (!facts.procVersion && !facts.unameRv)) continue
    verdicts.set(name, {verdict: kernelVerdict(facts), kernel: facts.unameRv ?? ''})
  }
  const optedOut = new Set(
    state.felixConfigurations
      .filter((f) => f.metadata.name.startsWith('node.') && f.spec?.bpfEnabled === false)
      .map((f) => f.metadata.name.slice(5)),
  )
  const bpf: string[] = []
  const fallback: string[] = []
  for (const [name, {verdict}] of verdicts) {
    if (verdict.felixSupported && !optedOut.has(name)) bpf.push(name)
    else fallback.push(name)
  }
  const data = {bpfNodes: bpf.length, fallbackNodes: fallback.length}
  if (bpf.length === 0 && fallback.length === 0) return [finding('skip', 'no Linux nodes', {data})]
  if (fallback.length === 0) return [finding('pass', `all ${bpf.length} Linux nodes would run BPF`, {data})]
  if (bpf.length === 0) {
    return [finding('pass', `no Linux node would run BPF (all ${fallback.length} would stay on iptables; see kernel)`, {data})]
  }
  return [
    finding('fail', `${plural(bpf.length, 'node')} would run BPF and ${fallback.length} would fall back to iptables: ${nameList(fallback)}`, {
      data,
      detail: 'NodePort and service traffic between BPF and non-BPF nodes is dropped in a mixed cluster.',
      remedy:
        'Upgrade the kernels of the falling-back nodes (or remove their node.<name> bpfEnabled: false ' +
        'override) before enabling BPF.',
    }),
  ]
}
