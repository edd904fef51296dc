import type {DaemonSetObject} from '../../kube/objects.js'
import type {ClusterCheckContext, Finding, NewFinding} from '../types.js'
import {bpfEnabledInCluster} from '../util.js'
import {kubeLib} from './kube-lib.js'

export const DISABLE_SELECTORS = ['non-calico', 'operator.tigera.io/disable-kube-proxy'] as const

/** Labels/annotations meaning "something else owns this DaemonSet and will undo a patch". */
export function platformManagedMarkers(ds: DaemonSetObject): string[] {
  const labels = ds.metadata.labels ?? {}
  const annotations = ds.metadata.annotations ?? {}
  const markers: string[] = []
  for (const key of ['addonmanager.kubernetes.io/mode', 'app.kubernetes.io/managed-by', 'eks.amazonaws.com/component', 'kubernetes.azure.com/managedby']) {
    if (labels[key] !== undefined) markers.push(`label ${key}=${labels[key]}`)
  }
  for (const key of Object.keys(labels)) {
    if (key.startsWith('components.gke.io/') || key === 'k8s-app.gke.io') markers.push(`label ${key}`)
  }
  for (const key of ['argocd.argoproj.io/tracking-id', 'eks.amazonaws.com/addon-version']) {
    if (annotations[key] !== undefined) markers.push(`annotation ${key}`)
  }
  return markers
}

export async function run(ctx: ClusterCheckContext, finding: NewFinding): Promise<Finding[]> {
  const {state, install} = ctx.cluster
  const {kubeProxyMode} = await kubeLib()
  const ds = install.kubeProxy
  const out: Finding[] = []
  if (!ds) {
    return [finding('pass', 'no kube-proxy DaemonSet (nothing to disable)', {data: {present: false}})]
  }
  const where = `${ds.metadata.namespace}/${ds.metadata.name}`
  const selector = ds.spec?.template?.spec?.nodeSelector ?? {}
  const disabledBy = DISABLE_SELECTORS.filter((k) => selector[k] !== undefined)
  const desired = ds.status?.desiredNumberScheduled ?? 0
  const ready = ds.status?.numberReady ?? 0
  const mode = kubeProxyMode(state)
  const markers = platformManagedMarkers(ds)
  const managed = markers.length > 0
  const data = {present: true, desired, ready, disabledBy, mode: mode ?? null, platformManaged: markers}
  const modeText = mode === undefined ? 'mode unknown (no kube-proxy ConfigMap)' : `mode ${mode || 'iptables (default)'}`
  if (disabledBy.length > 0) {
    out.push(finding('pass', `${where} is disabled by nodeSelector ${disabledBy.join(', ')} (${ready}/${desired} pods)`, {data}))
  } else {
    out.push(finding('pass', `${where}: ${ready}/${desired} ready, ${modeText}`, {data}))
  }
  if (mode === 'ipvs' && (disabledBy.length === 0 || desired > 0)) {
    out.push(
      finding('warn', 'kube-proxy runs in IPVS mode: its kube-ipvs0 device and IPVS rules stay behind and break BPF service handling', {
        remedy:
          'Switch kube-proxy to iptables first: set mode: iptables in ConfigMap kube-system/kube-proxy (config.conf), ' +
          'kubectl rollout restart ds/kube-proxy -n kube-system, then reboot each node (or ip link delete ' +
          'kube-ipvs0 and ipvsadm -C).',
      }),
    )
  }
  const running = disabledBy.length === 0
  if (managed && running) {
    out.push(
      finding('warn', `${where} is platform-managed (${markers.join(', ')}): a nodeSelector patch would be reverted`, {
        remedy:
          "Disable kube-proxy with the platform's own tool (EKS: remove the kube-proxy add-on; kOps: kubeProxy.enabled: false), " +
          'or keep it running with bpfKubeProxyIptablesCleanupEnabled: false and bpfKubeProxyHealthzPort: 0.',
      }),
    )
  }
  // If kube-proxy keeps running next to BPF, Felix must not fight it.
  const bpfOn = bpfEnabledInCluster(ctx) === true
  if (running && (managed || bpfOn)) {
    const felix = install.felixDefault?.spec ?? {}
    const cleanup = felix.bpfKubeProxyIptablesCleanupEnabled ?? true
    const healthz = felix.bpfKubeProxyHealthzPort ?? 10256
    const bad: string[] = []
    if (cleanup !== false) bad.push(`bpfKubeProxyIptablesCleanupEnabled is ${cleanup} (Felix deletes kube-proxy's rules, kube-proxy re-creates them)`)
    if (healthz !== 0) bad.push(`bpfKubeProxyHealthzPort is ${healthz} (clashes with kube-proxy's :10256 healthz)`)
    if (bad.length > 0) {
      out.push(
        finding(bpfOn ? 'fail' : 'warn', `kube-proxy will keep running, but ${bad.join('; ')}`, {
          remedy: `kubectl patch felixconfiguration default --type merge -p '{"spec":{"bpfKubeProxyIptablesCleanupEnabled":false,"bpfKubeProxyHealthzPort":0}}'`,
          // enable's kube-proxy step resolves exactly this (it is the state half-way through an enable).
          data: {reason: 'coexistence'},
        }),
      )
    }
  }
  return out
}
