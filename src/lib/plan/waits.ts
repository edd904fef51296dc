import {formatDuration} from '../duration.js'
import type {DaemonSetObject, DeploymentObject, FelixConfigurationObject, PodObject} from '../kube/objects.js'
import {calicoResource} from '../kube/cluster.js'
import {KubeApiError} from '../kube/errors.js'
import {podReady} from '../kube/pods.js'
import {Resources} from '../kube/resources.js'
import type {KubeObject} from '../kube/types.js'
import {InterruptedError, PlanError} from './errors.js'
import type {Progress} from './progress.js'
import {sleep} from './retry.js'
import type {StepContext} from './types.js'

export interface Poll {
  done: boolean
  detail: string
  /** Stop waiting and fail now (a node fell back). */
  fail?: string
}

/**
 * Polls `check` every pollMs until it is done, fails, or timeoutMs passes. Each poll is a fixed number of requests
 * (a GET of a DaemonSet, a list by label), never one per node.
 */
export async function waitFor(
  ctx: Pick<StepContext, 'timing' | 'signal'>,
  progress: Progress,
  what: string,
  check: () => Promise<Poll>,
): Promise<string> {
  const started = Date.now()
  const deadline = started + ctx.timing.timeoutMs
  progress.start(what)
  let last: Poll | undefined
  for (;;) {
    if (ctx.signal.aborted) {
      progress.done('interrupted')
      throw new InterruptedError()
    }
    try {
      last = await check()
    } catch (err) {
      // A read that times out or hits a 5xx is one failed poll, not a failed wait (the deadline still bounds it).
      if (!(err instanceof KubeApiError && err.isTransient)) throw err
      last = {done: false, detail: `API error, retrying: ${err.message}`}
    }
    if (last.fail) {
      progress.done('failed')
      throw new PlanError(`${what}: ${last.fail}`)
    }
    if (last.done) {
      progress.done(last.detail || 'done')
      return last.detail
    }
    progress.update(last.detail, {elapsedMs: Date.now() - started, timeoutMs: ctx.timing.timeoutMs})
    if (Date.now() >= deadline) {
      progress.done(`timed out after ${formatDuration(ctx.timing.timeoutMs)}`)
      throw new PlanError(`timed out after ${ctx.timing.timeoutMs / 1000}s waiting for ${what} (${last.detail})`, {
        remedy: 'Find out why with kubectl (pods, events), or raise --timeout.',
      })
    }
    await sleep(Math.min(ctx.timing.pollMs, Math.max(0, deadline - Date.now())), ctx.signal)
  }
}

/** DaemonSet rollout status, as `kubectl rollout status` judges it. */
export function daemonSetRollout(ds: DaemonSetObject | undefined): Poll {
  if (!ds) return {done: false, detail: 'DaemonSet not found'}
  const s = ds.status ?? {}
  const desired = s.desiredNumberScheduled ?? 0
  const updated = s.updatedNumberScheduled ?? 0
  const available = s.numberAvailable ?? 0
  const ready = s.numberReady ?? 0
  const observed = (s.observedGeneration ?? 0) >= (ds.metadata.generation ?? 0)
  if (!observed) return {done: false, detail: 'waiting for the rollout to start'}
  const detail = `${updated}/${desired} updated, ${ready}/${desired} ready`
  return {done: updated >= desired && available >= desired && ready >= desired, detail}
}

export function deploymentRollout(d: DeploymentObject | undefined): Poll {
  if (!d) return {done: true, detail: 'Deployment gone'}
  const want = d.spec?.replicas ?? 1
  const s = d.status ?? {}
  const observed = (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  if (!observed) return {done: false, detail: 'waiting for the rollout to start'}
  const updated = s.updatedReplicas ?? 0
  const ready = s.readyReplicas ?? 0
  return {done: updated >= want && ready >= want, detail: `${updated}/${want} updated, ${ready}/${want} ready`}
}

export async function waitDaemonSetRollout(
  ctx: StepContext,
  progress: Progress,
  namespace: string,
  name: string,
  extra?: (ds: DaemonSetObject) => Poll | undefined,
) {
  return waitFor(ctx, progress, `rollout of DaemonSet ${namespace}/${name}`, async () => {
    const ds = await ctx.kube.get<DaemonSetObject>(Resources.daemonSets, name, namespace)
    return (ds && extra?.(ds)) ?? daemonSetRollout(ds)
  })
}

export async function waitDeploymentRollout(ctx: StepContext, progress: Progress, namespace: string, name: string) {
  return waitFor(ctx, progress, `rollout of Deployment ${namespace}/${name}`, async () =>
    deploymentRollout(await ctx.kube.get<DeploymentObject>(Resources.deployments, name, namespace)),
  )
}

export async function readFelixDefault(ctx: Pick<StepContext, 'kube' | 'state'>) {
  return ctx.kube.get<FelixConfigurationObject>(calicoResource(ctx.state, Resources.felixConfigurations), 'default')
}

/**
 * The operator's own complaint, when TigeraStatus calico is Degraded (e.g. "spec.calicoNetwork.hostPorts is not
 * supported with the eBPF dataplane"), for a wait's detail; undefined when it is not degraded or cannot be read.
 */
export async function operatorDegradedReason(ctx: Pick<StepContext, 'kube'>): Promise<string | undefined> {
  try {
    type TigeraStatus = KubeObject & {status?: {conditions?: {type: string; status: string; message?: string}[]}}
    const ts = await ctx.kube.get<TigeraStatus>(Resources.tigeraStatuses, 'calico')
    const degraded = ts?.status?.conditions?.find((c) => c.type === 'Degraded' && c.status === 'True')
    return degraded ? degraded.message || 'Degraded' : undefined
  } catch {
    return undefined
  }
}


/** kube-proxy's pods are gone: the DaemonSet schedules none and a list by label finds none. */
export async function waitKubeProxyGone(ctx: StepContext, progress: Progress, namespace: string, name: string) {
  return waitFor(ctx, progress, `kube-proxy pods to go away`, async () => {
    const ds = await ctx.kube.get<DaemonSetObject>(Resources.daemonSets, name, namespace)
    const pods = await ctx.kube.list<PodObject>(Resources.pods, namespace, {
      labelSelector: kubeProxySelector(ds),
      pageSize: 5000,
    })
    const scheduled = ds?.status?.currentNumberScheduled ?? 0
    return {done: pods.length === 0 && scheduled === 0, detail: `${pods.length} pods left`}
  })
}

/** kube-proxy is back: rollout complete and every pod Ready. */
export async function waitKubeProxyReady(ctx: StepContext, progress: Progress, namespace: string, name: string) {
  return waitFor(ctx, progress, `kube-proxy pods to be Ready`, async () => {
    const ds = await ctx.kube.get<DaemonSetObject>(Resources.daemonSets, name, namespace)
    if (!ds) return {done: true, detail: 'no kube-proxy DaemonSet'}
    const roll = daemonSetRollout(ds)
    if (!roll.done) return roll
    const pods = await ctx.kube.list<PodObject>(Resources.pods, namespace, {
      labelSelector: kubeProxySelector(ds),
      pageSize: 5000,
    })
    const want = ds.status?.desiredNumberScheduled ?? 0
    const ready = pods.filter(podReady).length
    return {done: ready >= want, detail: `${ready}/${want} pods Ready`}
  })
}

export function kubeProxySelector(ds: DaemonSetObject | undefined): string {
  const labels = ds?.spec?.selector?.matchLabels ?? {'k8s-app': 'kube-proxy'}
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}
