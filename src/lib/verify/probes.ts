import type {KubeClient} from '../kube/client.js'
import {finding} from '../checks/util.js'
import {sleep} from '../plan/retry.js'
import {addressOf, httpGet} from './http-probe.js'
import {type DataplaneInfo, type LatencyStats, type ProbeFinding, type SourceIpVerdict, latencyStats} from './model.js'
import type {VerifyPod, Workload} from './deploy.js'
import {NETEXEC_PORT, SERVICE_PORT, VERIFY_NAMESPACE} from './workload.js'
import {cliCommand} from '../cli/name.js'
import {formatDuration, waitClock} from '../duration.js'

export interface Target {
  node: string
  address: string
}

export interface ProbeOptions {
  /** Bound on one request (connect + answer). */
  requestTimeoutMs: number
  signal: AbortSignal
}

const ANSWER_BYTES = 4096
const f = (id: ProbeFinding['checkId'], ...rest: Parameters<typeof finding> extends [string, ...infer R] ? R : never) =>
  finding(id, ...rest) as ProbeFinding

export interface NodePortResult {
  findings: ProbeFinding[]
  /** This machine's address toward each node that answered. */
  localAddress: Map<string, string>
  sourceIp: Map<string, SourceIpVerdict>
}

export interface NodePortWaitOptions extends ProbeOptions {
  /** How long a node may take to start answering. */
  boundMs: number
  pollMs: number
  progress: (line: string) => void
}

/**
 * kube-proxy and Felix program a new Service on their own schedule (a sync period, a batch of updates), after the
 * EndpointSlices list its pods: a NodePort that refuses for a moment is being programmed, not broken. Polls every
 * target's NodePort in parallel until each answers /clientip with an address, or the bound passes. Returns the nodes
 * that never answered (their probe then fails, naming the bound).
 */
export async function waitForNodePorts(targets: Target[], nodePort: number, o: NodePortWaitOptions): Promise<Set<string>> {
  const started = Date.now()
  const deadline = started + o.boundMs
  const answered = new Set<string>()
  const clock = () => `(${waitClock(Date.now() - started, o.boundMs)})`
  let said = 0
  let saidAt = started
  const say = () => {
    // A line when the count moves, and every 10 s while it does not: never one per poll.
    if (answered.size === said && Date.now() - saidAt < 10_000) return
    said = answered.size
    saidAt = Date.now()
    o.progress(`NodePort ${nodePort} answers on ${answered.size}/${targets.length} node(s) ${clock()}`)
  }
  o.progress(`waiting for NodePort ${nodePort} to answer on ${targets.length} node(s) (kube-proxy or Felix programs it) …`)
  await Promise.all(
    targets.map(async (t) => {
      while (!o.signal.aborted) {
        const left = deadline - Date.now()
        try {
          const a = await httpGet(t.address, nodePort, '/clientip', {timeoutMs: Math.max(1, Math.min(o.requestTimeoutMs, left)), maxBytes: ANSWER_BYTES})
          if (a.status === 200 && addressOf(a.body)) {
            answered.add(t.node)
            say()
            return
          }
        } catch {
          // not programmed yet (refused, reset, no answer): poll again
        }
        if (Date.now() + o.pollMs > deadline) return
        await sleep(o.pollMs, o.signal)
        say()
      }
    }),
  )
  const silent = new Set(targets.filter((t) => !answered.has(t.node)).map((t) => t.node))
  if (silent.size && !o.signal.aborted) o.progress(`NodePort ${nodePort}: no answer within ${formatDuration(o.boundMs)} from ${[...silent].join(', ')}`)
  return silent
}

/**
 * One /clientip through the NodePort of every target: reachable, and who the pod saw. The pod seeing this machine's
 * own address on that connection is "preserved"; a node address means SNAT (kube-proxy's masquerade).
 */
export async function nodePortProbes(
  targets: Target[],
  nodePort: number,
  nodeByAddress: Map<string, string>,
  dataplane: DataplaneInfo,
  opts: ProbeOptions,
  ids: {reach: 'nodeport' | 'local-nodeport'; source: 'source-ip' | 'local-nodeport'} = {reach: 'nodeport', source: 'source-ip'},
  waited?: {silent: Set<string>; boundMs: number},
): Promise<NodePortResult> {
  const out: NodePortResult = {findings: [], localAddress: new Map(), sourceIp: new Map()}
  for (const t of targets) {
    if (opts.signal.aborted) break
    const where = `${t.address}:${nodePort}`
    try {
      const a = await httpGet(t.address, nodePort, '/clientip', {timeoutMs: opts.requestTimeoutMs, maxBytes: ANSWER_BYTES})
      const seen = addressOf(a.body)
      out.localAddress.set(t.node, a.localAddress)
      if (a.status !== 200 || !seen) {
        out.findings.push(
          f(ids.reach, 'fail', `${where} answered HTTP ${a.status} "${a.body.slice(0, 80)}", not an address`, {
            node: t.node,
            remedy: 'Something other than the verify pod answers on this NodePort; check the node (kubectl get svc -A | grep <port>).',
          }),
        )
        continue
      }
      const data = {address: t.address, nodePort, ms: round(a.ms), localAddress: a.localAddress, seen}
      if (ids.reach !== ids.source) out.findings.push(f(ids.reach, 'pass', `${where} answered in ${round(a.ms)} ms`, {node: t.node, data}))
      const verdict = classify(seen, a.localAddress, nodeByAddress)
      out.sourceIp.set(t.node, verdict)
      out.findings.push(sourceIpFinding(ids.source, t.node, verdict, seen, a.localAddress, nodeByAddress, dataplane, data))
    } catch (err) {
      out.findings.push(
        f(ids.reach, 'fail', `${where} did not answer${waited?.silent.has(t.node) ? ` within ${formatDuration(waited.boundMs)}` : ''}: ${(err as Error).message}`, {
          node: t.node,
          remedy:
            dataplane.bpfEnabled
              ? `With kube-proxy gone, Calico serves NodePorts: check calico-node on this node (${cliCommand('status')}, ${cliCommand('nat dump --node NAME')}) and that this machine may reach the node on the NodePort range.`
              : 'Check that this machine may reach the node on the NodePort range (firewall, security groups) and that kube-proxy runs there.',
        }),
      )
    }
  }
  return out
}

function classify(seen: string, local: string, nodes: Map<string, string>): SourceIpVerdict {
  if (seen === local.replace(/^::ffff:/, '')) return 'preserved'
  if (nodes.has(seen)) return 'node-address'
  return 'other'
}

function sourceIpFinding(
  id: ProbeFinding['checkId'],
  node: string,
  verdict: SourceIpVerdict,
  seen: string,
  local: string,
  nodes: Map<string, string>,
  dataplane: DataplaneInfo,
  data: Record<string, unknown>,
): ProbeFinding {
  const extra = {node, data: {...data, verdict}}
  if (verdict === 'preserved') return f(id, 'pass', `source IP preserved: the pod saw ${seen}, this machine's address`, extra)
  const who = verdict === 'node-address' ? `node address ${seen} (${nodes.get(seen)})` : seen
  if (id === 'local-nodeport' || dataplane.bpfEnabled) {
    return f(id, 'fail', `source IP not preserved: the pod saw ${who}, not this machine's ${local}`, {
      ...extra,
      remedy:
        id === 'local-nodeport'
          ? 'externalTrafficPolicy: Local must keep the client address; check for a NAT between this machine and the node.'
          : `The eBPF dataplane should hand the client address to the pod: check that kube-proxy is gone from this node (${cliCommand('status')}) and for a NAT between this machine and the node.`,
    })
  }
  return f(id, 'warn', `source IP SNATed: the pod saw ${who}, not this machine's ${local}`, {
    ...extra,
    detail: verdict === 'node-address' ? 'kube-proxy masquerades NodePort traffic (externalTrafficPolicy: Cluster).' : 'A NAT or proxy between this machine and the node rewrites the source.',
    remedy: `Calico's eBPF dataplane preserves the client address: \`${cliCommand('enable')}\`.`,
  })
}

/**
 * `--requests N` new connections to each target's NodePort, one after the other and paced: a request starts every
 * `intervalMs` (start to start), as in a curl loop, where starting a process spaces the requests. Back to back, each
 * exchange finds the path hot (the client, the server and the kernel path in cache, the CPUs awake) and measures less
 * than a user's curl loop does (bench/verify-latency.ts: 35–70% less on the netns rig).
 *
 * A request during which this process's own garbage collector ran is measured again: that pause is ebpfctl's, not the
 * path's (a curl loop has none), and one scavenge on a loaded machine is 2–15 ms, a visible share of a mean of a few
 * hundred ~1.5 ms requests. How many were re-measured is in the stats (`gcRemeasured`).
 */
export async function latencyProbes(
  targets: Target[],
  nodePort: number,
  requests: number,
  dataplane: DataplaneInfo,
  opts: ProbeOptions & {intervalMs: number; onProgress?: (node: string, done: number) => void},
): Promise<{findings: ProbeFinding[]; stats: LatencyStats[]}> {
  const findings: ProbeFinding[] = []
  const stats: LatencyStats[] = []
  const gc = await watchGcPauses()
  try {
    for (const t of targets) {
      // Each answered request's time and its window on the performance timeline (to match against GC pauses).
      const answered: {ms: number; from: number; to: number}[] = []
      let errors = 0
      let firstError: string | undefined
      let waitedMs = 0
      let timedMs = 0
      let gcRemeasured = 0
      const t0 = performance.now()
      let nextStart = t0
      let done = 0
      const measure = async (count: number) => {
        for (let i = 0; i < count && !opts.signal.aborted; i++) {
          const wait = nextStart - performance.now()
          if (wait > 0) {
            const w0 = performance.now()
            await sleep(wait, opts.signal)
            waitedMs += performance.now() - w0
          }
          const started = performance.now()
          // On a grid from the first start: a late timer shortens the next wait instead of stretching the whole loop;
          // after a request slower than the interval, the next starts at once (one, not a burst).
          nextStart = Math.max(nextStart + opts.intervalMs, started)
          try {
            const a = await httpGet(t.address, nodePort, '/clientip', {timeoutMs: opts.requestTimeoutMs, maxBytes: ANSWER_BYTES})
            timedMs += a.ms
            if (a.status === 200) answered.push({ms: a.ms, from: started, to: performance.now()})
            else {
              errors++
              firstError ??= `HTTP ${a.status}`
            }
          } catch (err) {
            timedMs += performance.now() - started
            errors++
            firstError ??= (err as Error).message
            // A dead target costs one timeout per request: stop after a few when nothing got through.
            if (answered.length === 0 && errors >= 3) return
          }
          if (++done % 100 === 0) opts.onProgress?.(t.node, done)
        }
      }
      await measure(requests)
      // A few passes at most: each re-measures the requests a GC pause fell into (the last pass's are kept).
      for (let pass = 0; pass < 3 && !opts.signal.aborted; pass++) {
        const paused = await gc.overlapping(answered)
        if (paused.length === 0) break
        for (const r of paused) answered.splice(answered.indexOf(r), 1)
        gcRemeasured += paused.length
        await measure(paused.length)
      }
      if (opts.signal.aborted) break
      const samples = answered.map((r) => r.ms)
      const s = {
        ...latencyStats(t.node, t.address, samples, errors, {wallMs: performance.now() - t0, waitedMs, timedMs, intervalMs: opts.intervalMs}),
        gcRemeasured,
      }
      stats.push(s)
      const mode = dataplane.bpfEnabled ? `, external service mode ${dataplane.externalServiceMode}` : ''
      const text = `p50 ${ms(s.p50Ms)} · mean ${ms(s.meanMs)} · p90 ${ms(s.p90Ms)} · p99 ${ms(s.p99Ms)} over ${samples.length} new connections (${dataplane.label}${mode})`
      if (samples.length === 0) findings.push(f('latency', 'fail', `no request answered (${firstError})`, {node: t.node, data: {...s}}))
      else if (errors > 0)
        findings.push(f('latency', 'fail', `${errors} of ${s.requests} requests failed (first: ${firstError}); ${text}`, {node: t.node, data: {...s}}))
      else findings.push(f('latency', 'pass', text, {node: t.node, data: {...s}}))
    }
  } finally {
    gc.stop()
  }
  return {findings, stats}
}

/**
 * This process's garbage-collection pauses, from perf_hooks' 'gc' entries. Entries arrive after the pause (from an
 * immediate): overlapping() lets them in before it looks.
 */
async function watchGcPauses(): Promise<{overlapping<W extends {from: number; to: number}>(windows: W[]): Promise<W[]>; stop(): void}> {
  const {PerformanceObserver} = await import('node:perf_hooks')
  const pauses: {from: number; to: number}[] = []
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({from: e.startTime, to: e.startTime + e.duration})
  })
  observer.observe({entryTypes: ['gc']})
  return {
    async overlapping(windows) {
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r))
      for (const e of observer.takeRecords()) pauses.push({from: e.startTime, to: e.startTime + e.duration})
      const hit = windows.filter((w) => pauses.some((p) => p.from < w.to && p.to > w.from))
      pauses.length = 0
      return hit
    },
    stop: () => observer.disconnect(),
  }
}

const ms = (v: number) => `${v.toFixed(2)} ms`
const round = (v: number) => Math.round(v * 100) / 100

/**
 * agnhost /dial, asked through the API server's pod proxy (GET pods/NAME:8080/proxy/dial): the pod itself opens the
 * connection, so the probe is in-cluster traffic, and ebpfctl needs only `get pods/proxy` (no exec, no shell in the
 * image, works on distroless agnhost). The API server reaches the pod directly (not through a Service), so the path
 * under test is only the pod's own connection.
 */
export async function dialFromPod(
  kube: KubeClient,
  pod: VerifyPod,
  host: string,
  port: number,
): Promise<{ok: true; seen: string} | {ok: false; error: string}> {
  const q = new URLSearchParams({request: 'clientip', protocol: 'http', host, port: String(port), tries: '1'})
  const res = await kube.proxyGet(VERIFY_NAMESPACE, pod.name, NETEXEC_PORT, `/dial?${q}`, {maxBytes: 64 * 1024})
  if (res.status !== 200) return {ok: false, error: `the pod proxy answered HTTP ${res.status}: ${res.body.slice(0, 160).trim()}`}
  let parsed: unknown
  try {
    parsed = JSON.parse(res.body)
  } catch {
    return {ok: false, error: `agnhost /dial answered something that is not JSON: ${res.body.slice(0, 80)}`}
  }
  const obj = parsed as {responses?: unknown; errors?: unknown}
  const responses = Array.isArray(obj.responses) ? obj.responses.filter((r): r is string => typeof r === 'string') : []
  const errors = Array.isArray(obj.errors) ? obj.errors.filter((r): r is string => typeof r === 'string') : []
  if (responses.length > 0) return {ok: true, seen: responses[0]!.slice(0, 64)}
  return {ok: false, error: errors[0]?.slice(0, 200) ?? 'no response and no error from agnhost /dial'}
}

/** Every pod → the ClusterIP; every pod → the NodePort of a node other than its own. */
export async function inClusterProbes(
  kube: KubeClient,
  workload: Workload,
  targets: Target[],
  opts: ProbeOptions,
): Promise<ProbeFinding[]> {
  const out: ProbeFinding[] = []
  for (const pod of workload.pods) {
    if (opts.signal.aborted) break
    const who = `pod ${pod.name} (${pod.node})`
    const c = await dialFromPod(kube, pod, workload.clusterIP, SERVICE_PORT)
    out.push(
      c.ok
        ? f('cluster-ip', 'pass', `${who} → ClusterIP ${workload.clusterIP}:${SERVICE_PORT} answered (the backend saw ${c.seen})`, {node: pod.node})
        : f('cluster-ip', 'fail', `${who} → ClusterIP ${workload.clusterIP}:${SERVICE_PORT}: ${c.error}`, {
            node: pod.node,
            remedy: `In-cluster Service traffic fails: check calico-node on this node (${cliCommand('status')}; ${cliCommand('nat dump --service ebpfctl-verify/ebpfctl-verify')}).`,
          }),
    )
    const other = targets.find((t) => t.node !== pod.node)
    if (!other) {
      out.push(f('pod-nodeport', 'skip', `${who}: no other node to reach`, {node: pod.node}))
      continue
    }
    const n = await dialFromPod(kube, pod, other.address, workload.nodePort)
    out.push(
      n.ok
        ? f('pod-nodeport', 'pass', `${who} → NodePort ${other.address}:${workload.nodePort} (${other.node}) answered (the backend saw ${n.seen})`, {node: pod.node})
        : f('pod-nodeport', 'fail', `${who} → NodePort ${other.address}:${workload.nodePort} (${other.node}): ${n.error}`, {
            node: pod.node,
            remedy: `Pod-to-NodePort traffic fails between these nodes: check calico-node on both (${cliCommand('status')}).`,
          }),
    )
  }
  return out
}

export {classify as classifySourceIp}
