import type {DaemonSetObject} from './kube/objects.js'
import type {KubeClient} from './kube/client.js'
import {assessApiEndpoint} from './kube/api-endpoint.js'
import {collectClusterState, detectInstall} from './kube/cluster.js'
import type {DataplaneReadOptions} from './dataplane/read-maps.js'
import type {IfaceSummary, NodeVerdict} from './dataplane/ifstate.js'
import {linuxNodes} from './nodes/select.js'
import type {NodeRunner, NodeTarget} from './nodes/types.js'
import {UserError} from './errors.js'
import {FALLBACK_LOG_LIMIT_BYTES, readNodeDataplanes, verdictFromFelixLog} from './felix-log.js'
import {type EnableRecord, readRecord} from './plan/record.js'
import {RecordError} from './plan/record-check.js'
import {NON_CALICO_KEY, OPERATOR_KUBE_PROXY_KEY} from './plan/steps.js'

/** A node's dataplane as status shows it. */
export type StatusDataplane = NodeVerdict

/** Where a node's verdict came from: its BPF state (ifstate map), or Felix's start-up log line (the fallback). */
export type VerdictSource = 'ifstate-agent-json' | 'ifstate-agent-text' | 'ifstate-bpftool' | 'felix-log'

export interface NodeStatus {
  node: string
  verdict: NodeVerdict
  source: VerdictSource
  reason: string
  interfaces?: IfaceSummary
  /** With source felix-log while the dataplane was asked: why the node's BPF state could not be read. */
  dataplaneError?: string
}

/** How status reads each node: its BPF state through a NodeRunner (with the log as fallback), or only the log. */
export interface StatusNodeReader {
  runner: NodeRunner
  read: DataplaneReadOptions
  concurrency: number
  /** false: no fallback to Felix's log line for nodes whose BPF state cannot be read. */
  logFallback: boolean
}

export interface StatusReport {
  install: {type: string; calicoNamespace?: string; calicoVersion?: string}
  configured: {bpf: boolean; source: string; value: string; felixBpfEnabled?: boolean}
  nodes: {
    total: number
    groups: {dataplane: StatusDataplane; count: number; nodes: string[]}[]
    /** Every node's verdict, source and reason, sorted by name. */
    list: NodeStatus[]
    /** Nodes that could not be read at all, and why. */
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
export async function collectStatus(
  kube: KubeClient,
  opts: {
    logConcurrency?: number
    /** Opens the reader for the nodes' BPF state once Calico's namespace and version are known; none: the log only. */
    nodes?: (calico: {namespace: string; version?: string; image?: string}) => Promise<StatusNodeReader>
  } = {},
): Promise<StatusReport> {
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
  const [list, record] = await Promise.all([
    install.calicoNamespace
      ? nodeStatuses(kube, install.calicoNamespace, linuxNodes(state.nodes), configured.bpf, {
          logConcurrency: opts.logConcurrency,
          nodes: await opts.nodes?.({
            namespace: install.calicoNamespace,
            version: install.calicoVersion,
            image: install.calicoNode?.spec?.template?.spec?.containers?.find((c) => c.name === 'calico-node')?.image,
          }),
        })
      : Promise.resolve([] as NodeStatus[]),
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
  const groups = (['bpf-ready', 'bpf-not-attached', 'iptables', 'unknown', 'unreachable'] as const)
    .map((dataplane) => {
      const nodes = list.filter((r) => r.verdict === dataplane).map((r) => r.node)
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
  const notAttached = list.filter((n) => n.verdict === 'bpf-not-attached')
  if (configured.bpf && notAttached.length > 0) {
    disagreements.push(
      `BPF is configured but not attached on ${notAttached.length} node(s) (${notAttached[0]!.node}: ${notAttached[0]!.reason})`,
    )
  }
  if (configured.bpf && install.type === 'operator' && felixBpfEnabled !== true) {
    disagreements.push(
      'the Installation asks for BPF but FelixConfiguration default does not have bpfEnabled: true (yet)',
    )
  }
  if (!configured.bpf && count('bpf-ready') > 0) {
    disagreements.push(`BPF is configured off but ${count('bpf-ready')} node(s) still have BPF programs attached or report the BPF dataplane`)
  }
  if (configured.bpf && kubeProxyState === 'running') {
    disagreements.push(
      'kube-proxy is running next to BPF with bpfKubeProxyIptablesCleanupEnabled (the default): Felix removes ' +
        "kube-proxy's rules while kube-proxy rewrites them; disable kube-proxy (ebpfctl enable) or set it false",
    )
  }
  const unreadable = list.filter((r) => r.verdict === 'unreachable').map((r) => ({node: r.node, error: r.reason}))
  if (unreadable.length > 0) {
    disagreements.push(
      `the dataplane of ${unreadable.length} node(s) cannot be read ` + `(${unreadable[0]!.node}: ${unreadable[0]!.error})`,
    )
  }
  if (kubeProxyState === 'disabled' && (!configured.bpf || notAttached.length > 0)) {
    disagreements.push(
      'kube-proxy is disabled but BPF is not active everywhere: Services are not handled on those nodes',
    )
  }
  return {
    install: {type: install.type, calicoNamespace: install.calicoNamespace, calicoVersion: install.calicoVersion},
    configured,
    nodes: {total: list.length, groups, list, unreadable},
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

/**
 * Per node: the ifstate map through the runner (concurrency-bounded, each read bounded in bytes and time), then, only
 * for nodes whose BPF state could not be read, Felix's log line. Without a reader: the log line for every node.
 */
async function nodeStatuses(
  kube: KubeClient,
  namespace: string,
  targets: NodeTarget[],
  configuredBpf: boolean,
  opts: {logConcurrency?: number; nodes?: StatusNodeReader},
): Promise<NodeStatus[]> {
  const logConcurrency = opts.logConcurrency ?? 16
  const byName = (a: {node: string}, b: {node: string}) => a.node.localeCompare(b.node)
  const reader = opts.nodes
  if (!reader) {
    const reports = await readNodeDataplanes(kube, namespace, {
      concurrency: logConcurrency,
      tailLines: null,
      limitBytes: FALLBACK_LOG_LIMIT_BYTES,
    })
    return reports.map((r) => verdictFromFelixLog(r, configuredBpf)).sort(byName)
  }
  const [{runOnNodes}, {readIfstate, verdictFromIfstate}, {errorOf}] = await Promise.all([
    import('./nodes/fanout.js'),
    import('./dataplane/ifstate.js'),
    import('./dataplane/nat-dump.js'),
  ])
  const outcomes = await runOnNodes(targets, (n) => readIfstate(reader.runner, n, reader.read), {
    concurrency: reader.concurrency,
    perNodeTimeoutMs: reader.read.timeoutMs,
  })
  const out: NodeStatus[] = []
  const failed = new Map<string, string>()
  for (const o of outcomes) {
    if (o.ok) {
      const v = verdictFromIfstate(o.value.interfaces, configuredBpf)
      out.push({node: o.node.name, source: `ifstate-${o.value.source}` as VerdictSource, ...v})
    } else {
      failed.set(o.node.name, errorOf(o.error).message)
    }
  }
  if (failed.size > 0 && !reader.logFallback) {
    for (const [node, error] of failed) out.push({node, verdict: 'unreachable', source: 'ifstate-agent-text', reason: error})
  } else if (failed.size > 0) {
    const reports = await readNodeDataplanes(kube, namespace, {
      concurrency: logConcurrency,
      onlyNodes: new Set(failed.keys()),
      tailLines: null,
      limitBytes: FALLBACK_LOG_LIMIT_BYTES,
    })
    const seen = new Set<string>()
    for (const r of reports) {
      if (seen.has(r.node)) continue
      seen.add(r.node)
      out.push(verdictFromFelixLog(r, configuredBpf, failed.get(r.node)))
    }
    for (const [node, error] of failed) {
      if (!seen.has(node)) out.push({node, verdict: 'unreachable', source: 'felix-log', reason: `${error}; no calico-node pod to read a log from`, dataplaneError: error})
    }
  }
  return out.sort(byName)
}
