/**
 * An in-memory KubeClient for unit tests of the plan runner: objects in a Map, real merge/strategic/JSON patch
 * semantics (shared with the fake API server), a request log, fault injection, and tiny instant "controllers"
 * (DaemonSets schedule one Ready pod per matching node; optionally an operator that follows the Installation).
 */
import type {ExecResult, KubeClient, ListOptions, PatchType} from '../../src/lib/kube/client.js'
import {type Verb, KubeApiError} from '../../src/lib/kube/errors.js'
import {type ResourceRef, Resources} from '../../src/lib/kube/resources.js'
import type {KubeObject} from '../../src/lib/kube/types.js'
import {jsonPatch, mergePatch, strategicMergePatch} from './fake-apiserver/patch.js'

export interface StubRequest {
  verb: Verb
  plural: string
  namespace?: string
  name?: string
  body?: unknown
}

export type StubFault = (req: StubRequest, index: {all: number; writes: number}) => KubeApiError | undefined

const WRITE_VERBS = new Set<Verb>(['create', 'update', 'patch', 'delete'])
const key = (r: Pick<ResourceRef, 'group' | 'plural'>, ns: string | undefined, name: string) =>
  `${r.group}/${r.plural}/${ns ?? ''}/${name}`

export function apiError(code: number, verb: Verb, reason?: string): KubeApiError {
  return new KubeApiError({code, verb, reason, message: `injected ${code}${reason ? ` ${reason}` : ''} on ${verb}`})
}

function matchLabels(sel: string | undefined, labels: Record<string, string> = {}): boolean {
  if (!sel) return true
  return sel.split(/,(?![^(]*\))/).every((term) => {
    const inMatch = term.match(/^\s*([^\s]+)\s+in\s+\(([^)]*)\)\s*$/)
    if (inMatch)
      return inMatch[2]!
        .split(',')
        .map((s) => s.trim())
        .includes(labels[inMatch[1]!] ?? '\0')
    const [k, v] = term.split('=')
    return labels[k!.trim()] === v?.trim()
  })
}

export interface StubNode {
  name: string
  /** false: Felix falls back to iptables on this node. */
  bpfSupported?: boolean
  labels?: Record<string, string>
}

export class KubeStub implements KubeClient {
  async proxyGet(): Promise<{status: number; body: string}> {
    return {status: 503, body: 'no pod proxy in KubeStub'}
  }
  readonly server = 'https://10.0.0.10:6443'
  readonly objects = new Map<string, KubeObject>()
  readonly requests: StubRequest[] = []
  fault?: StubFault
  /** Called after every successful write (instant controllers). */
  reactors: ((stub: KubeStub) => void)[] = []
  groups = new Map<string, string[]>([
    ['', ['v1']],
    ['apps', ['v1']],
    ['crd.projectcalico.org', ['v1']],
  ])
  podLogHandler: (pod: KubeObject) => string = () => ''
  private writes = 0

  writeRequests(): StubRequest[] {
    return this.requests.filter((r) => WRITE_VERBS.has(r.verb))
  }

  seed(resource: ResourceRef, obj: KubeObject): void {
    this.objects.set(
      key(resource, obj.metadata.namespace, obj.metadata.name),
      structuredClone({generation: 1, ...obj, metadata: {generation: 1, ...obj.metadata}}),
    )
    this.react()
  }

  peek<T extends KubeObject = KubeObject>(resource: ResourceRef, name: string, namespace?: string): T | undefined {
    const o = this.objects.get(key(resource, namespace, name))
    return o ? (structuredClone(o) as T) : undefined
  }

  private record(req: StubRequest): void {
    this.requests.push(req)
    const isWrite = WRITE_VERBS.has(req.verb)
    if (isWrite) this.writes++
    const err = this.fault?.(req, {all: this.requests.length, writes: isWrite ? this.writes : 0})
    if (err) throw err
  }

  private react(): void {
    for (const r of this.reactors) r(this)
  }

  async get<T extends KubeObject>(resource: ResourceRef, name: string, namespace?: string): Promise<T | undefined> {
    this.record({verb: 'get', plural: resource.plural, namespace, name})
    return this.peek<T>(resource, name, namespace)
  }

  async list<T extends KubeObject>(resource: ResourceRef, namespace?: string, opts: ListOptions = {}): Promise<T[]> {
    this.record({verb: 'list', plural: resource.plural, namespace})
    if (resource.group && !this.groups.has(resource.group)) return []
    const prefix = `${resource.group}/${resource.plural}/`
    const out: T[] = []
    for (const [k, o] of this.objects) {
      if (!k.startsWith(prefix)) continue
      if (namespace !== undefined && o.metadata.namespace !== namespace) continue
      if (!matchLabels(opts.labelSelector, o.metadata.labels)) continue
      const f = opts.fieldSelector?.match(/^metadata\.name=(.*)$/)
      if (f && o.metadata.name !== f[1]) continue
      out.push(structuredClone(o) as T)
    }
    return out
  }

  async create<T extends KubeObject>(resource: ResourceRef, obj: T): Promise<T> {
    // SelfSubjectAccessReview (enable/revert's permission gate): a question, not a write; everything is allowed.
    if (resource.plural === 'selfsubjectaccessreviews') return {...obj, status: {allowed: true}}
    const ns = obj.metadata.namespace
    this.record({verb: 'create', plural: resource.plural, namespace: ns, name: obj.metadata.name, body: obj})
    const k = key(resource, ns, obj.metadata.name)
    if (this.objects.has(k)) throw apiError(409, 'create', 'AlreadyExists')
    this.objects.set(k, structuredClone({...obj, metadata: {...obj.metadata, generation: 1}}))
    this.react()
    return this.peek<T>(resource, obj.metadata.name, ns)!
  }

  async replace<T extends KubeObject>(resource: ResourceRef, obj: T): Promise<T> {
    this.record({
      verb: 'update',
      plural: resource.plural,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name,
      body: obj,
    })
    const k = key(resource, obj.metadata.namespace, obj.metadata.name)
    if (!this.objects.has(k)) throw apiError(404, 'update')
    this.objects.set(k, structuredClone(obj))
    this.react()
    return structuredClone(obj)
  }

  async patch<T extends KubeObject>(
    resource: ResourceRef,
    name: string,
    namespace: string | undefined,
    body: unknown,
    type: PatchType,
  ): Promise<T> {
    this.record({verb: 'patch', plural: resource.plural, namespace, name, body})
    const k = key(resource, namespace, name)
    const cur = this.objects.get(k)
    if (!cur) throw apiError(404, 'patch')
    if (type === 'strategic' && resource.group !== '' && resource.group !== 'apps') throw apiError(415, 'patch')
    const next = (
      type === 'merge'
        ? mergePatch(cur, body)
        : type === 'strategic'
          ? strategicMergePatch(cur, body)
          : jsonPatch(cur, body)
    ) as KubeObject
    if (JSON.stringify((next as {spec?: unknown}).spec) !== JSON.stringify((cur as {spec?: unknown}).spec)) {
      next.metadata = {...next.metadata, generation: (cur.metadata.generation ?? 1) + 1}
    }
    this.objects.set(k, next)
    this.react()
    return this.peek<T>(resource, name, namespace)!
  }

  async delete(resource: ResourceRef, name: string, namespace?: string): Promise<boolean> {
    this.record({verb: 'delete', plural: resource.plural, namespace, name})
    const had = this.objects.delete(key(resource, namespace, name))
    this.react()
    return had
  }

  async apiGroups(): Promise<Map<string, string[]>> {
    return this.groups
  }

  async podLogs(namespace: string, pod: string): Promise<string> {
    this.record({verb: 'logs', plural: 'pods', namespace, name: pod})
    const p = this.peek(Resources.pods, pod, namespace)
    if (!p) throw apiError(404, 'logs')
    return this.podLogHandler(p)
  }

  async exec(): Promise<ExecResult> {
    throw new Error('exec is not supported by the stub')
  }

  close(): void {}
}

const nodeSelectorFits = (sel: Record<string, string> | undefined, labels: Record<string, string> = {}) =>
  Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v)

/** DaemonSets schedule one Ready pod per node matching their nodeSelector; status reflects the template at once. */
export function daemonSetController(stub: KubeStub): void {
  const nodes = [...stub.objects.values()].filter((o) => o.kind === 'Node')
  for (const [k, ds] of stub.objects) {
    if (ds.kind !== 'DaemonSet') continue
    const spec = ds.spec as {
      template: {spec?: {nodeSelector?: Record<string, string>}}
      selector?: {matchLabels?: Record<string, string>}
    }
    const fits = nodes.filter((n) => nodeSelectorFits(spec.template.spec?.nodeSelector, n.metadata.labels))
    const templ = JSON.stringify(spec.template)
    const labels = spec.selector?.matchLabels ?? {}
    const ns = ds.metadata.namespace!
    const want = new Set(fits.map((n) => `${ds.metadata.name}-${n.metadata.name}`))
    for (const [pk, pod] of stub.objects) {
      if (pod.kind === 'Pod' && pod.metadata.namespace === ns && pod.metadata.annotations?.owner === ds.metadata.name) {
        if (!want.has(pod.metadata.name) || pod.metadata.annotations?.template !== templ) stub.objects.delete(pk)
      }
    }
    for (const n of fits) {
      const name = `${ds.metadata.name}-${n.metadata.name}`
      const pk = `/pods/${ns}/${name}`
      if (stub.objects.has(pk)) continue
      stub.objects.set(pk, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {name, namespace: ns, labels, annotations: {owner: ds.metadata.name, template: templ}},
        spec: {nodeName: n.metadata.name},
        status: {phase: 'Running', conditions: [{type: 'Ready', status: 'True'}]},
      })
    }
    const count = fits.length
    stub.objects.set(k, {
      ...ds,
      status: {
        desiredNumberScheduled: count,
        currentNumberScheduled: count,
        updatedNumberScheduled: count,
        numberReady: count,
        numberAvailable: count,
        observedGeneration: ds.metadata.generation ?? 1,
      },
    })
  }
}

/** calico-node logs what Felix would: BPF active, or the fallback line on nodes without BPF support. */
export function felixLogs(
  stub: KubeStub,
  felixRef: ResourceRef = Resources.felixConfigurations,
): (pod: KubeObject) => string {
  return (pod) => {
    const fc = stub.peek<KubeObject & {spec?: {bpfEnabled?: boolean}}>(felixRef, 'default')
    if (fc?.spec?.bpfEnabled !== true) return 'Felix starting up\n'
    const node = stub.peek(Resources.nodes, (pod.spec as {nodeName: string}).nodeName)
    if (node?.metadata.labels?.['test/bpf'] === 'unsupported') {
      return (
        'BPF dataplane mode enabled but not supported by the kernel.  Disabling BPF mode. error=kernel is too ' +
        'old\n'
      )
    }
    return 'BPF enabled, starting BPF endpoint manager and map manager.\n'
  }
}

/** A manifest-install cluster: kube-system calico-node, kube-proxy, FelixConfiguration default, kubernetes Service. */
export function manifestCluster(
  opts: {nodes?: StubNode[]; kubeProxySelector?: Record<string, string>; dsr?: string; felixEnv?: string} = {},
): KubeStub {
  const stub = new KubeStub()
  stub.reactors.push(daemonSetController)
  stub.podLogHandler = felixLogs(stub)
  const nodes = opts.nodes ?? [{name: 'n1'}, {name: 'n2'}, {name: 'n3'}]
  for (const n of nodes) {
    stub.seed(Resources.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: n.name,
        labels: {
          'kubernetes.io/os': 'linux',
          ...(n.bpfSupported === false ? {'test/bpf': 'unsupported'} : {}),
          ...n.labels,
        },
      },
      status: {
        nodeInfo: {
          kernelVersion: '6.8.0-45-generic',
          osImage: 'Ubuntu 24.04 LTS',
          architecture: 'amd64',
          operatingSystem: 'linux',
        },
      },
    })
  }
  stub.seed(Resources.daemonSets, {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {name: 'calico-node', namespace: 'kube-system', labels: {'k8s-app': 'calico-node'}},
    spec: {
      selector: {matchLabels: {'k8s-app': 'calico-node'}},
      template: {
        metadata: {labels: {'k8s-app': 'calico-node'}},
        spec: {
          nodeSelector: {'kubernetes.io/os': 'linux'},
          containers: [
            {
              name: 'calico-node',
              image: 'quay.io/calico/node:v3.32.1',
              env: [
                {name: 'CALICO_NETWORKING_BACKEND', value: 'bird'},
                ...(opts.felixEnv ? [{name: 'FELIX_BPFENABLED', value: opts.felixEnv}] : []),
              ],
              envFrom: [{configMapRef: {name: 'kubernetes-services-endpoint', optional: true}}],
            },
          ],
        },
      },
    },
  })
  stub.seed(Resources.daemonSets, {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {name: 'kube-proxy', namespace: 'kube-system', labels: {'k8s-app': 'kube-proxy'}},
    spec: {
      selector: {matchLabels: {'k8s-app': 'kube-proxy'}},
      template: {
        metadata: {labels: {'k8s-app': 'kube-proxy'}},
        spec: {
          nodeSelector: opts.kubeProxySelector ?? {'kubernetes.io/os': 'linux'},
          containers: [{name: 'kube-proxy'}],
        },
      },
    },
  })
  stub.seed(Resources.felixConfigurations, {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'FelixConfiguration',
    metadata: {name: 'default'},
    spec: {logSeverityScreen: 'Info', ...(opts.dsr ? {bpfExternalServiceMode: opts.dsr} : {})},
  })
  stub.seed(Resources.clusterInformations, {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'ClusterInformation',
    metadata: {name: 'default'},
    spec: {calicoVersion: 'v3.32.1', clusterType: 'k8s,bgp,kubeadm'},
  })
  stub.seed(Resources.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name: 'kubernetes', namespace: 'default'},
    spec: {clusterIP: '10.96.0.1', ports: [{name: 'https', port: 443}]},
  })
  stub.seed(Resources.endpointSlices, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {name: 'kubernetes', namespace: 'default', labels: {'kubernetes.io/service-name': 'kubernetes'}},
    endpoints: [{addresses: ['10.0.0.10']}],
    ports: [{name: 'https', port: 6443}],
  } as KubeObject)
  stub.requests.length = 0
  return stub
}

/** The fields enable touches on a manifest cluster, for before/after comparisons. */
export function manifestSnapshot(stub: KubeStub): unknown {
  const fc = stub.peek(Resources.felixConfigurations, 'default')
  const kp = stub.peek(Resources.daemonSets, 'kube-proxy', 'kube-system') as {spec?: {template?: unknown}} | undefined
  const cn = stub.peek(Resources.daemonSets, 'calico-node', 'kube-system') as {spec?: {template?: unknown}} | undefined
  return {
    felix: fc?.spec,
    kubeProxyTemplate: kp?.spec?.template,
    calicoNodeTemplate: cn?.spec?.template,
    cm: stub.peek(Resources.configMaps, 'kubernetes-services-endpoint', 'kube-system')?.data ?? null,
    record: stub.peek(Resources.configMaps, 'ebpfctl-state', 'kube-system') ? 'present' : 'absent',
  }
}
