import type {NodeVerdict} from './dataplane/ifstate.js'
import type {PodObject} from './kube/objects.js'
import type {KubeClient} from './kube/client.js'
import {podReady} from './kube/pods.js'
import {Resources} from './kube/resources.js'
import {errorMessage} from './plan/errors.js'

/**
 * Felix's own word on a node, from the calico-node log: the start-up line that says BPF started or fell back to
 * iptables. The one home of those lines and of the verdict drawn from them, used by `check` (felix-log), `enable`'s
 * wait for BPF and `status` (the fallback for nodes whose BPF state cannot be read).
 */

// Felix's own log lines (calico-config.md §3.2, §4.3).
export const FELIX_BPF_ACTIVE = 'BPF enabled, starting BPF endpoint manager and map manager.'
export const FELIX_BPF_FALLBACK = 'BPF dataplane mode enabled but not supported by the kernel.  Disabling BPF mode.'

export type NodeDataplane = 'bpf' | 'fallen-back' | 'unknown'

/** What the last Felix start in a calico-node log says: BPF active, fallen back to iptables, or neither yet. */
export function classifyFelixLog(log: string): NodeDataplane {
  const active = log.lastIndexOf(FELIX_BPF_ACTIVE)
  // Tolerate a single space (older versions and reformatted logs).
  const fallback = Math.max(
    log.lastIndexOf(FELIX_BPF_FALLBACK),
    log.lastIndexOf('BPF dataplane mode enabled but not supported by the kernel. '),
  )
  if (active < 0 && fallback < 0) return 'unknown'
  return fallback > active ? 'fallen-back' : 'bpf'
}

export interface NodeReport {
  node: string
  pod: string
  dataplane: NodeDataplane
  ready: boolean
  error?: string
}

/** Bytes read of one calico-node log (×concurrency in memory at once): Felix's start-up line is near its start. */
export const FELIX_LOG_LIMIT_BYTES = 4 * 1024 * 1024

/**
 * Reads each calico-node pod's log once (concurrency-limited: the one place with a request per pod) and classifies
 * the node. Pods come from one list by label.
 */
export async function readNodeDataplanes(
  kube: KubeClient,
  namespace: string,
  opts: {
    concurrency: number
    skip?: Set<string>
    /** Default 5000; null reads from the start of the log (where Felix's start-up line is). */
    tailLines?: number | null
    onlyNodes?: Set<string>
    /** Default FELIX_LOG_LIMIT_BYTES. */
    limitBytes?: number
  },
): Promise<NodeReport[]> {
  const all = await kube.list<PodObject>(Resources.pods, namespace, {
    labelSelector: 'k8s-app=calico-node',
    pageSize: 5000,
  })
  const pods = opts.onlyNodes ? all.filter((p) => opts.onlyNodes!.has(p.spec?.nodeName ?? '')) : all
  // p-limit loads here, not at start-up: check's kernel rule quotes this module's log lines.
  const {default: pLimit} = await import('p-limit')
  const limit = pLimit(opts.concurrency)
  return Promise.all(
    pods.map((p) =>
      limit(async (): Promise<NodeReport> => {
        const base = {node: p.spec?.nodeName ?? '?', pod: p.metadata.name, ready: podReady(p)}
        // Pods already seen BPF-active are not read again (a poll re-reads only the undecided ones).
        if (opts.skip?.has(p.metadata.name)) return {...base, dataplane: 'bpf'}
        try {
          const log = await kube.podLogs(namespace, p.metadata.name, 'calico-node', {
            tailLines: opts.tailLines === null ? undefined : (opts.tailLines ?? 5000),
            limitBytes: opts.limitBytes ?? FELIX_LOG_LIMIT_BYTES,
          })
          return {...base, dataplane: classifyFelixLog(log)}
        } catch (err) {
          return {...base, dataplane: 'unknown', error: errorMessage(err)}
        }
      }),
    ),
  )
}

/** Bytes read of one calico-node log when it is status's fallback: Felix's start-up line is near the start. */
export const FALLBACK_LOG_LIMIT_BYTES = 64 * 1024

/** A node's dataplane verdict drawn from its Felix log report (status's fallback). */
export interface FelixLogVerdict {
  node: string
  verdict: NodeVerdict
  source: 'felix-log'
  reason: string
  /** Why the node's BPF state could not be read, when the log is the fallback for that. */
  dataplaneError?: string
}

/** A verdict from Felix's start-up log line (the fallback: it says what Felix started, not what is attached). */
export function verdictFromFelixLog(r: NodeReport, configuredBpf: boolean, dataplaneError?: string): FelixLogVerdict {
  const base = {node: r.node, source: 'felix-log' as const, ...(dataplaneError ? {dataplaneError} : {})}
  const why = dataplaneError ? `; BPF state unreadable: ${dataplaneError}` : ''
  if (r.error !== undefined) {
    return {...base, verdict: 'unreachable', reason: dataplaneError ? `${dataplaneError}; calico-node log: ${r.error}` : r.error}
  }
  if (r.dataplane === 'bpf') {
    return {...base, verdict: 'bpf-ready', reason: `Felix's log line (fallback): BPF endpoint manager started${why}`}
  }
  if (r.dataplane === 'fallen-back') {
    return {...base, verdict: 'bpf-not-attached', reason: `Felix's log line (fallback): the kernel does not support BPF, Felix fell back to iptables${why}`}
  }
  return configuredBpf
    ? {...base, verdict: 'unknown', reason: `Felix's start-up line is not in the first ${FALLBACK_LOG_LIMIT_BYTES / 1024} KiB of its log (restarted or rotated?)${why}`}
    : {...base, verdict: 'iptables', reason: `Felix's log has no BPF start line (fallback)${why}`}
}
