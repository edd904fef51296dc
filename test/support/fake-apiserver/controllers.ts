/**
 * Workload controllers, run synchronously by the store after every write that touches a watched type (nodes, pods,
 * daemonsets, deployments, replicasets). Rollouts are instantaneous: a template change replaces every pod in the same
 * write. Scheduling honours nodeSelector and required nodeAffinity (labels only); taints/tolerations are ignored.
 */
import {createHash} from 'node:crypto'

import {matchesLabelSelector} from './selectors.js'
import {type Controller, type ResourceType, type Store, stableStringify, typeKey} from './store.js'

const NODES = typeKey('', 'nodes')
const PODS = typeKey('', 'pods')
const DS = typeKey('apps', 'daemonsets')
const DEPLOY = typeKey('apps', 'deployments')
const RS = typeKey('apps', 'replicasets')

/** A 10-character hash of a pod template (the controller-revision-hash / pod-template-hash label value). */
export function templateHash(template: unknown): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  const digest = createHash('sha256').update(stableStringify(template)).digest()
  let s = ''
  for (let i = 0; i < 10; i++) s += alphabet[digest[i]! % alphabet.length]
  return s
}

function nodeMatchesTerm(labels: Record<string, string>, term: any): boolean {
  return (term.matchExpressions ?? []).every((e: any) => {
    const v = labels[e.key]
    switch (e.operator) {
      case 'In':
        return v !== undefined && (e.values ?? []).includes(v)
      case 'NotIn':
        return v === undefined || !(e.values ?? []).includes(v)
      case 'Exists':
        return v !== undefined
      case 'DoesNotExist':
        return v === undefined
      case 'Gt':
        return v !== undefined && Number(v) > Number(e.values?.[0])
      case 'Lt':
        return v !== undefined && Number(v) < Number(e.values?.[0])
      default:
        return false
    }
  })
}

/** Does the pod spec's nodeSelector / required node affinity admit this node? */
export function nodeFits(node: any, podSpec: any): boolean {
  const labels: Record<string, string> = node.metadata?.labels ?? {}
  for (const [k, v] of Object.entries(podSpec?.nodeSelector ?? {})) if (labels[k] !== v) return false
  const terms = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
  if (Array.isArray(terms) && terms.length && !terms.some((t: any) => nodeMatchesTerm(labels, t))) return false
  return true
}

function isReady(pod: any): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True')
}

function nodeIP(node: any): string | undefined {
  return (node?.status?.addresses ?? []).find((a: any) => a.type === 'InternalIP')?.address
}

let podIPCounter = 0

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** A running, ready Pod from a template (status as the kubelet would report it). */
function makePod(
  store: Store,
  opts: {
    owner: any
    ownerKind: string
    ownerApiVersion: string
    name: string
    template: any
    extraLabels: Record<string, string>
    node?: any
  },
): any {
  const t = structuredClone(opts.template ?? {})
  const spec = t.spec ?? {}
  const ts = now()
  const node = opts.node
  if (node) spec.nodeName = node.metadata.name
  spec.restartPolicy ??= 'Always'
  spec.dnsPolicy ??= 'ClusterFirst'
  spec.schedulerName ??= 'default-scheduler'
  spec.terminationGracePeriodSeconds ??= 30
  const hostIP = nodeIP(node)
  const podIP = spec.hostNetwork
    ? hostIP
    : `192.168.${Math.floor(++podIPCounter / 250) % 256}.${(podIPCounter % 250) + 2}`
  const scheduled = !!node
  const cond = (type: string, status = 'True') => ({type, status, lastProbeTime: null, lastTransitionTime: ts})
  const containerStatus = (c: any, init: boolean) => ({
    name: c.name,
    image: c.image,
    imageID: `${String(c.image ?? '').split(':')[0]}@sha256:${createHash('sha256').update(String(c.image)).digest('hex')}`,
    containerID: `containerd://${createHash('sha256').update(`${opts.name}/${c.name}`).digest('hex')}`,
    ready: !init,
    started: !init,
    restartCount: 0,
    state: init
      ? {terminated: {exitCode: 0, reason: 'Completed', startedAt: ts, finishedAt: ts}}
      : {running: {startedAt: ts}},
  })
  const pod: any = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: opts.name,
      generateName: opts.name.slice(0, opts.name.lastIndexOf('-') + 1),
      namespace: opts.owner.metadata.namespace,
      labels: {...(t.metadata?.labels ?? {}), ...opts.extraLabels},
      ...(t.metadata?.annotations ? {annotations: t.metadata.annotations} : {}),
      ownerReferences: [
        {
          apiVersion: opts.ownerApiVersion,
          kind: opts.ownerKind,
          name: opts.owner.metadata.name,
          uid: opts.owner.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
    status: scheduled
      ? {
          phase: 'Running',
          conditions: [
            cond('PodReadyToStartContainers'),
            cond('Initialized'),
            cond('Ready'),
            cond('ContainersReady'),
            cond('PodScheduled'),
          ],
          hostIP,
          ...(hostIP ? {hostIPs: [{ip: hostIP}]} : {}),
          podIP,
          ...(podIP ? {podIPs: [{ip: podIP}]} : {}),
          startTime: ts,
          qosClass: 'Burstable',
          ...(spec.initContainers?.length
            ? {initContainerStatuses: spec.initContainers.map((c: any) => containerStatus(c, true))}
            : {}),
          containerStatuses: (spec.containers ?? []).map((c: any) => containerStatus(c, false)),
        }
      : {
          phase: 'Pending',
          conditions: [{...cond('PodScheduled', 'False'), reason: 'Unschedulable', message: '0/0 nodes are available'}],
          qosClass: 'Burstable',
        },
  }
  store.podHook?.(pod, {owner: opts.owner, node})
  return pod
}

function t(store: Store, group: string, plural: string): ResourceType {
  return store.typeByPlural(group, plural)!
}

/** Pods of `namespace` controlled by the owner with this uid. */
function ownedPods(store: Store, namespace: string, uid: string): any[] {
  return store
    .ownedBy(t(store, '', 'pods'), uid)
    .filter(
      (p) =>
        p.metadata.namespace === namespace &&
        (p.metadata.ownerReferences ?? []).some((r: any) => r.uid === uid && r.controller !== false),
    )
}

function setStatus(store: Store, rt: ResourceType, obj: any, status: Record<string, unknown>): void {
  const clean = Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined))
  if (stableStringify(clean) === stableStringify(obj.status ?? {})) return
  store.update(rt, {...obj, status: clean}, {subresource: 'status', force: true})
}

function reconcileDaemonSet(store: Store, ds: any): void {
  const podsT = t(store, '', 'pods')
  const ns = ds.metadata.namespace
  const tmpl = ds.spec?.template ?? {}
  const hash = templateHash(tmpl)
  const onDelete = ds.spec?.updateStrategy?.type === 'OnDelete'
  const nodes = store.peekList(t(store, '', 'nodes'))
  const wanted = new Map<string, any>()
  for (const n of nodes) if (nodeFits(n, tmpl.spec)) wanted.set(n.metadata.name, n)
  const byNode = new Map<string, any[]>()
  for (const p of ownedPods(store, ns, ds.metadata.uid)) {
    const node = p.spec?.nodeName ?? ''
    if (!wanted.has(node)) {
      store.remove(podsT, p.metadata.name, ns)
      continue
    }
    const list = byNode.get(node) ?? []
    list.push(p)
    byNode.set(node, list)
  }
  for (const [nodeName, node] of wanted) {
    let pods = byNode.get(nodeName) ?? []
    if (!onDelete) {
      for (const p of pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] !== hash)) {
        store.remove(podsT, p.metadata.name, ns)
      }
      pods = pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash)
    }
    for (const extra of pods.slice(1)) store.remove(podsT, extra.metadata.name, ns)
    if (pods.length === 0) {
      let name: string
      do name = `${ds.metadata.name}-${store.randomSuffix()}`
      while (store.peek(podsT, name, ns))
      // As the real DaemonSet controller: pin the pod to its node with required node affinity on metadata.name.
      const pinned = structuredClone(tmpl)
      pinned.spec ??= {}
      pinned.spec.affinity = {
        ...pinned.spec.affinity,
        nodeAffinity: {
          ...pinned.spec.affinity?.nodeAffinity,
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{matchFields: [{key: 'metadata.name', operator: 'In', values: [nodeName]}]}],
          },
        },
      }
      const pod = makePod(store, {
        owner: ds,
        ownerKind: 'DaemonSet',
        ownerApiVersion: 'apps/v1',
        name,
        template: pinned,
        extraLabels: {'controller-revision-hash': hash, 'pod-template-generation': String(ds.metadata.generation ?? 1)},
        node,
      })
      store.create(podsT, pod)
    }
  }
  const current = ownedPods(store, ns, ds.metadata.uid)
  const updated = current.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash)
  const ready = current.filter(isReady)
  const desired = wanted.size
  const fresh = store.peek(t(store, 'apps', 'daemonsets'), ds.metadata.name, ns)
  // omitempty like the real DaemonSetStatus: numberAvailable, numberUnavailable, updatedNumberScheduled.
  setStatus(store, t(store, 'apps', 'daemonsets'), fresh, {
    currentNumberScheduled: new Set(current.map((p) => p.spec?.nodeName)).size,
    desiredNumberScheduled: desired,
    numberAvailable: ready.length || undefined,
    numberMisscheduled: 0,
    numberReady: ready.length,
    numberUnavailable: desired - ready.length > 0 ? desired - ready.length : undefined,
    observedGeneration: fresh.metadata.generation,
    updatedNumberScheduled: updated.length || undefined,
  })
}

function reconcileDeployment(store: Store, d: any): void {
  const rsT = t(store, 'apps', 'replicasets')
  const ns = d.metadata.namespace
  const tmpl = d.spec?.template ?? {}
  const hash = templateHash(tmpl)
  const replicas = d.spec?.replicas ?? 1
  const mine = store.ownedBy(rsT, d.metadata.uid).filter((rs) => rs.metadata.namespace === ns)
  let currentRs = mine.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash)
  for (const rs of mine) {
    if (rs !== currentRs && (rs.spec?.replicas ?? 0) !== 0) {
      store.update(rsT, {...structuredClone(rs), spec: {...rs.spec, replicas: 0}}, {force: true})
    }
  }
  const rsTemplate = structuredClone(tmpl)
  rsTemplate.metadata = {
    ...(rsTemplate.metadata ?? {}),
    labels: {...(rsTemplate.metadata?.labels ?? {}), 'pod-template-hash': hash},
  }
  if (!currentRs) {
    currentRs = store.create(rsT, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: ns,
        labels: rsTemplate.metadata.labels,
        annotations: {
          'deployment.kubernetes.io/desired-replicas': String(replicas),
          'deployment.kubernetes.io/revision': String(mine.length + 1),
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: d.metadata.name,
            uid: d.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        replicas,
        selector: {
          ...d.spec.selector,
          matchLabels: {...(d.spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash},
        },
        template: rsTemplate,
      },
    })
  } else if ((currentRs.spec?.replicas ?? 0) !== replicas) {
    store.update(rsT, {...structuredClone(currentRs), spec: {...currentRs.spec, replicas}}, {force: true})
  }
  reconcileAllReplicaSets(store, ns)
  const pods = mine.concat(currentRs).flatMap((rs) => ownedPods(store, ns, rs.metadata.uid))
  const uniq = [...new Map(pods.map((p) => [p.metadata.name, p])).values()]
  const updated = uniq.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash)
  const ready = uniq.filter(isReady)
  const fresh = store.peek(t(store, 'apps', 'deployments'), d.metadata.name, ns)
  const available = ready.length >= replicas
  const ts = now()
  setStatus(store, t(store, 'apps', 'deployments'), fresh, {
    observedGeneration: fresh.metadata.generation,
    replicas: uniq.length || undefined,
    updatedReplicas: updated.length || undefined,
    readyReplicas: ready.length || undefined,
    availableReplicas: ready.length || undefined,
    unavailableReplicas: replicas - ready.length > 0 ? replicas - ready.length : undefined,
    conditions: [
      {
        type: 'Available',
        status: available ? 'True' : 'False',
        reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        message: available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
        lastUpdateTime: fresh.status?.conditions?.[0]?.lastUpdateTime ?? ts,
        lastTransitionTime: fresh.status?.conditions?.[0]?.lastTransitionTime ?? ts,
      },
      {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: `ReplicaSet "${d.metadata.name}-${hash}" has successfully progressed.`,
        lastUpdateTime: fresh.status?.conditions?.[1]?.lastUpdateTime ?? ts,
        lastTransitionTime: fresh.status?.conditions?.[1]?.lastTransitionTime ?? ts,
      },
    ],
  })
}

function reconcileReplicaSet(store: Store, rs: any): void {
  const podsT = t(store, '', 'pods')
  const ns = rs.metadata.namespace
  const replicas = rs.spec?.replicas ?? 1
  const tmpl = rs.spec?.template ?? {}
  let pods = ownedPods(store, ns, rs.metadata.uid)
  // Pods whose node went away are gone (the node lifecycle controller, instantly).
  for (const p of pods) {
    if (p.spec?.nodeName && !store.peek(t(store, '', 'nodes'), p.spec.nodeName))
      store.remove(podsT, p.metadata.name, ns)
  }
  pods = ownedPods(store, ns, rs.metadata.uid)
  for (const p of pods.slice(replicas)) store.remove(podsT, p.metadata.name, ns)
  const nodes = store.peekList(t(store, '', 'nodes')).filter((n) => nodeFits(n, tmpl.spec) && !n.spec?.unschedulable)
  for (let i = pods.length; i < replicas; i++) {
    // Spread: the node with the fewest pods of this ReplicaSet.
    const count = new Map<string, number>()
    for (const p of ownedPods(store, ns, rs.metadata.uid))
      count.set(p.spec?.nodeName, (count.get(p.spec?.nodeName) ?? 0) + 1)
    const node = [...nodes].sort((a, b) => (count.get(a.metadata.name) ?? 0) - (count.get(b.metadata.name) ?? 0))[0]
    let name: string
    do name = `${rs.metadata.name}-${store.randomSuffix()}`
    while (store.peek(podsT, name, ns))
    store.create(
      podsT,
      makePod(store, {
        owner: rs,
        ownerKind: 'ReplicaSet',
        ownerApiVersion: 'apps/v1',
        name,
        template: tmpl,
        extraLabels: {},
        node,
      }),
    )
  }
  const current = ownedPods(store, ns, rs.metadata.uid)
  const ready = current.filter(isReady).length
  setStatus(store, t(store, 'apps', 'replicasets'), store.peek(t(store, 'apps', 'replicasets'), rs.metadata.name, ns), {
    replicas: current.length,
    fullyLabeledReplicas: current.length || undefined,
    readyReplicas: ready || undefined,
    availableReplicas: ready || undefined,
    observedGeneration: rs.metadata.generation,
  })
}

function reconcileAllReplicaSets(store: Store, namespace?: string): void {
  for (const rs of store.peekList(t(store, 'apps', 'replicasets'), namespace)) {
    const live = store.peek(t(store, 'apps', 'replicasets'), rs.metadata.name, rs.metadata.namespace)
    if (live) reconcileReplicaSet(store, live)
  }
}

export const workloadControllers: Controller[] = [
  {
    name: 'daemonset',
    watches: [NODES, PODS, DS],
    run(store) {
      for (const ds of store.peekList(t(store, 'apps', 'daemonsets'))) {
        const live = store.peek(t(store, 'apps', 'daemonsets'), ds.metadata.name, ds.metadata.namespace)
        if (live) reconcileDaemonSet(store, live)
      }
    },
  },
  {
    name: 'deployment',
    watches: [NODES, PODS, DEPLOY, RS],
    run(store) {
      for (const d of store.peekList(t(store, 'apps', 'deployments'))) {
        const live = store.peek(t(store, 'apps', 'deployments'), d.metadata.name, d.metadata.namespace)
        if (live) reconcileDeployment(store, live)
      }
      // ReplicaSets without a Deployment too.
      reconcileAllReplicaSets(store)
    },
  },
]

export {matchesLabelSelector}
