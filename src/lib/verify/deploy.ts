import type {KubeClient} from '../kube/client.js'
import {KubeApiError} from '../kube/errors.js'
import {Resources} from '../kube/resources.js'
import type {KubeObject} from '../kube/types.js'
import {UserError} from '../errors.js'
import {sleep} from '../plan/retry.js'
import {formatDuration, waitClock} from '../duration.js'
import {
  LOCAL_SERVICE,
  OWNER_LABEL,
  OWNER_VALUE,
  VERIFY_APP,
  VERIFY_NAMESPACE,
  type WorkloadOptions,
  deploymentObject,
  namespaceObject,
  serviceObject,
} from './workload.js'

export interface VerifyPod {
  name: string
  node: string
  ip: string
}

export interface Workload {
  pods: VerifyPod[]
  nodePort: number
  clusterIP: string
  localNodePort?: number
}

export interface WaitOptions {
  timeoutMs: number
  pollMs: number
  signal: AbortSignal
  progress: (line: string) => void
}

export class VerifyInterrupted extends UserError {
  constructor() {
    super('interrupted (SIGINT)')
  }
}

function checkSignal(signal: AbortSignal): void {
  if (signal.aborted) throw new VerifyInterrupted()
}

const isOurs = (ns: KubeObject | undefined) => ns?.metadata.labels?.[OWNER_LABEL] === OWNER_VALUE

/**
 * Creates the namespace, the Deployment and the Service(s) and waits until every replica is Ready on its node and the
 * Service's EndpointSlices list them. A namespace of that name that verify did not make is refused; one left by an
 * earlier run (--keep, or a run that died) is deleted first.
 */
export async function deployWorkload(kube: KubeClient, opts: WorkloadOptions, wait: WaitOptions): Promise<Workload> {
  const existing = await kube.get(Resources.namespaces, VERIFY_NAMESPACE)
  if (existing && !isOurs(existing)) {
    throw new UserError(`namespace ${VERIFY_NAMESPACE} exists and is not ebpfctl verify's (no label ${OWNER_LABEL}=${OWNER_VALUE})`, {
      remedy: `verify deploys into its own namespace and deletes it afterwards; rename or remove the namespace ${VERIFY_NAMESPACE}.`,
    })
  }
  if (existing) {
    wait.progress(`deleting namespace ${VERIFY_NAMESPACE} left by an earlier run …`)
    await kube.delete(Resources.namespaces, VERIFY_NAMESPACE)
    await until(wait, `namespace ${VERIFY_NAMESPACE} from an earlier run to be gone`, async () =>
      (await kube.get(Resources.namespaces, VERIFY_NAMESPACE)) ? 'still terminating' : true,
    )
  }
  checkSignal(wait.signal)
  wait.progress(`deploying ${opts.replicas} agnhost netexec pods (${opts.image}) into namespace ${VERIFY_NAMESPACE}`)
  await kube.create(Resources.namespaces, namespaceObject())
  await kube.create(Resources.deployments, deploymentObject(opts))
  const svc = await kube.create(Resources.services, serviceObject(VERIFY_APP, 'Cluster'))
  const local = opts.localService ? await kube.create(Resources.services, serviceObject(LOCAL_SERVICE, 'Local')) : undefined

  let pods: VerifyPod[] = []
  await until(wait, `${opts.replicas} verify pods to be Ready`, async () => {
    const list = await kube.list(Resources.pods, VERIFY_NAMESPACE, {labelSelector: `app=${VERIFY_APP}`})
    pods = list.filter(podReady).map((p) => ({name: p.metadata.name, node: String((p.spec as any)?.nodeName ?? ''), ip: String((p.status as any)?.podIP ?? '')}))
    return (pods.length >= opts.replicas && pods.every((p) => p.node && p.ip)) || `${pods.length}/${opts.replicas} Ready`
  })
  pods = pods.sort((a, b) => a.node.localeCompare(b.node) || a.name.localeCompare(b.name))
  for (const name of [VERIFY_APP, ...(local ? [LOCAL_SERVICE] : [])]) {
    await until(wait, `Service ${name}'s EndpointSlices to list every pod`, async () => {
      const slices = await kube.list(Resources.endpointSlices, VERIFY_NAMESPACE, {labelSelector: `kubernetes.io/service-name=${name}`})
      const ready = new Set(
        slices.flatMap((s) => ((s as any).endpoints ?? []) as any[]).filter((e) => e?.conditions?.ready !== false).flatMap((e) => e.addresses ?? []),
      )
      const listed = pods.filter((p) => ready.has(p.ip)).length
      return listed === pods.length || `${listed}/${pods.length} pods listed`
    })
  }
  const svcNow = (await kube.get(Resources.services, VERIFY_APP, VERIFY_NAMESPACE)) ?? svc
  const nodePort = Number((svcNow.spec as any)?.ports?.[0]?.nodePort)
  const clusterIP = String((svcNow.spec as any)?.clusterIP ?? '')
  if (!Number.isInteger(nodePort) || nodePort <= 0 || nodePort > 65535 || !clusterIP) {
    throw new UserError(`Service ${VERIFY_NAMESPACE}/${VERIFY_APP} has no nodePort or clusterIP`, {
      remedy: 'Check that the API server allocates NodePorts (service-node-port-range) and ClusterIPs.',
    })
  }
  let localNodePort: number | undefined
  if (local) {
    const l = await kube.get(Resources.services, LOCAL_SERVICE, VERIFY_NAMESPACE)
    localNodePort = Number((l?.spec as any)?.ports?.[0]?.nodePort) || undefined
  }
  return {pods, nodePort, clusterIP, localNodePort}
}

function podReady(p: KubeObject): boolean {
  const status = p.status as {phase?: string; conditions?: {type: string; status: string}[]} | undefined
  return !p.metadata.deletionTimestamp && status?.phase === 'Running' && !!status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
}

/**
 * Polls `poll` until it returns true or the bound passes. Otherwise it returns what it sees ("1/3 Ready"), which is
 * shown with the elapsed time and the bound when it changes and every 10 s while it does not: never a line per poll.
 */
async function until(wait: WaitOptions, what: string, poll: () => Promise<true | string>): Promise<void> {
  const started = Date.now()
  const deadline = started + wait.timeoutMs
  wait.progress(`waiting for ${what} …`)
  let shown: string | undefined
  let shownAt = started
  for (;;) {
    checkSignal(wait.signal)
    const state = await poll()
    if (state === true) return
    if (state !== shown || Date.now() - shownAt >= 10_000) {
      wait.progress(`waiting for ${what}: ${state} (${waitClock(Date.now() - started, wait.timeoutMs)})`)
      shown = state
      shownAt = Date.now()
    }
    if (Date.now() + wait.pollMs > deadline) {
      throw new UserError(`timed out after ${formatDuration(wait.timeoutMs)} waiting for ${what} (${state})`, {
        remedy:
          `Look at the pods: kubectl get pods,events -n ${VERIFY_NAMESPACE} (an image that cannot be pulled? use --image ` +
          `with a mirror of agnhost), or raise --timeout. Run with --keep to leave the workload for inspection.`,
      })
    }
    await sleep(wait.pollMs, wait.signal)
  }
}

/** Deletes verify's namespace (and with it everything verify made); only when it carries verify's label. */
export async function cleanupWorkload(kube: KubeClient): Promise<boolean> {
  try {
    const ns = await kube.get(Resources.namespaces, VERIFY_NAMESPACE)
    if (!ns || !isOurs(ns)) return false
    return await kube.delete(Resources.namespaces, VERIFY_NAMESPACE)
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 404) return false
    throw err
  }
}
