/**
 * Test support for the enable/revert/status integration tests, on top of the fake API server and its operator
 * simulation (fake-apiserver/operator.ts): Felix's BPF start-up verdict through calico-node pod logs
 * (calico-config.md §3.2, §4.3), cluster fixtures, and the fields enable touches.
 */
import type {FakeApiServer, FakeStore} from './fake-apiserver/index.js'
import {type OperatorSimulation, enableOperatorSimulation} from './fake-apiserver/operator.js'

export const FELIX_ACTIVE_LINE = 'BPF enabled, starting BPF endpoint manager and map manager.'
export const FELIX_FALLBACK_LINE = 'BPF dataplane mode enabled but not supported by the kernel.  Disabling BPF mode.'

const KP_KEY = 'operator.tigera.io/disable-kube-proxy'

/** Felix's minimum kernel (bpf.go distToVersionMap): 5.3.0, RHEL 4.18.0-193. */
export function felixSupportsKernel(kernel: string | undefined): boolean {
  const m = kernel?.match(/^(\d+)\.(\d+)\.(\d+)(?:-(\d+))?/)
  if (!m) return false
  const v = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0)]
  const rhel = /el\d+/.test(kernel!)
  const min = rhel ? [4, 18, 0, 193] : [5, 3, 0, 0]
  for (let i = 0; i < 4; i++) if (v[i] !== min[i]) return v[i]! > min[i]!
  return true
}

/** Is BPF requested for calico-node on this install (FELIX_BPFENABLED env beats FelixConfiguration)? */
function bpfRequested(store: FakeStore, namespace: string): boolean {
  const ds = store.get('apps/v1', 'DaemonSet', 'calico-node', namespace)
  const env = ds?.spec?.template?.spec?.containers
    ?.find((c: any) => c.name === 'calico-node')
    ?.env?.find((e: any) => e.name === 'FELIX_BPFENABLED')
  if (env?.value !== undefined) return String(env.value).toLowerCase() === 'true'
  return store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')?.spec?.bpfEnabled === true
}

/**
 * calico-node logs as Felix writes them: after a start with BPF requested, the active line on nodes whose kernel is
 * at or above Felix's floor, the fallback line below it. `counter` counts log reads.
 */
export function simulateFelixLogs(server: FakeApiServer): {reads: number} {
  const counter = {reads: 0}
  server.setPodLogs((req) => {
    counter.reads++
    const start = '2026-12-01 10:00:00.000 [INFO][1] felix/daemon.go 400: Felix starting up\n'
    if (!bpfRequested(server.store, req.namespace)) return start
    const node = req.node ? server.store.get('v1', 'Node', req.node) : undefined
    if (!felixSupportsKernel(node?.status?.nodeInfo?.kernelVersion)) {
      return (
        `${start}2026-12-01 10:00:01.000 [ERROR][1] felix/daemon.go 1601: ${FELIX_FALLBACK_LINE} ` +
        `error=kernel is too old (have: ${node?.status?.nodeInfo?.kernelVersion} but want at least: 5.3.0)\n`
      )
    }
    return `${start}2026-12-01 10:00:01.000 [INFO][1] felix/int_dataplane.go 1082: ${FELIX_ACTIVE_LINE}\n`
  })
  return counter
}

// ---------------------------------------------------------------------------------------------------------------
// Cluster fixtures for the enable/revert/status integration tests.

import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {connect} from '../../src/lib/kube/connect.js'
import type {KubeClient} from '../../src/lib/kube/client.js'
import {startFakeApiServer} from './fake-apiserver/index.js'
import {type NodeSpec, seedKubeadmBase, seedManifestInstall, seedOperatorInstall} from './fake-apiserver/scenarios.js'

export type ClusterKind = 'operator' | 'operator-v3.30' | 'manifest'

export interface TestCluster {
  server: FakeApiServer
  kubeconfig: string
  kube: KubeClient
  sim?: OperatorSimulation
  logs: {reads: number}
  calicoNamespace: string
  close(): Promise<void>
}

export async function startCluster(
  kind: ClusterKind,
  opts: {
    nodes?: number | NodeSpec[]
    kubeProxySelector?: Record<string, string>
    felix?: Record<string, unknown>
    requestTimeoutMs?: number
    /** Operator installs: the Calico version (default v3.32.1; 'operator-v3.30' kinds v3.30.3). */
    calicoVersion?: string
  } = {},
): Promise<TestCluster> {
  const server = await startFakeApiServer()
  seedKubeadmBase(server.store, {nodes: opts.nodes ?? 3})
  if (kind === 'manifest') seedManifestInstall(server.store)
  else
    seedOperatorInstall(server.store, {
      calicoVersion: opts.calicoVersion ?? (kind === 'operator' ? 'v3.32.1' : 'v3.30.3'),
    })
  const sim = kind === 'manifest' ? undefined : enableOperatorSimulation(server)
  const logs = simulateFelixLogs(server)
  if (opts.kubeProxySelector) {
    const kp = server.store.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
    kp.spec.template.spec.nodeSelector = opts.kubeProxySelector
    server.store.put(kp)
  }
  if (opts.felix) {
    const fc = server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
    fc.spec = {...fc.spec, ...opts.felix}
    server.store.put(fc)
  }
  const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-it-'))
  const kubeconfig = server.writeKubeconfig(dir)
  const kube = await connect({kubeconfig, timeoutMs: opts.requestTimeoutMs ?? 2000})
  server.resetLog()
  return {
    server,
    kubeconfig,
    kube,
    sim,
    logs,
    calicoNamespace: kind === 'manifest' ? 'kube-system' : 'calico-system',
    async close() {
      kube.close()
      await server.close()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** Every field enable touches (and the record), for before/after comparisons. */
export function touchedFields(store: FakeStore, calicoNamespace: string): Record<string, unknown> {
  const inst = store.get('operator.tigera.io/v1', 'Installation', 'default')
  const fc = store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
  const kp = store.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
  const cn = store.get('apps/v1', 'DaemonSet', 'calico-node', calicoNamespace)
  const typha = store.get('apps/v1', 'Deployment', 'calico-typha', calicoNamespace)
  const cnEnv = cn?.spec?.template?.spec?.containers?.find((c: any) => c.name === 'calico-node')?.env ?? []
  return {
    installation: inst
      ? {
          linuxDataplane: inst.spec?.calicoNetwork?.linuxDataplane,
          bpfNetworkBootstrap: inst.spec?.calicoNetwork?.bpfNetworkBootstrap,
          kubeProxyManagement: inst.spec?.calicoNetwork?.kubeProxyManagement,
          hostPorts: inst.spec?.calicoNetwork?.hostPorts,
        }
      : null,
    felix: fc?.spec,
    felixAnnotations: fc?.metadata?.annotations ?? {},
    kubeProxySelector: kp?.spec?.template?.spec?.nodeSelector,
    calicoNodeAnnotations: cn?.spec?.template?.metadata?.annotations ?? {},
    calicoNodeBpfEnv: cnEnv.find((e: any) => e.name === 'FELIX_BPFENABLED') ?? null,
    typhaAnnotations: typha?.spec?.template?.metadata?.annotations ?? {},
    cmOperator: store.get('v1', 'ConfigMap', 'kubernetes-services-endpoint', 'tigera-operator')?.data ?? null,
    cmKubeSystem: store.get('v1', 'ConfigMap', 'kubernetes-services-endpoint', 'kube-system')?.data ?? null,
    record: store.get('v1', 'ConfigMap', 'ebpfctl-state', calicoNamespace) ? 'present' : 'absent',
  }
}

/** The invariant: never kube-proxy disabled while BPF is not active. */
export function kubeProxyOffWithoutBpf(store: FakeStore): boolean {
  const kp = store.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
  const sel = kp?.spec?.template?.spec?.nodeSelector ?? {}
  const off = sel['non-calico'] === 'true' || sel[KP_KEY] === 'true'
  const fc = store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
  return off && fc?.spec?.bpfEnabled !== true
}

/** Watches every store write and remembers whether the invariant was ever broken. */
export function watchInvariant(server: FakeApiServer): {violated: boolean} {
  const w = {violated: false}
  const store = server.store as unknown as {listeners: (() => void)[]}
  store.listeners.push(() => {
    if (kubeProxyOffWithoutBpf(server.store)) w.violated = true
  })
  return w
}
