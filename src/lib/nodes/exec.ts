/**
 * The exec transport: runs commands in the node's calico-node pod through the Kubernetes API (pods/exec), so no SSH
 * access is needed. calico-node runs privileged with hostPID off but /sys/fs/bpf, /proc and /lib/modules mounted from
 * the host, which is what the probe and the map dumps read.
 *
 * All calico-node pods are listed once (one request, whatever the number of nodes) and mapped node → pod.
 */
import type {KubeClient} from '../kube/client.js'
import {KubeApiError} from '../kube/errors.js'
import {Resources} from '../kube/resources.js'
import type {KubeObject} from '../kube/types.js'
import {ByteBudget, OutputLimits, timeoutWording} from './bounds.js'
import {
  type NodeRunner,
  type NodeTarget,
  type RunOptions,
  type RunResult,
  NodeAccessError,
  outputLimitError,
} from './types.js'

/** The subset of KubeClient the exec transport uses (so tests can pass a stub). */
export type ExecKubeClient = Pick<KubeClient, 'list' | 'exec'>

export interface ExecRunnerOptions {
  kube: ExecKubeClient
  /** calico-system for operator installs, kube-system for manifest installs. */
  namespace: string
  /** Default 'calico-node'. */
  container?: string
  /** Default 'k8s-app=calico-node'. */
  labelSelector?: string
}

export interface CalicoPod extends KubeObject {
  spec?: {nodeName?: string; containers?: {name: string}[]}
  status?: {
    phase?: string
    containerStatuses?: {
      name: string
      ready?: boolean
      state?: {running?: unknown; waiting?: {reason?: string}; terminated?: {reason?: string}}
    }[]
  }
}

export interface AgentPod {
  name: string
  node: string
  phase: string
  /** Why the pod cannot be used, or undefined when it can. */
  unusable?: string
}

function describe(pod: CalicoPod, container: string): AgentPod {
  const phase = pod.status?.phase ?? 'Unknown'
  const node = pod.spec?.nodeName ?? ''
  let unusable: string | undefined
  if (pod.metadata.deletionTimestamp) unusable = 'is being deleted'
  else if (phase !== 'Running') unusable = `is ${phase}`
  else {
    const cs = pod.status?.containerStatuses?.find((c) => c.name === container)
    if (cs && !cs.state?.running) {
      const why = cs.state?.waiting?.reason ?? cs.state?.terminated?.reason ?? 'not running'
      unusable = `has container ${container} ${why}`
    }
  }
  return {name: pod.metadata.name, node, phase, unusable}
}

/** Best pod per node: a usable one first, then the newest. */
export function mapPodsToNodes(pods: CalicoPod[], container = 'calico-node'): Map<string, AgentPod> {
  const byNode = new Map<string, {pod: AgentPod; created: string}>()
  for (const p of pods) {
    const d = describe(p, container)
    if (!d.node) continue
    const created = p.metadata.creationTimestamp ?? ''
    const cur = byNode.get(d.node)
    const better =
      !cur ||
      (cur.pod.unusable !== undefined && d.unusable === undefined) ||
      ((cur.pod.unusable === undefined) === (d.unusable === undefined) && created > cur.created)
    if (better) byNode.set(d.node, {pod: d, created})
  }
  return new Map([...byNode].map(([k, v]) => [k, v.pod]))
}

export class ExecRunner implements NodeRunner {
  readonly via = 'exec' as const
  private readonly opts: ExecRunnerOptions
  private readonly container: string
  private pods?: Promise<Map<string, AgentPod>>
  private closed = false

  constructor(opts: ExecRunnerOptions) {
    this.opts = opts
    this.container = opts.container ?? 'calico-node'
  }

  /** node → calico-node pod, listed once. */
  agentPods(): Promise<Map<string, AgentPod>> {
    this.pods ??= this.opts.kube
      .list<CalicoPod>(Resources.pods, this.opts.namespace, {
        labelSelector: this.opts.labelSelector ?? 'k8s-app=calico-node',
      })
      .then((pods) => mapPodsToNodes(pods, this.container))
    // A failed list is not cached: the next call asks again.
    this.pods.catch(() => (this.pods = undefined))
    return this.pods
  }

  async run(node: NodeTarget, argv: string[], opts: RunOptions): Promise<RunResult> {
    const ns = this.opts.namespace
    if (this.closed)
      throw new NodeAccessError(node.name, 'other', `${node.name}: the exec runner is closed`, {via: 'exec'})
    let pods: Map<string, AgentPod>
    try {
      pods = await this.agentPods()
    } catch (err) {
      throw this.kubeError(node.name, err, `cannot list the calico-node pods in ${ns}`)
    }
    const pod = pods.get(node.name)
    if (!pod) {
      throw new NodeAccessError(
        node.name,
        'no-agent-pod',
        `${node.name}: no calico-node pod runs on this node (namespace ${ns})`,
        {
          via: 'exec',
          remedy:
            `Check \`kubectl get pods -n ${ns} -l k8s-app=calico-node -o wide\` (is Calico installed in ${ns}? ` +
            `${ns === 'calico-system' ? 'manifest installs use kube-system' : 'operator installs: calico-system'}), ` +
            'or reach the node with --via ssh.',
        },
      )
    }
    if (pod.unusable) {
      throw new NodeAccessError(
        node.name,
        'no-agent-pod',
        `${node.name}: calico-node pod ${ns}/${pod.name} ${pod.unusable}`,
        {
          via: 'exec',
          target: `${ns}/${pod.name}`,
          remedy: `Look at \`kubectl describe pod -n ${ns} ${pod.name}\`, or reach the node with --via ssh.`,
        },
      )
    }
    const target = `${ns}/${pod.name}`
    const where = `${node.name} (${target})`
    const limit = opts.maxOutputBytes ?? OutputLimits.small
    const out = new ByteBudget(limit)
    const errs = new ByteBudget(OutputLimits.stderr)
    const stop = new AbortController()
    let timer: NodeJS.Timeout | undefined
    try {
      const exec = this.opts.kube.exec(ns, pod.name, this.container, argv, {
        timeoutMs: opts.timeoutMs,
        // Always chunk by chunk, so the budget sees every byte and endless output is stopped, not collected.
        stdout: (chunk) => {
          if (stop.signal.aborted) return
          if (!out.take(chunk, !opts.onStdout)) return stop.abort(outputLimitError(node.name, where, limit, 'exec', target))
          return opts.onStdout?.(chunk)
        },
        stderr: (chunk) => errs.take(chunk),
        signal: stop.signal,
      })
      const aborted = new Promise<never>((_, reject) =>
        stop.signal.addEventListener('abort', () => reject(stop.signal.reason), {once: true}),
      )
      aborted.catch(() => {})
      // A safety net in case the client's own timeout does not fire.
      const guard = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error('timeout'), {name: 'TimeoutError'})),
          opts.timeoutMs + 2000,
        )
      })
      const r = await Promise.race([exec, guard, aborted])
      const stderr = errs.text() || r.stderr.slice(0, OutputLimits.stderr)
      return {stdout: opts.onStdout ? '' : out.text() || r.stdout.slice(0, limit), stderr, exitCode: r.exitCode}
    } catch (err) {
      const e = err as Error
      if (err instanceof NodeAccessError) throw err
      if (
        e.name === 'TimeoutError' ||
        (err instanceof KubeApiError && err.code === 0 && /no answer within/.test(err.message))
      ) {
        stop.abort(err)
        throw new NodeAccessError(node.name, 'timeout', `${where}: the command ${timeoutWording(opts.timeoutMs)}`, {
          via: 'exec',
          target,
          cause: err,
        })
      }
      throw this.kubeError(node.name, err, `exec into ${target} failed`, target)
    } finally {
      if (timer) clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    // The KubeClient belongs to the caller, which closes it.
    this.closed = true
  }

  private kubeError(node: string, err: unknown, what: string, target?: string): NodeAccessError {
    const message = `${node}: ${what}: ${(err as Error)?.message ?? String(err)}`
    if (err instanceof KubeApiError) {
      const reason =
        err.code === 401 || err.code === 403
          ? 'auth'
          : err.code === 404
            ? 'no-agent-pod'
            : err.code === 0
              ? 'unreachable'
              : 'other'
      return new NodeAccessError(node, reason, message, {via: 'exec', target, remedy: err.remedy, cause: err})
    }
    const remedy = (err as {remedy?: string})?.remedy
    return new NodeAccessError(node, 'other', message, {via: 'exec', target, remedy, cause: err})
  }
}
