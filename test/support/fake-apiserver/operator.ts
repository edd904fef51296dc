/**
 * A small, synchronous simulation of tigera-operator v1.42 (Calico v3.32.1) — only the behaviour ebpfctl depends on
 * (docs/reference/calico-config.md §2.2–2.4). It runs as a store controller, so its effects are visible in the
 * response of the write that triggered them (e.g. the PATCH of Installation default).
 *
 * What it does on every reconcile (Installation default must exist):
 *  - renders calico-system/calico-node from the template it found when enabled (manual edits are reverted, as the
 *    real operator does):
 *      * the ebpf-bootstrap init container runs `calico-node -init -best-effort`, without `-best-effort` when
 *        linuxDataplane is BPF (so switching dataplane changes the pod template and rolls every calico-node pod);
 *      * KUBERNETES_SERVICE_HOST/PORT as literal env on calico-node and install-cni (and calico-typha) when the
 *        operator knows an endpoint from ConfigMap <operatorNamespace>/kubernetes-services-endpoint. As in the real
 *        operator the endpoint is sticky: deleting the ConfigMap takes effect only when the operator pod restarts
 *        (delete the tigera-operator pod, or call `restart()`);
 *      * bpfNetworkBootstrap: Enabled (needs BPF and no ConfigMap, else TigeraStatus calico Degraded and nothing is
 *        rendered) puts KUBERNETES_SERVICE_IPS_PORTS / KUBERNETES_APISERVER_ENDPOINTS from default/kubernetes and its
 *        EndpointSlices on ebpf-bootstrap;
 *  - FelixConfiguration default: BPF → bpfEnabled true only once calico-node's rollout is complete
 *    (observedGeneration == generation, bpffs volume, currentNumberScheduled == updatedNumberScheduled ==
 *    numberAvailable); otherwise bpfEnabled false at once. Every write sets annotation operator.tigera.io/bpfEnabled;
 *    if spec.bpfEnabled and the annotation disagree the operator refuses (TigeraStatus Degraded with the real message).
 *    nftablesMode: BPF → Enabled, Nftables → Auto, Iptables/VPP → Disabled;
 *  - kubeProxyManagement: Enabled → kube-system/kube-proxy nodeSelector operator.tigera.io/disable-kube-proxy: "true"
 *    while FelixConfiguration bpfEnabled is true, removed otherwise (refused when the DaemonSet looks externally
 *    managed). It never touches other selector keys (e.g. non-calico).
 *  - Installation default status.computed = the spec it rendered (not updated while degraded);
 *  - TigeraStatus calico: Available, or Degraded with the reason (when the TigeraStatus CRD is served).
 * Not simulated: IPPool/Installation validation beyond the CRD, typha scaling, status.computed, upgrades, Windows.
 */
import type {FakeApiServer} from './index.js'
import {type Store, stableStringify, typeKey} from './store.js'

export interface OperatorSimulation {
  /** Log lines in the wording of the real operator (newest last). */
  messages: string[]
  /** Current TigeraStatus-style degradation reason, '' when healthy. */
  degraded(): string
  /** Simulate an operator pod restart (re-reads kubernetes-services-endpoint; a deleted ConfigMap is forgotten). */
  restart(): void
  /** Stop reconciling. */
  disable(): void
}

const DISABLE_KP = 'operator.tigera.io/disable-kube-proxy'
const BPF_ANNOTATION = 'operator.tigera.io/bpfEnabled'

/** Calico before v3.27, i.e. tigera-operator before v1.31. */
function isOldHostPortsOperator(calicoVersion: string | undefined): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(calicoVersion ?? '')
  return m !== null && (Number(m[1]) < 3 || (Number(m[1]) === 3 && Number(m[2]) < 27))
}

export function enableOperatorSimulation(
  server: FakeApiServer,
  opts: {operatorNamespace?: string} = {},
): OperatorSimulation {
  const store = server.store as unknown as Store
  const opNs = opts.operatorNamespace ?? 'tigera-operator'
  const T = {
    inst: () => store.typeByPlural('operator.tigera.io', 'installations'),
    fc: () => store.typeByPlural('crd.projectcalico.org', 'felixconfigurations'),
    ts: () => store.typeByPlural('operator.tigera.io', 'tigerastatuses'),
    ds: store.typeByPlural('apps', 'daemonsets')!,
    deploy: store.typeByPlural('apps', 'deployments')!,
    cm: store.typeByPlural('', 'configmaps')!,
    svc: store.typeByPlural('', 'services')!,
    eps: store.typeByPlural('discovery.k8s.io', 'endpointslices')!,
    pods: store.typeByPlural('', 'pods')!,
  }
  const messages: string[] = []
  let enabled = true
  let degraded = ''
  let endpoint: {host: string; port: string} | undefined
  let operatorPods = ''
  // The templates the operator renders from: captured when enabled, or when the workloads first appear.
  let baseNode = structuredClone(store.peek(T.ds, 'calico-node', 'calico-system')?.spec?.template)
  let baseTypha = structuredClone(store.peek(T.deploy, 'calico-typha', 'calico-system')?.spec?.template)
  const say = (m: string) => {
    if (messages.at(-1) !== m) messages.push(m)
  }

  const readEndpoint = () => {
    const cm = store.peek(T.cm, 'kubernetes-services-endpoint', opNs)
    const host = cm?.data?.KUBERNETES_SERVICE_HOST
    const port = cm?.data?.KUBERNETES_SERVICE_PORT
    if (host && port) endpoint = {host, port}
  }
  readEndpoint()
  operatorPods = podIds()

  function podIds(): string {
    return store
      .peekList(T.pods, opNs)
      .filter((p) => p.metadata.labels?.['k8s-app'] === 'tigera-operator')
      .map((p) => p.metadata.uid)
      .join(',')
  }

  const setEnv = (container: any, vars: Record<string, string | undefined>) => {
    let env: any[] = container.env ?? []
    for (const [name, value] of Object.entries(vars)) {
      env = env.filter((e) => e.name !== name)
      if (value !== undefined) env.push({name, value})
    }
    container.env = env
  }

  function renderNode(bpf: boolean, bootstrap?: {ips: string; endpoints: string}): any {
    const t = structuredClone(baseNode)
    const k8sEnv = {KUBERNETES_SERVICE_HOST: endpoint?.host, KUBERNETES_SERVICE_PORT: endpoint?.port}
    for (const c of t.spec?.containers ?? []) if (c.name === 'calico-node') setEnv(c, k8sEnv)
    for (const c of t.spec?.initContainers ?? []) {
      if (c.name === 'install-cni') setEnv(c, k8sEnv)
      if (c.name === 'ebpf-bootstrap') {
        c.command = bpf ? ['calico-node', '-init'] : ['calico-node', '-init', '-best-effort']
        setEnv(c, {KUBERNETES_SERVICE_IPS_PORTS: bootstrap?.ips, KUBERNETES_APISERVER_ENDPOINTS: bootstrap?.endpoints})
      }
    }
    return t
  }

  function writeTemplate(rt: typeof T.ds, name: string, template: any): void {
    const live = store.peek(rt, name, 'calico-system')
    if (!live || stableStringify(live.spec?.template) === stableStringify(template)) return
    store.update(rt, {...structuredClone(live), spec: {...live.spec, template}}, {force: true})
  }

  function rolloutComplete(): boolean {
    const ds = store.peek(T.ds, 'calico-node', 'calico-system')
    if (!ds) return false
    const s = ds.status ?? {}
    const hasBpffs = (ds.spec?.template?.spec?.volumes ?? []).some((v: any) => v.name === 'bpffs')
    return (
      s.observedGeneration === ds.metadata.generation &&
      hasBpffs &&
      (s.currentNumberScheduled ?? 0) === (s.updatedNumberScheduled ?? 0) &&
      (s.updatedNumberScheduled ?? 0) === (s.numberAvailable ?? 0)
    )
  }

  function setFelix(bpf: boolean | undefined, nftablesMode: string): void {
    const fcT = T.fc()
    if (!fcT) return
    const fc = store.peek(fcT, 'default')
    if (!fc) return
    const next = structuredClone(fc)
    next.spec ??= {}
    if (bpf !== undefined) {
      const ann = fc.metadata.annotations?.[BPF_ANNOTATION]
      const spec = fc.spec?.bpfEnabled
      const matches = ann === undefined ? spec === undefined : ann === String(spec ?? '')
      if (spec !== bpf || ann !== String(bpf)) {
        if (!matches) {
          degraded =
            'unable to set bpfEnabled: FelixConfiguration "default" has been modified by someone else, refusing to override potential user configuration'
          say(degraded)
          return
        }
        next.spec.bpfEnabled = bpf
        next.metadata.annotations = {...next.metadata.annotations, [BPF_ANNOTATION]: String(bpf)}
      }
    }
    next.spec.nftablesMode = nftablesMode
    if (stableStringify(next) !== stableStringify(fc)) store.update(fcT, next, {force: true})
  }

  function manageKubeProxy(cn: any): void {
    if (cn.kubeProxyManagement !== 'Enabled') return
    const kp = store.peek(T.ds, 'kube-proxy', 'kube-system')
    if (!kp) return
    const l = kp.metadata.labels ?? {}
    if (
      l['app.kubernetes.io/managed-by'] ||
      l['addonmanager.kubernetes.io/mode'] ||
      kp.metadata.annotations?.['argocd.argoproj.io/tracking-id']
    ) {
      degraded = 'kube-proxy DaemonSet is managed by another tool; refusing to manage it'
      say(degraded)
      return
    }
    const fcT = T.fc()
    const bpfOn = fcT ? store.peek(fcT, 'default')?.spec?.bpfEnabled === true : false
    const sel = kp.spec?.template?.spec?.nodeSelector ?? {}
    if (bpfOn === (sel[DISABLE_KP] === 'true')) return
    const next = structuredClone(kp)
    const ns = {...sel}
    if (bpfOn) ns[DISABLE_KP] = 'true'
    else delete ns[DISABLE_KP]
    next.spec.template.spec.nodeSelector = ns
    store.update(T.ds, next, {force: true})
    say(
      bpfOn
        ? 'kube-proxy DaemonSet patched to disable kube-proxy, since kubeProxyManagement is Enabled and BPFEnabled is true.'
        : 'kube-proxy DaemonSet patched to deploy kube-proxy, since kubeProxyManagement is Enabled and BPFEnabled is false.',
    )
  }

  function setTigeraStatus(): void {
    const tsT = T.ts()
    if (!tsT) return
    const cur = store.peek(tsT, 'calico')
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
    const cond = (type: string, on: boolean, reason: string, message: string) => {
      const old = cur?.status?.conditions?.find((c: any) => c.type === type)
      const status = on ? 'True' : 'False'
      return {
        type,
        status,
        reason,
        message,
        lastTransitionTime: old?.status === status ? old.lastTransitionTime : now,
        observedGeneration: 1,
      }
    }
    const conditions = degraded
      ? [
          cond('Available', false, 'ResourceNotReady', degraded),
          cond('Progressing', false, 'ResourceNotReady', degraded),
          cond('Degraded', true, 'ResourceNotReady', degraded),
        ]
      : [
          cond('Available', true, 'AllObjectsAvailable', 'All Objects Available'),
          cond('Progressing', false, 'AllObjectsAvailable', 'All Objects Available'),
          cond('Degraded', false, 'AllObjectsAvailable', 'All Objects Available'),
        ]
    if (!cur) {
      store.create(tsT, {
        apiVersion: 'operator.tigera.io/v1',
        kind: 'TigeraStatus',
        metadata: {name: 'calico'},
        spec: {},
        status: {conditions},
      })
    } else if (stableStringify(cur.status?.conditions) !== stableStringify(conditions)) {
      store.update(tsT, {...structuredClone(cur), status: {conditions}}, {subresource: 'status', force: true})
    }
  }

  function reconcile(): void {
    if (!enabled) return
    const instT = T.inst()
    const inst = instT && store.peek(instT, 'default')
    if (!inst) return
    baseNode ??= structuredClone(store.peek(T.ds, 'calico-node', 'calico-system')?.spec?.template)
    baseTypha ??= structuredClone(store.peek(T.deploy, 'calico-typha', 'calico-system')?.spec?.template)
    const pods = podIds()
    if (pods !== operatorPods) {
      operatorPods = pods
      endpoint = undefined // a new operator process: only what the ConfigMap says now
    }
    readEndpoint()
    degraded = ''
    const cn = inst.spec?.calicoNetwork ?? {}
    const dataplane = cn.linuxDataplane ?? 'Iptables'
    const bpf = dataplane === 'BPF'
    // Operators before v1.31 (Calico v3.27): hostPorts must be Disabled with BPF, and an unset one is defaulted to
    // Disabled when BPF is on (calico-config.md §2.2, operator commit 3a0ccc7cf; removed by 66afd3c7f).
    if (bpf && isOldHostPortsOperator(inst.status?.calicoVersion)) {
      if (cn.hostPorts === undefined) {
        const next = structuredClone(inst)
        next.spec.calicoNetwork.hostPorts = 'Disabled'
        store.update(instT, next, {force: true})
        return // the update runs this controller again
      }
      if (cn.hostPorts !== 'Disabled') {
        degraded = 'spec.calicoNetwork.hostPorts is not supported with the eBPF dataplane'
        say(degraded)
        setTigeraStatus()
        return
      }
    }
    let bootstrap: {ips: string; endpoints: string} | undefined
    if (cn.bpfNetworkBootstrap === 'Enabled') {
      if (!bpf) degraded = 'bpfNetworkBootstrap is enabled but linuxDataplane is not set to BPF'
      else if (store.peek(T.cm, 'kubernetes-services-endpoint', opNs)) {
        degraded = 'kubernetes service endpoint is defined by the kubernetes-service-endpoints ConfigMap'
      } else {
        const svc = store.peek(T.svc, 'kubernetes', 'default')
        const slices = store
          .peekList(T.eps, 'default')
          .filter((e) => e.metadata.labels?.['kubernetes.io/service-name'] === 'kubernetes')
        const eps = slices.flatMap((s) =>
          (s.endpoints ?? []).flatMap((e: any) =>
            (e.addresses ?? []).map((a: string) => `${a}:${s.ports?.[0]?.port ?? 6443}`),
          ),
        )
        if (!svc || eps.length === 0) degraded = 'bpfNetworkBootstrap is Enabled but the requirements are not met'
        else {
          const ips = (svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]).map(
            (ip: string) => `${ip}:${svc.spec?.ports?.[0]?.port ?? 443}`,
          )
          bootstrap = {ips: ips.join(','), endpoints: eps.join(',')}
        }
      }
      if (degraded) {
        say(degraded)
        setTigeraStatus()
        return // the installation reconcile stops before rendering
      }
    }
    if (baseNode) writeTemplate(T.ds, 'calico-node', renderNode(bpf, bootstrap))
    if (baseTypha) {
      const t = structuredClone(baseTypha)
      for (const c of t.spec?.containers ?? [])
        setEnv(c, {KUBERNETES_SERVICE_HOST: endpoint?.host, KUBERNETES_SERVICE_PORT: endpoint?.port})
      writeTemplate(T.deploy, 'calico-typha', t)
    }
    const nft = bpf ? 'Enabled' : dataplane === 'Nftables' ? 'Auto' : 'Disabled'
    if (bpf) setFelix(rolloutComplete() ? true : undefined, nft)
    else setFelix(false, nft)
    manageKubeProxy(cn)
    // status.computed: the spec the operator last rendered (a signal that it has seen the change).
    const live = store.peek(instT, 'default')
    if (live && stableStringify(live.status?.computed) !== stableStringify(live.spec)) {
      const status = {...structuredClone(live.status ?? {}), computed: structuredClone(live.spec)}
      store.update(instT, {...structuredClone(live), status}, {subresource: 'status', force: true})
    }
    setTigeraStatus()
  }

  store.addController({
    name: 'tigera-operator',
    watches: [
      typeKey('operator.tigera.io', 'installations'),
      typeKey('crd.projectcalico.org', 'felixconfigurations'),
      typeKey('', 'configmaps'),
      typeKey('apps', 'daemonsets'),
      typeKey('apps', 'deployments'),
      typeKey('', 'pods'),
      typeKey('discovery.k8s.io', 'endpointslices'),
    ],
    run: reconcile,
  })

  return {
    messages,
    degraded: () => degraded,
    restart() {
      endpoint = undefined
      readEndpoint()
      reconcile()
      store.runControllers()
    },
    disable() {
      enabled = false
    },
  }
}
