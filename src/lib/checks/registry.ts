import * as arch from './node/arch.js'
import * as bpffs from './node/bpffs.js'
import * as btf from './node/btf.js'
import * as calicoMaps from './node/calico-maps.js'
import * as cgroup2 from './node/cgroup2.js'
import * as felixLog from './node/felix-log.js'
import * as kernel from './node/kernel.js'
import * as kernelConfig from './node/kernel-config.js'
import * as nodeAccess from './node/node-access.js'
import type {Check, CheckContext, CheckRun, ClusterCheckContext, NewFinding} from './types.js'
import {finding} from './util.js'

/** The finding builder of one check: the id is written here, once. */
const findingsOf =
  (id: string): NewFinding =>
  (status, summary, extra) =>
    finding(id, status, summary, extra)

/** A node check (scope 'node'): runs over NodeFacts (this machine, or --nodes); loaded with the registry. */
function nodeCheck(id: string, title: string, run: CheckRun): Check {
  const found = findingsOf(id)
  return {id, title, scope: 'node', run: (ctx) => run(ctx, found)}
}

/**
 * A cluster check, its module imported on first run: the local `ebpfctl check` path never loads them (start-up
 * time). Without ctx.cluster it returns no findings, so its logic always has the cluster.
 */
function clusterCheck(id: string, title: string, load: () => Promise<{run: CheckRun<ClusterCheckContext>}>): Check {
  const found = findingsOf(id)
  return {
    id,
    title,
    scope: 'cluster',
    async run(ctx: CheckContext) {
      if (!ctx.cluster) return []
      return (await load()).run(ctx as ClusterCheckContext, found)
    },
  }
}

/**
 * Every check, in report order: its id, title and scope are written here and nowhere else. IDs are stable (README
 * "Check IDs"): --only/--ignore, JSON and JUnit use them. Kernel and arch also judge every cluster node from
 * status.nodeInfo. Cluster checks are pure functions of the state read through the API.
 */
export const CHECKS: readonly Check[] = [
  nodeCheck('node-access', 'Node access (--nodes)', nodeAccess.run),
  nodeCheck('kernel', 'Kernel version (Felix rule)', kernel.run),
  nodeCheck('arch', 'Architecture is little-endian', arch.run),
  nodeCheck('bpffs', 'BPF filesystem at /sys/fs/bpf', bpffs.run),
  nodeCheck('cgroup2', 'cgroup v2 (connect-time load balancing)', cgroup2.run),
  nodeCheck('btf', 'Kernel BTF (/sys/kernel/btf/vmlinux)', btf.run),
  nodeCheck('kernel-config', 'Kernel config for eBPF', kernelConfig.run),
  nodeCheck('calico-maps', "Calico's BPF maps are pinned", calicoMaps.run),
  nodeCheck('felix-log', "Felix's BPF start-up line in the calico-node log", felixLog.run),
  clusterCheck('calico-install', 'Calico install type and version', () => import('./cluster/calico-install.js')),
  clusterCheck('calico-health', 'calico-node DaemonSet health', () => import('./cluster/calico-health.js')),
  clusterCheck('api-endpoint', 'API-server address for BPF mode', () => import('./cluster/api-endpoint.js')),
  clusterCheck('kube-proxy', 'kube-proxy', () => import('./cluster/kube-proxy.js')),
  clusterCheck('felix-config', 'FelixConfiguration', () => import('./cluster/felix-config.js')),
  clusterCheck('ip-pools', 'IP pools and encapsulation', () => import('./cluster/ip-pools.js')),
  clusterCheck('platform', 'Platform', () => import('./cluster/platform.js')),
  clusterCheck('windows', 'Windows nodes', () => import('./cluster/windows.js')),
  clusterCheck('hybrid', 'Every Linux node runs the same dataplane', () => import('./cluster/hybrid.js')),
]

export const CHECK_IDS: readonly string[] = CHECKS.map((c) => c.id)

export function findCheck(id: string): Check | undefined {
  return CHECKS.find((c) => c.id === id.toLowerCase())
}
