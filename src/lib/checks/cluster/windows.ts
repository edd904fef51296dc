import type {Check} from '../types.js'
import {isWindows} from '../node/kernel.js'
import {finding, nameList, plural} from '../util.js'

export const windowsCheck: Check = {
  id: 'windows',
  title: 'Windows nodes',
  scope: 'cluster',
  run(ctx) {
    if (!ctx.cluster) return []
    const windows = ctx.cluster.state.nodes.filter(isWindows).map((n) => n.metadata.name)
    if (windows.length === 0) return [finding('windows', 'pass', 'no Windows nodes', {data: {windows: 0}})]
    return [
      finding('windows', 'fail', `${plural(windows.length, 'Windows node')}: ${nameList(windows)}`, {
        data: {windows: windows.length},
        detail: "Calico's eBPF dataplane does not support clusters mixing BPF Linux nodes with Windows nodes.",
        remedy: 'Keep the iptables/nftables dataplane on this cluster, or move Windows workloads to another cluster.',
      }),
    ]
  },
}
