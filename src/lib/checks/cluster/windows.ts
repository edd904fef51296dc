import type {ClusterCheckContext, Finding, NewFinding} from '../types.js'
import {isWindows} from '../node/kernel.js'
import {nameList, plural} from '../util.js'

export function run(ctx: ClusterCheckContext, finding: NewFinding): Finding[] {
  const windows = ctx.cluster.state.nodes.filter(isWindows).map((n) => n.metadata.name)
  if (windows.length === 0) return [finding('pass', 'no Windows nodes', {data: {windows: 0}})]
  return [
    finding('fail', `${plural(windows.length, 'Windows node')}: ${nameList(windows)}`, {
      data: {windows: windows.length},
      detail: "Calico's eBPF dataplane does not support clusters mixing BPF Linux nodes with Windows nodes.",
      remedy: 'Keep the iptables/nftables dataplane on this cluster, or move Windows workloads to another cluster.',
    }),
  ]
}
