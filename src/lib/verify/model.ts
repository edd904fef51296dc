import type {Finding} from '../checks/types.js'

/**
 * The probes `ebpfctl verify` runs, each a named result like a `check`: one Finding per target (node or pod) with
 * pass / warn / fail / skip. IDs are stable (JSON, JUnit, README).
 */
export const PROBES = [
  {id: 'workload', title: 'Echo workload (agnhost netexec) deployed, spread and Ready'},
  {id: 'nodeport', title: 'NodePort reachable from this machine'},
  {id: 'source-ip', title: 'Client source IP as the pod saw it'},
  {id: 'latency', title: 'NodePort latency, one new connection per request'},
  {id: 'cluster-ip', title: 'Pod to ClusterIP (agnhost /dial through the pod proxy)'},
  {id: 'pod-nodeport', title: 'Pod to the NodePort of another node (agnhost /dial)'},
  {id: 'local-nodeport', title: 'externalTrafficPolicy: Local NodePort (only nodes with a local pod)'},
  {id: 'policy', title: "NetworkPolicy ipBlock of this machine's address: allowed, then blocked"},
] as const

export type ProbeId = (typeof PROBES)[number]['id']
export type ProbeFinding = Finding & {checkId: ProbeId}

/** Latency over one target's requests, in milliseconds (each request a new TCP connection, like a curl loop). */
export interface LatencyStats {
  node: string
  address: string
  requests: number
  errors: number
  meanMs: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  minMs: number
  maxMs: number
  /** Wall time of the whole loop, pacing included. */
  wallMs: number
  /** Start-to-start pacing of the requests (--request-interval). */
  intervalMs: number
  /**
   * ebpfctl's own time per request outside the timed exchanges and the pacing waits (bookkeeping, timers, the event
   * loop): (wall - waits - sum of the timed exchanges) / requests.
   */
  overheadMs: number
  /** Requests measured again because this process's own garbage collector ran inside their timed window. */
  gcRemeasured?: number
}

/** kube-proxy, BPF or BPF+DSR: what the cluster is configured to run (from FelixConfiguration / Installation). */
export type DataplaneLabel = 'kube-proxy' | 'BPF' | 'BPF+DSR'

export interface DataplaneInfo {
  label: DataplaneLabel
  bpfEnabled: boolean
  /** bpfExternalServiceMode (Tunnel when unset). */
  externalServiceMode: string
  calicoInstall: 'operator' | 'manifest' | 'none'
}

export type SourceIpVerdict = 'preserved' | 'node-address' | 'other' | 'unknown'

/** One run as stored in the results ConfigMap (and shown before/after). */
export interface RunSummary {
  at: string
  dataplane: DataplaneLabel
  externalServiceMode: string
  /** Median over every target's p50 (ms); null when no latency was measured. */
  nodePortP50Ms: number | null
  nodePortMeanMs: number | null
  sourceIp: SourceIpVerdict
  requests: number
  passed: boolean
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export function latencyStats(
  node: string,
  address: string,
  samples: number[],
  errors: number,
  loop: {wallMs: number; waitedMs: number; intervalMs: number; timedMs?: number} = {wallMs: NaN, waitedMs: 0, intervalMs: 0},
): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b)
  const total = sorted.reduce((s, v) => s + v, 0)
  const mean = total / (sorted.length || 1)
  const requests = samples.length + errors
  return {
    node,
    address,
    requests,
    errors,
    meanMs: round(mean),
    p50Ms: round(percentile(sorted, 50)),
    p90Ms: round(percentile(sorted, 90)),
    p99Ms: round(percentile(sorted, 99)),
    minMs: round(sorted[0] ?? NaN),
    maxMs: round(sorted.at(-1) ?? NaN),
    wallMs: round(loop.wallMs),
    intervalMs: loop.intervalMs,
    overheadMs: round((loop.wallMs - loop.waitedMs - (loop.timedMs ?? total)) / (requests || 1)),
  }
}

const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : NaN)

export function median(values: number[]): number | null {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = Math.floor(v.length / 2)
  return round(v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2)
}
