import type {KubeClient} from '../kube/client.js'
import {collectClusterState, detectInstall} from '../kube/cluster.js'
import {Resources} from '../kube/resources.js'
import type {KubeObject} from '../kube/types.js'
import {finding} from '../checks/util.js'
import {UserError} from '../errors.js'
import {type Workload, VerifyInterrupted, cleanupWorkload, deployWorkload} from './deploy.js'
import {httpGet, isIpAddress} from './http-probe.js'
import {
  type DataplaneInfo,
  type LatencyStats,
  PROBES,
  type ProbeFinding,
  type RunSummary,
  type SourceIpVerdict,
  median,
} from './model.js'
import {type Target, inClusterProbes, latencyProbes, nodePortProbes, waitForNodePorts} from './probes.js'
import {beforeAfter, readHistory, saveRun} from './results.js'
import {DEFAULT_IMAGE, POLICY_NAME, VERIFY_NAMESPACE, policyObject} from './workload.js'

export interface VerifyOptions {
  /** Node names to probe; undefined: every Linux node. */
  nodes?: string[]
  requests: number
  /** Start-to-start pacing of the latency requests (default 4 ms). */
  requestIntervalMs?: number
  image?: string
  externalTrafficPolicyLocal?: boolean
  policy?: boolean
  keep?: boolean
  /** Store this run in the results ConfigMap (default true). */
  save?: boolean
  timeoutMs: number
  pollMs?: number
  /** Bound on one probe request. */
  requestTimeoutMs?: number
  /** How long a node's NodePort may take to start answering once the EndpointSlices list every pod (default: --timeout, at most 30 s). */
  nodePortWaitMs?: number
  signal?: AbortSignal
  progress?: (line: string) => void
}

export interface VerifyReport {
  apiVersion: 'ebpfctl/v1'
  kind: 'VerifyReport'
  server: string
  dataplane: DataplaneInfo
  workload: {namespace: string; image: string; nodePort: number | null; clusterIP: string | null; localNodePort: number | null; pods: {name: string; node: string; ip: string}[]; kept: boolean}
  probes: {id: string; title: string; status: 'pass' | 'warn' | 'fail' | 'skip'; findings: ProbeFinding[]}[]
  latency: LatencyStats[]
  run: RunSummary
  /** The stored runs' before → after line (this run included). */
  beforeAfter: string | null
  warnings: string[]
  summary: {passed: number; warnings: number; failed: number; skipped: number}
  exitCode: 0 | 1
}

/**
 * A curl loop on a machine at rest starts a process per request, a few milliseconds each: pace ebpfctl's requests
 * alike, and keep 1,000 requests on 3 nodes within about 12 s.
 */
export const DEFAULT_REQUEST_INTERVAL_MS = 4

/** kube-proxy's and Felix's programming of a new Service takes seconds on a busy node; a minute would hide a broken one. */
export const DEFAULT_NODEPORT_WAIT_MS = 30_000

const RANK = {skip: 0, pass: 1, warn: 2, fail: 3} as const

/** What the cluster is configured to run, read as `check` and `status` read it. */
export async function readDataplane(kube: KubeClient): Promise<DataplaneInfo> {
  const state = await collectClusterState(kube)
  const install = detectInstall(state)
  const fc = install.felixDefault?.spec as {bpfEnabled?: boolean; bpfExternalServiceMode?: string} | undefined
  const bpfEnabled =
    install.type === 'operator'
      ? state.installation?.spec?.calicoNetwork?.linuxDataplane === 'BPF'
      : install.felixBpfEnabledEnv
        ? install.felixBpfEnabledEnv.enabled === true
        : fc?.bpfEnabled === true
  const mode = /^[A-Za-z]{1,16}$/.test(fc?.bpfExternalServiceMode ?? '') ? fc!.bpfExternalServiceMode! : 'Tunnel'
  const dsr = mode.toLowerCase() === 'dsr'
  return {
    label: bpfEnabled ? (dsr ? 'BPF+DSR' : 'BPF') : 'kube-proxy',
    bpfEnabled,
    externalServiceMode: mode,
    calicoInstall: install.type,
  }
}

function nodeAddress(n: KubeObject): string | undefined {
  const addrs = ((n.status as any)?.addresses ?? []) as {type?: string; address?: string}[]
  for (const type of ['InternalIP', 'ExternalIP']) {
    const a = addrs.find((x) => x?.type === type && typeof x.address === 'string' && isIpAddress(x.address))
    if (a) return a.address
  }
  return undefined
}

export async function selectTargets(kube: KubeClient, names: string[] | undefined): Promise<{targets: Target[]; byAddress: Map<string, string>}> {
  const nodes = await kube.list(Resources.nodes)
  const byAddress = new Map<string, string>()
  for (const n of nodes) {
    for (const a of ((n.status as any)?.addresses ?? []) as {address?: string}[]) if (typeof a?.address === 'string') byAddress.set(a.address, n.metadata.name)
  }
  const linux = nodes.filter((n) => (n.metadata.labels?.['kubernetes.io/os'] ?? 'linux') === 'linux')
  let chosen = linux
  if (names) {
    const unknown = names.filter((name) => !nodes.some((n) => n.metadata.name === name))
    if (unknown.length) {
      throw new UserError(`--nodes: no such node: ${unknown.join(', ')}`, {remedy: 'Name nodes as `kubectl get nodes` lists them.'})
    }
    chosen = nodes.filter((n) => names.includes(n.metadata.name))
  }
  const targets: Target[] = []
  for (const n of chosen) {
    const address = nodeAddress(n)
    if (address) targets.push({node: n.metadata.name, address})
  }
  if (targets.length === 0) {
    throw new UserError('no node to probe: no Linux node with an InternalIP or ExternalIP address', {
      remedy: 'Check `kubectl get nodes -o wide`, or name nodes with --nodes.',
    })
  }
  return {targets, byAddress}
}

/**
 * ebpfctl verify: deploy the echo workload, probe NodePorts from this machine (reachability, source IP, latency), probe
 * from inside the cluster (ClusterIP, another node's NodePort), optionally a NetworkPolicy ipBlock, store the run, and
 * clean up — on success, failure and Ctrl-C alike (unless --keep).
 */
export async function runVerify(kube: KubeClient, o: VerifyOptions): Promise<VerifyReport> {
  const signal = o.signal ?? new AbortController().signal
  const progress = o.progress ?? (() => {})
  const requestTimeoutMs = o.requestTimeoutMs ?? 2000
  const image = o.image ?? DEFAULT_IMAGE
  const dataplane = await readDataplane(kube)
  const {targets, byAddress} = await selectTargets(kube, o.nodes)
  const findings: ProbeFinding[] = []
  const warnings: string[] = []
  let latency: LatencyStats[] = []
  let workload: Workload | undefined
  const replicas = Math.min(Math.max(targets.length, 2), 3)
  const sourceIps: SourceIpVerdict[] = []
  try {
    workload = await deployWorkload(
      kube,
      {image, replicas, localService: !!o.externalTrafficPolicyLocal},
      {timeoutMs: o.timeoutMs, pollMs: o.pollMs ?? 1000, signal, progress},
    )
    const spread = new Set(workload.pods.map((p) => p.node)).size
    findings.push(
      finding('workload', spread >= 2 || targets.length < 2 ? 'pass' : 'warn', `${workload.pods.length} pods Ready on ${spread} node(s): ${workload.pods.map((p) => `${p.node} ${p.ip}`).join(', ')}; NodePort ${workload.nodePort}, ClusterIP ${workload.clusterIP}`, {
        ...(spread < 2 && targets.length >= 2 ? {remedy: 'The pods landed on one node (taints? cordoned nodes?): cross-node paths are not exercised.'} : {}),
      }) as ProbeFinding,
    )
    const probeOpts = {requestTimeoutMs, signal}
    const waitOpts = {...probeOpts, boundMs: o.nodePortWaitMs ?? Math.min(o.timeoutMs, DEFAULT_NODEPORT_WAIT_MS), pollMs: Math.min(o.pollMs ?? 1000, 500), progress}
    const silent = await waitForNodePorts(targets, workload.nodePort, waitOpts)
    check(signal)
    progress(`probing NodePort ${workload.nodePort} on ${targets.length} node(s) from this machine`)
    const np = await nodePortProbes(targets, workload.nodePort, byAddress, dataplane, probeOpts, undefined, {silent, boundMs: waitOpts.boundMs})
    findings.push(...np.findings)
    sourceIps.push(...np.sourceIp.values())
    check(signal)
    const reachable = targets.filter((t) => np.localAddress.has(t.node))
    if (o.requests > 0) {
      progress(`latency: ${o.requests} new connections to each of ${reachable.length} node(s)`)
      const lat = await latencyProbes(reachable, workload.nodePort, o.requests, dataplane, {
        ...probeOpts,
        intervalMs: o.requestIntervalMs ?? DEFAULT_REQUEST_INTERVAL_MS,
        onProgress: (node, done) => progress(`latency ${node}: ${done}/${o.requests}`),
      })
      findings.push(...lat.findings)
      latency = lat.stats
    }
    check(signal)
    progress('probing from inside the cluster (agnhost /dial through the pod proxy)')
    findings.push(...(await inClusterProbes(kube, workload, targets, probeOpts)))
    check(signal)
    if (o.externalTrafficPolicyLocal && workload.localNodePort) {
      const withPod = new Set(workload.pods.map((p) => p.node))
      const localTargets = targets.filter((t) => withPod.has(t.node))
      const localSilent = await waitForNodePorts(localTargets, workload.localNodePort, waitOpts)
      check(signal)
      const local = await nodePortProbes(localTargets, workload.localNodePort, byAddress, dataplane, probeOpts, {
        reach: 'local-nodeport',
        source: 'local-nodeport',
      }, {silent: localSilent, boundMs: waitOpts.boundMs})
      findings.push(...local.findings)
      for (const t of targets.filter((x) => !withPod.has(x.node)))
        findings.push(finding('local-nodeport', 'skip', 'no verify pod on this node: a Local NodePort does not answer here by design', {node: t.node}) as ProbeFinding)
    }
    check(signal)
    if (o.policy) {
      const t = reachable[0]
      if (!t) findings.push(finding('policy', 'skip', 'no node answered on the NodePort: nothing to test the policy with') as ProbeFinding)
      else findings.push(await policyProbe(kube, t, workload.nodePort, np.localAddress.get(t.node)!, dataplane, {...probeOpts, timeoutMs: Math.min(o.timeoutMs, 30_000), pollMs: o.pollMs ?? 1000}))
    }
  } catch (err) {
    if (err instanceof VerifyInterrupted || signal.aborted) throw await withCleanup(kube, o, new VerifyInterrupted(), progress)
    throw await withCleanup(kube, o, err, progress)
  }
  await withCleanup(kube, o, undefined, progress)
  return buildReport(kube, o, {dataplane, findings, latency, workload, image, warnings, sourceIps})
}

function check(signal: AbortSignal): void {
  if (signal.aborted) throw new VerifyInterrupted()
}

/** Cleanup runs on every way out; a cleanup that fails is said, never hides the first error. */
async function withCleanup(kube: KubeClient, o: VerifyOptions, err: unknown, progress: (l: string) => void): Promise<unknown> {
  if (o.keep) {
    progress(`--keep: namespace ${VERIFY_NAMESPACE} left in place (kubectl delete namespace ${VERIFY_NAMESPACE})`)
    return err
  }
  try {
    if (await cleanupWorkload(kube)) progress(`deleted namespace ${VERIFY_NAMESPACE}`)
  } catch (cleanupErr) {
    const msg = `could not delete namespace ${VERIFY_NAMESPACE}: ${(cleanupErr as Error).message}`
    if (err) return new UserError(`${(err as Error).message}; ${msg}`, {exitCode: (err as UserError).exitCode, remedy: `kubectl delete namespace ${VERIFY_NAMESPACE}`})
    return new UserError(msg, {remedy: `kubectl delete namespace ${VERIFY_NAMESPACE}`})
  }
  return err
}

const OTHER_CIDR = {v4: '192.0.2.1/32', v6: '2001:db8::1/128'} // documentation ranges: in the policy only, never contacted

/**
 * The demo's policy, in two phases: ingress only from an address that is not this machine's (this machine must get
 * blocked: the policy is enforced), then only from this machine's address (it must get through: the policy sees the
 * real client address). Each phase polls until the expected outcome or the bound (policies apply asynchronously).
 */
async function policyProbe(
  kube: KubeClient,
  t: Target,
  nodePort: number,
  localAddress: string,
  dataplane: DataplaneInfo,
  o: {requestTimeoutMs: number; signal: AbortSignal; timeoutMs: number; pollMs: number},
): Promise<ProbeFinding> {
  const v6 = localAddress.includes(':')
  const mine = v6 ? `${localAddress}/128` : `${localAddress}/32`
  const answers = async () => {
    try {
      const a = await httpGet(t.address, nodePort, '/clientip', {timeoutMs: Math.min(o.requestTimeoutMs, 1500), maxBytes: 4096})
      return a.status === 200
    } catch {
      return false
    }
  }
  const poll = async (want: boolean) => {
    const deadline = Date.now() + o.timeoutMs
    for (;;) {
      check(o.signal)
      if ((await answers()) === want) return true
      if (Date.now() > deadline) return false
      await new Promise((r) => setTimeout(r, o.pollMs))
    }
  }
  const write = async (cidr: string) => {
    const existing = await kube.get(policyRef, POLICY_NAME, VERIFY_NAMESPACE)
    if (existing) await kube.patch(policyRef, POLICY_NAME, VERIFY_NAMESPACE, {spec: policyObject(cidr).spec}, 'merge')
    else await kube.create(policyRef, policyObject(cidr))
  }
  const data = {node: t.node, address: t.address, nodePort, allowedCidr: mine}
  await write(v6 ? OTHER_CIDR.v6 : OTHER_CIDR.v4)
  if (!(await poll(false))) {
    return finding('policy', 'fail', `a NetworkPolicy allowing only ${v6 ? OTHER_CIDR.v6 : OTHER_CIDR.v4} did not block this machine within ${Math.round(o.timeoutMs / 1000)}s: policies are not enforced on NodePort traffic`, {
      node: t.node,
      data,
      remedy: 'Check that Calico enforces NetworkPolicy (calico-node Ready; ebpfctl status).',
    }) as ProbeFinding
  }
  await write(mine)
  if (await poll(true)) {
    return finding('policy', 'pass', `ipBlock ${mine} (this machine): blocked while the policy named another address, allowed once it named this one — the policy sees the real client address`, {node: t.node, data}) as ProbeFinding
  }
  const text = `ipBlock ${mine} (this machine) is still blocked after ${Math.round(o.timeoutMs / 1000)}s: the policy sees another source address (SNAT)`
  return finding('policy', dataplane.bpfEnabled ? 'fail' : 'warn', text, {
    node: t.node,
    data,
    remedy: dataplane.bpfEnabled
      ? 'With the eBPF dataplane the pod should see this machine: check for a NAT between this machine and the node.'
      : "kube-proxy SNATs NodePort traffic, so ipBlock rules cannot match external clients; Calico's eBPF dataplane preserves the address.",
  }) as ProbeFinding
}

const policyRef = {group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true}

async function buildReport(
  kube: KubeClient,
  o: VerifyOptions,
  r: {dataplane: DataplaneInfo; findings: ProbeFinding[]; latency: LatencyStats[]; workload?: Workload; image: string; warnings: string[]; sourceIps: SourceIpVerdict[]},
): Promise<VerifyReport> {
  const wanted = new Set(['workload', 'nodeport', 'source-ip', 'cluster-ip', 'pod-nodeport', ...(o.requests > 0 ? ['latency'] : []), ...(o.externalTrafficPolicyLocal ? ['local-nodeport'] : []), ...(o.policy ? ['policy'] : [])])
  const probes = PROBES.filter((p) => wanted.has(p.id)).map((p) => {
    const fs = r.findings.filter((f) => f.checkId === p.id)
    const status = fs.reduce<'pass' | 'warn' | 'fail' | 'skip'>((s, f) => (RANK[f.status] > RANK[s] ? f.status : s), 'skip')
    return {id: p.id, title: p.title, status, findings: fs}
  })
  const count = (s: string) => r.findings.filter((f) => f.status === s).length
  const summary = {passed: count('pass'), warnings: count('warn'), failed: count('fail'), skipped: count('skip')}
  const srcSet = new Set(r.sourceIps)
  const sourceIp: SourceIpVerdict = srcSet.size === 1 ? r.sourceIps[0]! : srcSet.has('node-address') ? 'node-address' : srcSet.size ? 'other' : 'unknown'
  const run: RunSummary = {
    at: new Date().toISOString(),
    dataplane: r.dataplane.label,
    externalServiceMode: r.dataplane.externalServiceMode,
    nodePortP50Ms: median(r.latency.filter((l) => l.requests > l.errors).map((l) => l.p50Ms)),
    nodePortMeanMs: median(r.latency.filter((l) => l.requests > l.errors).map((l) => l.meanMs)),
    sourceIp,
    requests: o.requests,
    passed: summary.failed === 0,
  }
  let history: RunSummary[] = [run]
  try {
    const before = await readHistory(kube)
    if (before.problem)
      r.warnings.push(`stored results in kube-system/ebpfctl-verify-results were ignored${o.save === false ? '' : ' and replaced'}: ${before.problem}`)
    // --no-save still shows this run after the stored ones.
    history = o.save === false ? [...before.runs, run] : await saveRun(kube, run)
  } catch (err) {
    r.warnings.push(`could not ${o.save === false ? 'read' : 'store'} the stored results: ${(err as Error).message}`)
  }
  return {
    apiVersion: 'ebpfctl/v1',
    kind: 'VerifyReport',
    server: kube.server,
    dataplane: r.dataplane,
    workload: {
      namespace: VERIFY_NAMESPACE,
      image: r.image,
      nodePort: r.workload?.nodePort ?? null,
      clusterIP: r.workload?.clusterIP ?? null,
      localNodePort: r.workload?.localNodePort ?? null,
      pods: r.workload?.pods ?? [],
      kept: !!o.keep,
    },
    probes,
    latency: r.latency,
    run,
    beforeAfter: beforeAfter(history) ?? null,
    warnings: r.warnings,
    summary,
    exitCode: summary.failed > 0 ? 1 : 0,
  }
}
