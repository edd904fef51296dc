import type {KubeClient} from '../kube/client.js'
import {KubeApiError} from '../kube/errors.js'
import {Resources} from '../kube/resources.js'
import type {KubeObject} from '../kube/types.js'
import type {RunSummary, SourceIpVerdict} from './model.js'
import {OWNER_LABEL, OWNER_VALUE} from './workload.js'

/** verify's own ConfigMap: the last runs' summaries, so a later run can show before → after. */
export const RESULTS_NAMESPACE = 'kube-system'
export const RESULTS_CONFIGMAP = 'ebpfctl-verify-results'
export const RESULTS_KEY = 'history.json'
export const MAX_RUNS = 20
/** Anyone who can edit ConfigMaps in kube-system can write this: bounded and validated on read. */
export const MAX_HISTORY_BYTES = 64 * 1024

export interface History {
  runs: RunSummary[]
  /** Why stored results were ignored (malformed, too large), when they were. */
  problem?: string
  resourceVersion?: string
  exists: boolean
}

const LABELS = new Set(['kube-proxy', 'BPF', 'BPF+DSR'])
const VERDICTS = new Set(['preserved', 'node-address', 'other', 'unknown'])

/** Each run is rebuilt field by field from checked values; nothing else from the ConfigMap is kept. */
function validRun(v: unknown): RunSummary | string {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'a run is not an object'
  const r = v as Record<string, unknown>
  const num = (k: string) => r[k] === null || (typeof r[k] === 'number' && Number.isFinite(r[k]) && (r[k] as number) >= 0 && (r[k] as number) < 1e7)
  if (typeof r.at !== 'string' || r.at.length > 40 || Number.isNaN(Date.parse(r.at))) return 'a run has no valid "at" time'
  if (typeof r.dataplane !== 'string' || !LABELS.has(r.dataplane)) return `a run has an unknown dataplane ${JSON.stringify(String(r.dataplane).slice(0, 20))}`
  if (typeof r.externalServiceMode !== 'string' || !/^[A-Za-z]{1,16}$/.test(r.externalServiceMode)) return 'a run has a bad externalServiceMode'
  if (!num('nodePortP50Ms') || !num('nodePortMeanMs')) return 'a run has a bad latency figure'
  if (typeof r.sourceIp !== 'string' || !VERDICTS.has(r.sourceIp)) return 'a run has a bad sourceIp verdict'
  if (typeof r.requests !== 'number' || !Number.isInteger(r.requests) || r.requests < 0 || r.requests > 1e7) return 'a run has a bad request count'
  if (typeof r.passed !== 'boolean') return 'a run has no passed verdict'
  return {
    at: r.at,
    dataplane: r.dataplane as RunSummary['dataplane'],
    externalServiceMode: r.externalServiceMode,
    nodePortP50Ms: r.nodePortP50Ms as number | null,
    nodePortMeanMs: r.nodePortMeanMs as number | null,
    sourceIp: r.sourceIp as SourceIpVerdict,
    requests: r.requests,
    passed: r.passed,
  }
}

/** Parses stored results: {"runs": [...]} within the byte bound, every run validated; else a reason. */
export function parseHistory(text: string | undefined): {runs: RunSummary[]; problem?: string} {
  if (text === undefined) return {runs: []}
  if (Buffer.byteLength(text) > MAX_HISTORY_BYTES) return {runs: [], problem: `larger than ${MAX_HISTORY_BYTES / 1024} KiB`}
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return {runs: [], problem: 'not JSON'}
  }
  const runs = (doc as {runs?: unknown})?.runs
  if (!Array.isArray(runs)) return {runs: [], problem: 'no "runs" list'}
  if (runs.length > MAX_RUNS) return {runs: [], problem: `more than ${MAX_RUNS} runs`}
  const out: RunSummary[] = []
  for (const r of runs) {
    const v = validRun(r)
    if (typeof v === 'string') return {runs: [], problem: v}
    out.push(v)
  }
  return {runs: out}
}

export async function readHistory(kube: KubeClient): Promise<History> {
  const cm = await kube.get(Resources.configMaps, RESULTS_CONFIGMAP, RESULTS_NAMESPACE)
  if (!cm) return {runs: [], exists: false}
  const raw = (cm.data as Record<string, unknown> | undefined)?.[RESULTS_KEY]
  const parsed = parseHistory(typeof raw === 'string' ? raw : raw === undefined ? undefined : '\0')
  return {...parsed, resourceVersion: cm.metadata.resourceVersion, exists: true}
}

/** Appends this run (keeping the last MAX_RUNS) with a conditional write; a conflict is re-read and retried once. */
export async function saveRun(kube: KubeClient, run: RunSummary): Promise<RunSummary[]> {
  for (let attempt = 1; ; attempt++) {
    const h = await readHistory(kube)
    const runs = [...h.runs, run].slice(-MAX_RUNS)
    const cm: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: RESULTS_CONFIGMAP,
        namespace: RESULTS_NAMESPACE,
        labels: {[OWNER_LABEL]: OWNER_VALUE},
        ...(h.resourceVersion ? {resourceVersion: h.resourceVersion} : {}),
      },
      data: {[RESULTS_KEY]: JSON.stringify({apiVersion: 'ebpfctl/v1', kind: 'VerifyHistory', runs})},
    }
    try {
      if (h.exists) await kube.replace(Resources.configMaps, cm)
      else await kube.create(Resources.configMaps, cm)
      return runs
    } catch (err) {
      if (attempt < 3 && err instanceof KubeApiError && (err.code === 409 || err.reason === 'AlreadyExists')) continue
      throw err
    }
  }
}

const SOURCE_WORDS: Record<SourceIpVerdict, string> = {
  preserved: 'client address',
  'node-address': 'node address',
  other: 'other address',
  unknown: 'unknown',
}

/**
 * "NodePort p50 1.88 ms (kube-proxy) → 1.81 ms (BPF) → 1.59 ms (BPF+DSR); source IP: node address → client address":
 * the latest run of each dataplane stage, in the order the stages were last seen (at most the last three).
 */
export function beforeAfter(runs: RunSummary[]): string | undefined {
  const stages: RunSummary[] = []
  for (const r of runs) {
    if (stages.at(-1)?.dataplane === r.dataplane) stages[stages.length - 1] = r
    else stages.push(r)
  }
  const shown = stages.slice(-3)
  if (shown.length === 0) return undefined
  const p50 = shown.map((r) => `${r.nodePortP50Ms === null ? '–' : `${r.nodePortP50Ms.toFixed(2)} ms`} (${r.dataplane})`).join(' → ')
  const src: string[] = []
  for (const r of shown) if (src.at(-1) !== SOURCE_WORDS[r.sourceIp]) src.push(SOURCE_WORDS[r.sourceIp])
  return `NodePort p50 ${p50}; source IP: ${src.join(' → ')}`
}
