import type {DaemonSetObject} from '../kube/calico-types.js'
import type {KubeClient} from '../kube/client.js'
import {assessApiEndpoint} from '../kube/api-endpoint.js'
import {collectClusterState, detectInstall} from '../kube/cluster.js'
import {UserError} from '../errors.js'
import {paint} from '../output/color.js'
import {type EnableRecord, readRecord} from './record.js'
import {RecordError} from './record-check.js'
import {NON_CALICO_KEY, OPERATOR_KUBE_PROXY_KEY} from './steps.js'
import {type NodeDataplane, type NodeReport, readNodeDataplanes} from './waits.js'

/** A node's dataplane as status shows it: Felix's log verdict, and `iptables` for a node that never started BPF. */
export type StatusDataplane = NodeDataplane | 'iptables'

export interface StatusReport {
  install: {type: string; calicoNamespace?: string; calicoVersion?: string}
  configured: {bpf: boolean; source: string; value: string; felixBpfEnabled?: boolean}
  nodes: {
    total: number
    groups: {dataplane: StatusDataplane; count: number; nodes: string[]}[]
    /** Nodes whose calico-node log could not be read, and why (their verdict is unknown). */
    unreadable: {node: string; error: string}[]
  }
  calicoNode: {desired: number; ready: number; updated: number}
  kubeProxy: {state: 'absent' | 'running' | 'disabled' | 'kept'; desired: number; ready: number; selectorKeys: string[]}
  dsr: {mode: string; explicit: boolean}
  apiAddress: {source: 'configmap' | 'bootstrap' | 'none'; namespace?: string; endpoint?: string}
  record?: {status: string; createdAt: string; updatedAt: string; steps: string[]}
  /** Why the record in the cluster is not trusted (RecordError), when it is not. */
  recordProblem?: string
  disagreements: string[]
}

/**
 * Configured vs running: what the Installation/FelixConfiguration/env asks for, and per node what Felix's log says
 * (one log read per calico-node pod, concurrency-limited, after a fixed number of list requests).
 */
export async function collectStatus(kube: KubeClient, opts: {logConcurrency?: number} = {}): Promise<StatusReport> {
  const state = await collectClusterState(kube)
  const install = detectInstall(state)
  if (install.type === 'none') {
    throw new UserError('Calico is not installed in this cluster (no Installation default and no calico-node DaemonSet)', {
      remedy: 'Check the kubeconfig context (--context), or install Calico first.',
    })
  }
  const fc = install.felixDefault
  const felixBpfEnabled = fc?.spec?.bpfEnabled
  let configured: StatusReport['configured']
  if (install.type === 'operator') {
    const dp = state.installation?.spec?.calicoNetwork?.linuxDataplane ?? 'Iptables'
    configured = {
      bpf: dp === 'BPF',
      source: 'Installation default spec.calicoNetwork.linuxDataplane',
      value: dp,
      felixBpfEnabled,
    }
  } else if (install.felixBpfEnabledEnv) {
    const v = install.felixBpfEnabledEnv.value
    configured = {
      bpf: install.felixBpfEnabledEnv.enabled === true,
      source: 'calico-node env FELIX_BPFENABLED',
      value: v,
      felixBpfEnabled,
    }
  } else {
    configured = {
      bpf: felixBpfEnabled === true,
      source: 'FelixConfiguration default spec.bpfEnabled',
      value: String(felixBpfEnabled ?? false),
      felixBpfEnabled,
    }
  }
  let recordProblem: string | undefined
  const [reports, record] = await Promise.all([
    install.calicoNamespace
      ? readNodeDataplanes(kube, install.calicoNamespace, {concurrency: opts.logConcurrency ?? 16})
      : Promise.resolve([] as NodeReport[]),
    install.calicoNamespace
      ? readRecord(kube, {install, state, namespace: install.calicoNamespace}).then(
          (r) => r.record,
          (err: unknown) => {
            // status only shows the record: an untrusted one is reported, not fatal.
            if (err instanceof RecordError) recordProblem = err.message
            else throw err
            return undefined
          },
        )
      : Promise.resolve(undefined as EnableRecord | undefined),
  ])
  // With BPF configured off, a node whose log was read and shows no BPF start runs the iptables (or nftables) dataplane.
  const verdict = (r: NodeReport): StatusDataplane =>
    !configured.bpf && r.dataplane === 'unknown' && r.error === undefined ? 'iptables' : r.dataplane
  const groups = (['bpf', 'fallen-back', 'iptables', 'unknown'] as const)
    .map((dataplane) => {
      const nodes = reports
        .filter((r) => verdict(r) === dataplane)
        .map((r) => r.node)
        .sort()
      return {dataplane, count: nodes.length, nodes}
    })
    .filter((g) => g.count > 0)
  const cn = install.calicoNode?.status
  const kp = install.kubeProxy as DaemonSetObject | undefined
  const selector = kp?.spec?.template?.spec?.nodeSelector ?? {}
  const selectorKeys = Object.keys(selector)
  const offKey = selector[NON_CALICO_KEY] === 'true' || selector[OPERATOR_KUBE_PROXY_KEY] === 'true'
  const kpDesired = kp?.status?.desiredNumberScheduled ?? 0
  const kubeProxyState: StatusReport['kubeProxy']['state'] = !kp
    ? 'absent'
    : offKey && kpDesired === 0
      ? 'disabled'
      : fc?.spec?.bpfKubeProxyIptablesCleanupEnabled === false
        ? 'kept'
        : 'running'
  const assessment = assessApiEndpoint(state, install, kube.server)
  const conf = assessment?.configured
  const apiAddress: StatusReport['apiAddress'] =
    conf?.source === 'configmap'
      ? {
          source: 'configmap',
          namespace: conf.namespace,
          endpoint: conf.endpoint ? `${conf.endpoint.host}:${conf.endpoint.port}` : undefined,
        }
      : conf?.source === 'bootstrap'
        ? {source: 'bootstrap'}
        : {source: 'none'}
  const count = (d: StatusDataplane) => groups.find((g) => g.dataplane === d)?.count ?? 0
  const disagreements: string[] = []
  if (configured.bpf && count('fallen-back') > 0) {
    disagreements.push(
      `BPF is configured but ${count('fallen-back')} node(s) fell back to iptables (kernel not supported)`,
    )
  }
  if (configured.bpf && install.type === 'operator' && felixBpfEnabled !== true) {
    disagreements.push(
      'the Installation asks for BPF but FelixConfiguration default does not have bpfEnabled: true (yet)',
    )
  }
  if (!configured.bpf && count('bpf') > 0) {
    disagreements.push(`BPF is configured off but ${count('bpf')} node(s) still report the BPF dataplane`)
  }
  if (configured.bpf && kubeProxyState === 'running') {
    disagreements.push(
      'kube-proxy is running next to BPF with bpfKubeProxyIptablesCleanupEnabled (the default): Felix removes ' +
        "kube-proxy's rules while kube-proxy rewrites them; disable kube-proxy (ebpfctl enable) or set it false",
    )
  }
  const unreadable = reports
    .filter((r) => r.error !== undefined)
    .map((r) => ({node: r.node, error: r.error!}))
    .sort((a, b) => a.node.localeCompare(b.node))
  if (unreadable.length > 0) {
    disagreements.push(
      `the dataplane of ${unreadable.length} node(s) cannot be read from their calico-node logs ` +
        `(${unreadable[0]!.node}: ${unreadable[0]!.error})`,
    )
  }
  if (kubeProxyState === 'disabled' && (!configured.bpf || count('fallen-back') > 0)) {
    disagreements.push(
      'kube-proxy is disabled but BPF is not active everywhere: Services are not handled on those nodes',
    )
  }
  return {
    install: {type: install.type, calicoNamespace: install.calicoNamespace, calicoVersion: install.calicoVersion},
    configured,
    nodes: {total: reports.length, groups, unreadable},
    calicoNode: {
      desired: cn?.desiredNumberScheduled ?? 0,
      ready: cn?.numberReady ?? 0,
      updated: cn?.updatedNumberScheduled ?? 0,
    },
    kubeProxy: {state: kubeProxyState, desired: kpDesired, ready: kp?.status?.numberReady ?? 0, selectorKeys},
    dsr: {mode: fc?.spec?.bpfExternalServiceMode ?? 'Tunnel', explicit: fc?.spec?.bpfExternalServiceMode !== undefined},
    apiAddress,
    record: record
      ? {
          status: record.status,
          createdAt: record.createdAt,
          updatedAt: record.updatedAt,
          steps: [...new Set(record.entries.map((e) => e.stepId))],
        }
      : undefined,
    ...(recordProblem ? {recordProblem} : {}),
    disagreements,
  }
}

const LABEL: Record<StatusDataplane, string> = {
  bpf: 'BPF active',
  'fallen-back': 'fallen back to iptables',
  iptables: 'iptables (BPF off)',
  unknown: 'unknown',
}

// check's colours for the same meanings: as wanted (pass), needs a look (warn), broken (fail), not applicable (skip).
const TONE: Record<StatusDataplane, (s: string) => string> = {
  bpf: paint.pass,
  'fallen-back': paint.fail,
  iptables: paint.skip,
  unknown: paint.warn,
}

/** Human-readable status; nodes grouped by dataplane (names listed up to `maxNames` per group). */
export function renderStatus(s: StatusReport, maxNames = 10): string {
  const lines: string[] = []
  const version = s.install.calicoVersion ? ` (Calico ${s.install.calicoVersion})` : ''
  lines.push(`Install:           ${s.install.type}${version}, namespace ${s.install.calicoNamespace ?? '-'}`)
  lines.push(
    `Configured:        ${s.configured.bpf ? 'BPF' : 'not BPF'} (${s.configured.source}: ${s.configured.value})`,
  )
  if (s.configured.felixBpfEnabled !== undefined) lines.push(`Felix bpfEnabled:  ${s.configured.felixBpfEnabled}`)
  const cn = s.calicoNode
  lines.push(`calico-node:       ${cn.ready}/${cn.desired} Ready, ${cn.updated}/${cn.desired} updated`)
  lines.push(`Nodes (${s.nodes.total}):`)
  for (const g of s.nodes.groups) {
    const more = g.nodes.length - maxNames
    const names = more <= 0 ? g.nodes.join(', ') : `${g.nodes.slice(0, maxNames).join(', ')} and ${more} more`
    const listed = g.dataplane === 'bpf' && more > 0 ? '' : ` (${names})`
    lines.push(`  ${TONE[g.dataplane](LABEL[g.dataplane])}: ${g.count}${listed}`)
  }
  for (const u of s.nodes.unreadable.slice(0, maxNames)) lines.push(`  ${paint.warn('cannot read')} ${u.node}: ${u.error}`)
  if (s.nodes.unreadable.length > maxNames) lines.push(`  cannot read ${s.nodes.unreadable.length - maxNames} more`)
  const kp = s.kubeProxy
  const kpDetail =
    kp.state === 'absent'
      ? ''
      : ` (${kp.ready}/${kp.desired} Ready; nodeSelector keys: ${kp.selectorKeys.join(', ') || 'none'})`
  lines.push(`kube-proxy:        ${kp.state}${kpDetail}`)
  lines.push(`External services: ${s.dsr.mode}${s.dsr.explicit ? '' : ' (default)'}`)
  const api = s.apiAddress
  const apiText =
    api.source === 'configmap'
      ? `ConfigMap ${api.namespace}/kubernetes-services-endpoint (${api.endpoint ?? 'incomplete'})`
      : api.source === 'bootstrap'
        ? 'bpfNetworkBootstrap (operator)'
        : 'none (calico-node uses the kubernetes Service)'
  lines.push(`API address:       ${apiText}`)
  const rec = s.record
  lines.push(
    `Enable record:     ${
      rec
        ? `${rec.status}, updated ${rec.updatedAt} (steps: ${rec.steps.join(', ')})`
        : s.recordProblem
          ? `not trusted: ${s.recordProblem}`
          : 'none'
    }`,
  )
  if (s.disagreements.length) {
    lines.push(paint.fail('Disagreements:'))
    for (const d of s.disagreements) lines.push(`  ${paint.fail('-')} ${d}`)
  } else lines.push(paint.pass('Configuration and nodes agree.'))
  return lines.join('\n')
}
