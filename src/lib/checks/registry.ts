import {archCheck} from './node/arch.js'
import {bpffsCheck} from './node/bpffs.js'
import {btfCheck} from './node/btf.js'
import {calicoMapsCheck} from './node/calico-maps.js'
import {cgroup2Check} from './node/cgroup2.js'
import {felixLogCheck} from './node/felix-log.js'
import {kernelCheck} from './node/kernel.js'
import {kernelConfigCheck} from './node/kernel-config.js'
import {nodeAccessCheck} from './node/node-access.js'
import type {Check, CheckContext} from './types.js'

/**
 * A cluster check whose module is imported on first run: the local `ebpfctl check` path never loads them
 * (start-up time). Cluster checks return no findings without ctx.cluster.
 */
function lazy(id: string, title: string, load: () => Promise<Check>): Check {
  return {
    id,
    title,
    scope: 'cluster',
    async run(ctx: CheckContext) {
      if (!ctx.cluster) return []
      return (await load()).run(ctx)
    },
  }
}

/**
 * Every check, in report order. IDs are stable (README "Check IDs"): --only/--ignore, JSON and JUnit use them.
 * Node checks (scope 'node') run over NodeFacts (this machine, or --nodes); kernel and arch also judge every cluster
 * node from status.nodeInfo. Cluster checks are pure functions of the state read through the API.
 */
export const CHECKS: readonly Check[] = [
  nodeAccessCheck,
  kernelCheck,
  archCheck,
  bpffsCheck,
  cgroup2Check,
  btfCheck,
  kernelConfigCheck,
  calicoMapsCheck,
  felixLogCheck,
  lazy('calico-install', 'Calico install type and version', () =>
    import('./cluster/calico-install.js').then((m) => m.calicoInstallCheck),
  ),
  lazy('calico-health', 'calico-node DaemonSet health', () =>
    import('./cluster/calico-health.js').then((m) => m.calicoHealthCheck),
  ),
  lazy('api-endpoint', 'API-server address for BPF mode', () =>
    import('./cluster/api-endpoint.js').then((m) => m.apiEndpointCheck),
  ),
  lazy('kube-proxy', 'kube-proxy', () =>
    import('./cluster/kube-proxy.js').then((m) => m.kubeProxyCheck),
  ),
  lazy('felix-config', 'FelixConfiguration', () =>
    import('./cluster/felix-config.js').then((m) => m.felixConfigCheck),
  ),
  lazy('ip-pools', 'IP pools and encapsulation', () =>
    import('./cluster/ip-pools.js').then((m) => m.ipPoolsCheck),
  ),
  lazy('platform', 'Platform', () =>
    import('./cluster/platform.js').then((m) => m.platformCheck),
  ),
  lazy('windows', 'Windows nodes', () =>
    import('./cluster/windows.js').then((m) => m.windowsCheck),
  ),
  lazy('hybrid', 'Every Linux node runs the same dataplane', () =>
    import('./cluster/hybrid.js').then((m) => m.hybridCheck),
  ),
]

export const CHECK_IDS: readonly string[] = CHECKS.map((c) => c.id)

export function findCheck(id: string): Check | undefined {
  return CHECKS.find((c) => c.id === id.toLowerCase())
}
