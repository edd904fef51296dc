import type {
  ConfigMapObject,
  DaemonSetObject,
  FelixConfigurationObject,
  InstallationObject,
} from '../kube/objects.js'
import {
  type ClusterState,
  type InstallInfo,
  SERVICES_ENDPOINT_CONFIGMAP,
  calicoResource,
  versionAtLeast,
} from '../kube/cluster.js'
import {KubeApiError} from '../kube/errors.js'
import {Resources, apiVersionOf} from '../kube/resources.js'
import {applyChange, undoChange} from './apply.js'
import {NON_CALICO_KEY, OPERATOR_KUBE_PROXY_KEY, assertKubeProxyServing} from './kube-proxy-guard.js'
import {PlanError, errorMessage} from './errors.js'
import {getPath, patchChange} from './fields.js'
import type {Progress} from './progress.js'
import {ABSENT, type ObjectChange, type Step, type StepContext, value} from './types.js'
import type {ValueSchema, WriteRule} from './writes.js'
import {type NodeReport, readNodeDataplanes} from '../felix-log.js'
import {nameList} from '../output/name-list.js'
import {
  operatorDegradedReason,
  readFelixDefault,
  waitDaemonSetRollout,
  waitDeploymentRollout,
  waitFor,
  waitKubeProxyGone,
  waitKubeProxyReady,
} from './waits.js'

export const StepIds = {
  apiAddress: 'api-address',
  pickup: 'calico-node-pickup',
  bpfOn: 'bpf-on',
  verifyBpf: 'verify-bpf',
  kubeProxy: 'kube-proxy',
  dsr: 'dsr',
} as const

export {NON_CALICO_KEY, OPERATOR_KUBE_PROXY_KEY}
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt'

const str = (maxLength: number, pattern?: string): ValueSchema => ({type: 'string', maxLength, ...(pattern ? {pattern} : {})})
const ENABLED_DISABLED: ValueSchema = {enum: ['Enabled', 'Disabled']}
const restartAnnotation = ['spec', 'template', 'metadata', 'annotations', RESTARTED_AT]
const offKey = (key: string) => ({
  path: ['spec', 'template', 'spec', 'nodeSelector', key],
  value: str(63),
  priorAbsent: true,
})
const felixField = (name: string, schema: ValueSchema) => ({path: ['spec', name], value: schema})
const calicoNetwork = (name: string, schema: ValueSchema) => ({path: ['spec', 'calicoNetwork', name], value: schema})

/**
 * Every object and field each step may write: the allow-list for revert and rollback, which replay the in-cluster
 * record (anyone who can edit a ConfigMap can change it). buildEnablePlan checks the steps' own changes against it, so
 * the two cannot drift apart.
 */
export const STEP_WRITES: Record<string, WriteRule[]> = {
  [StepIds.apiAddress]: [
    {
      kind: 'ConfigMap',
      namespace: 'endpoint-configmap',
      name: SERVICES_ENDPOINT_CONFIGMAP,
      create: true,
      fields: [
        {path: ['data', 'KUBERNETES_SERVICE_HOST'], value: str(253, '^[A-Za-z0-9.:\\[\\]-]+$')},
        {path: ['data', 'KUBERNETES_SERVICE_PORT'], value: str(5, '^[0-9]+$')},
      ],
    },
    {
      kind: 'Installation',
      namespace: 'cluster-scoped',
      name: 'default',
      fields: [calicoNetwork('bpfNetworkBootstrap', ENABLED_DISABLED)],
    },
  ],
  [StepIds.pickup]: [
    {kind: 'DaemonSet', namespace: 'calico', name: 'calico-node', fields: [{path: restartAnnotation, value: str(64)}]},
    {kind: 'Deployment', namespace: 'calico', name: 'calico-typha', fields: [{path: restartAnnotation, value: str(64)}]},
  ],
  [StepIds.bpfOn]: [
    {
      kind: 'Installation',
      namespace: 'cluster-scoped',
      name: 'default',
      fields: [
        calicoNetwork('linuxDataplane', str(32, '^[A-Za-z]+$')),
        calicoNetwork('hostPorts', ENABLED_DISABLED),
      ],
    },
    {
      kind: 'FelixConfiguration',
      namespace: 'cluster-scoped',
      name: 'default',
      create: true,
      fields: [felixField('bpfEnabled', {type: 'boolean'})],
    },
    {
      kind: 'DaemonSet',
      namespace: 'calico',
      name: 'calico-node',
      fields: [
        {
          path: ['spec', 'template', 'spec', 'containers[calico-node]', 'env[FELIX_BPFENABLED]', 'value'],
          value: str(16),
        },
      ],
    },
  ],
  [StepIds.kubeProxy]: [
    {
      kind: 'DaemonSet',
      namespace: 'kube-proxy',
      name: 'kube-proxy',
      fields: [offKey(NON_CALICO_KEY)],
    },
    {
      kind: 'DaemonSet',
      namespace: 'kube-proxy',
      name: 'kube-proxy',
      operatorMade: true,
      fields: [offKey(OPERATOR_KUBE_PROXY_KEY)],
    },
    {
      kind: 'Installation',
      namespace: 'cluster-scoped',
      name: 'default',
      fields: [calicoNetwork('kubeProxyManagement', ENABLED_DISABLED)],
    },
    {
      kind: 'FelixConfiguration',
      namespace: 'cluster-scoped',
      name: 'default',
      create: true,
      fields: [
        felixField('bpfKubeProxyIptablesCleanupEnabled', {type: 'boolean'}),
        felixField('bpfKubeProxyHealthzPort', {type: 'integer', minimum: 0, maximum: 65535}),
      ],
    },
  ],
  [StepIds.dsr]: [
    {
      kind: 'FelixConfiguration',
      namespace: 'cluster-scoped',
      name: 'default',
      create: true,
      fields: [felixField('bpfExternalServiceMode', str(16, '^[A-Za-z]*$'))],
    },
  ],
}

const compact = (xs: (ObjectChange | undefined)[]) => xs.filter((x): x is ObjectChange => !!x)

interface StepDef {
  id: string
  title: string
  describe: string
  compute: (state: ClusterState) => ObjectChange[]
  /** Default: nothing to change. */
  done?: (state: ClusterState) => boolean
  verify?: (ctx: StepContext, progress: Progress) => Promise<void>
  /** Runs after the recorded changes were undone. */
  afterUndo?: (ctx: StepContext, progress: Progress, undone: ObjectChange[]) => Promise<void>
  /** Replaces the generic undo (patch every recorded field back). */
  undo?: (ctx: StepContext, recorded: ObjectChange[]) => Promise<void>
}

/** A step whose apply is its changes and whose undo patches the recorded fields back to their prior values. */
export function defineStep(def: StepDef, planState: ClusterState, scope: 'run' | 'all' = 'run'): Step {
  const planned = def.compute(planState)
  return {
    id: def.id,
    title: def.title,
    describe: () => def.describe,
    changes: () => planned,
    alreadyDone: (state) => (def.done ? def.done(state) : def.compute(state).length === 0),
    async apply(ctx) {
      const applied: ObjectChange[] = []
      for (const change of planned) {
        try {
          applied.push(await applyChange(ctx, change))
        } catch (err) {
          // A definite refusal (4xx other than a conflict) means this change did not land: undo only the earlier ones.
          if (err instanceof KubeApiError && !err.isTransient) throw Object.assign(err, {landed: applied})
          throw err
        }
      }
      return applied
    },
    async verify(ctx, progress) {
      await def.verify?.(ctx, progress)
    },
    async undo(ctx) {
      const recorded = ctx.record.changesFor(def.id, scope)
      // Never BPF off while kube-proxy is off, whatever the record or an earlier undo says: checked on the cluster.
      if (def.id === StepIds.bpfOn && recorded.length) await assertKubeProxyServing(ctx)
      if (def.undo) await def.undo(ctx, recorded)
      else for (const change of recorded) await undoChange(ctx, change)
      await def.afterUndo?.(ctx, ctx.progress, recorded)
    },
  }
}

const felixRef = (state: ClusterState) => calicoResource(state, Resources.felixConfigurations)
const felixDefault = (state: ClusterState) => state.felixConfigurations.find((f) => f.metadata.name === 'default')

/** A merge patch of FelixConfiguration default, or a create when calico-node has not created it yet. */
function felixChange(state: ClusterState, sets: [string, unknown][]): ObjectChange | undefined {
  const resource = felixRef(state)
  const fc = felixDefault(state)
  const paths = sets.map(([k, v]): [string[], unknown] => [['spec', k], v])
  if (fc) return patchChange({resource, name: 'default'}, fc, paths)
  const change = createChange({resource, name: 'default'}, paths)
  return {
    ...change,
    action: 'create',
    body: {
      apiVersion: apiVersionOf(resource),
      kind: 'FelixConfiguration',
      metadata: {name: 'default'},
      spec: Object.fromEntries(sets),
    },
  }
}

/** A create: every field was absent (undo deletes the object). The body is set by the caller. */
function createChange(
  ref: Pick<ObjectChange, 'resource' | 'namespace' | 'name'>,
  sets: [string[], unknown][],
): ObjectChange {
  const fields = sets.map(([path, v]) => ({path, before: ABSENT, after: value(v)}))
  return {...ref, action: 'create', patchType: 'merge', body: null, fields}
}

const installationRef = {resource: Resources.installations, name: 'default'}
const installation = (state: ClusterState) => state.installation as InstallationObject | undefined

function daemonSet(state: ClusterState, namespace: string | undefined, name: string) {
  return state.daemonSets.find((d) => d.metadata.name === name && d.metadata.namespace === namespace)
}

// ---------------------------------------------------------------------------------------------------------------
// 1. API-server address

const CM = SERVICES_ENDPOINT_CONFIGMAP

export function apiAddressConfigMapStep(
  install: InstallInfo,
  endpoint: {host: string; port: number},
  state: ClusterState,
): Step {
  const namespace = install.endpointConfigMapNamespace!
  const compute = (s: ClusterState): ObjectChange[] => {
    const cm = s.servicesEndpointConfigMaps.find((c) => c.metadata.namespace === namespace)
    const ref = {resource: Resources.configMaps, namespace, name: SERVICES_ENDPOINT_CONFIGMAP}
    const sets: [string[], unknown][] = [
      [['data', 'KUBERNETES_SERVICE_HOST'], endpoint.host],
      [['data', 'KUBERNETES_SERVICE_PORT'], String(endpoint.port)],
    ]
    if (cm) return compact([patchChange(ref, cm, sets)])
    const change = createChange(ref, sets)
    const body: ConfigMapObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {name: SERVICES_ENDPOINT_CONFIGMAP, namespace, labels: {'app.kubernetes.io/managed-by': 'ebpfctl'}},
      data: {KUBERNETES_SERVICE_HOST: endpoint.host, KUBERNETES_SERVICE_PORT: String(endpoint.port)},
    }
    return [{...change, action: 'create', body}]
  }
  return defineStep(
    {
      id: StepIds.apiAddress,
      title: `API-server address ${endpoint.host}:${endpoint.port} in ConfigMap ${namespace}/${CM}`,
      describe:
        `Tell calico-node how to reach the API server without kube-proxy: ConfigMap ${SERVICES_ENDPOINT_CONFIGMAP} ` +
        `(KUBERNETES_SERVICE_HOST=${endpoint.host}, KUBERNETES_SERVICE_PORT=${endpoint.port}) in namespace ` +
        `"${namespace}", ` +
        (install.type === 'operator'
          ? "the operator's namespace, where the operator reads it."
          : 'where calico.yaml reads it (envFrom).'),
      compute,
      afterUndo: async (ctx, _progress, undone) => {
        if (install.type === 'operator' && undone.some((c) => c.action === 'create')) {
          ctx.info(
            'note: the operator keeps rendering the address it read from the ConfigMap until the operator pod ' +
              'restarts ' +
              '(harmless: it is a direct API-server address)',
          )
        }
      },
    },
    state,
  )
}

export function apiAddressBootstrapStep(state: ClusterState): Step {
  return defineStep(
    {
      id: StepIds.apiAddress,
      title: 'API-server address via Installation bpfNetworkBootstrap: Enabled',
      describe:
        'Let the operator find the API servers itself (Calico v3.31+): Installation default ' +
        'spec.calicoNetwork.bpfNetworkBootstrap: Enabled. No kubernetes-services-endpoint ConfigMap (the operator ' +
        'refuses both).',
      compute: (s) =>
        compact([
          patchChange(installationRef, installation(s), [
            [['spec', 'calicoNetwork', 'bpfNetworkBootstrap'], 'Enabled'],
          ]),
        ]),
    },
    state,
  )
}

// ---------------------------------------------------------------------------------------------------------------
// 2. calico-node picks the address up

const hostEnv = (ds: DaemonSetObject | undefined) =>
  ds?.spec?.template?.spec?.containers
    ?.find((c) => c.name === 'calico-node')
    ?.env?.find((e) => e.name === 'KUBERNETES_SERVICE_HOST')?.value

export function operatorPickupStep(
  install: InstallInfo,
  endpoint: {host: string; port: number},
  addressStep: Step,
  state: ClusterState,
): Step {
  const ns = install.calicoNamespace!
  return defineStep(
    {
      id: StepIds.pickup,
      title: 'calico-node rolled out by the operator with the new address',
      describe:
        `Wait until the operator has re-rendered calico-node in ${ns} with ` +
        `KUBERNETES_SERVICE_HOST=${endpoint.host} and the rollout is complete (all pods updated and Ready), then ` +
        `for calico-typha's rollout when there is one (the operator gives it the address too).`,
      compute: () => [],
      done: (s) => addressStep.alreadyDone(s) && hostEnv(daemonSet(s, ns, 'calico-node')) === endpoint.host,
      verify: async (ctx, progress) => {
        await waitDaemonSetRollout(ctx, progress, ns, 'calico-node', (ds) =>
          hostEnv(ds) === endpoint.host
            ? undefined
            : {done: false, detail: 'waiting for the operator to render the new address'},
        )
        // calico-node reads its configuration through Typha: a Typha still rolling out is not ready for BPF yet.
        const typha = ctx.state.deployments.some((d) => d.metadata.name === 'calico-typha' && d.metadata.namespace === ns)
        if (typha) await waitDeploymentRollout(ctx, progress, ns, 'calico-typha')
      },
    },
    state,
  )
}

export function manifestRestartStep(
  install: InstallInfo,
  addressStep: Step,
  state: ClusterState,
  now: () => string,
): Step {
  const ns = install.calicoNamespace!
  const typha = state.deployments.find((d) => d.metadata.name === 'calico-typha' && d.metadata.namespace === ns)
  const path = ['spec', 'template', 'metadata', 'annotations', RESTARTED_AT]
  const stamp = now()
  const compute = (s: ClusterState) => {
    const ds = daemonSet(s, ns, 'calico-node')
    const t = s.deployments.find((d) => d.metadata.name === 'calico-typha' && d.metadata.namespace === ns)
    return compact([
      patchChange(
        {resource: Resources.daemonSets, namespace: ns, name: 'calico-node'},
        ds,
        [[path, stamp]],
        'strategic',
      ),
      t
        ? patchChange(
            {resource: Resources.deployments, namespace: ns, name: 'calico-typha'},
            t,
            [[path, stamp]],
            'strategic',
          )
        : undefined,
    ])
  }
  const waitAll = async (ctx: StepContext, progress: Progress) => {
    if (typha) await waitDeploymentRollout(ctx, progress, ns, 'calico-typha')
    await waitDaemonSetRollout(ctx, progress, ns, 'calico-node')
  }
  return defineStep(
    {
      id: StepIds.pickup,
      title: `restart calico-node${typha ? ' and calico-typha' : ''} to pick up the address`,
      describe:
        `calico.yaml reads the ConfigMap only at pod start: restart ` +
        `calico-node${typha ? ' and calico-typha' : ''} in ${ns} ` +
        `as \`kubectl rollout restart\` does (pod template annotation ${RESTARTED_AT}) and wait until the updated ` +
        `pods are Ready.`,
      compute,
      done: (s) => addressStep.alreadyDone(s),
      verify: waitAll,
      afterUndo: async (ctx, progress) => {
        try {
          await waitAll(ctx, progress)
        } catch (err) {
          ctx.info(`warning: calico-node did not finish rolling back: ${errorMessage(err)}`)
        }
      },
    },
    state,
  )
}

// ---------------------------------------------------------------------------------------------------------------
// 3. BPF on

const bpfEnabled = (fc: FelixConfigurationObject | undefined) => fc?.spec?.bpfEnabled === true

/**
 * Operators before v1.31 (Calico v3.27) reject `hostPorts` other than Disabled with the eBPF dataplane, and default an
 * unset one to Disabled when BPF is on: the old documented patch cleared it (`"hostPorts": null`, calico-config.md
 * §2.2). A version ebpfctl cannot read is treated as current, where hostPorts works with BPF.
 */
export function mustClearHostPorts(install: InstallInfo, state: ClusterState): boolean {
  const hostPorts = state.installation?.spec?.calicoNetwork?.hostPorts
  return (
    install.type === 'operator' &&
    install.calicoVersion !== undefined &&
    !versionAtLeast(install.calicoVersion, [3, 27, 0]) &&
    hostPorts !== undefined &&
    hostPorts !== 'Disabled'
  )
}

export function operatorBpfOnStep(install: InstallInfo, state: ClusterState): Step {
  const ns = install.calicoNamespace!
  return defineStep(
    {
      id: StepIds.bpfOn,
      title: 'BPF on: Installation default linuxDataplane: BPF',
      describe:
        'Merge-patch Installation default spec.calicoNetwork.linuxDataplane: BPF (never FelixConfiguration ' +
        'bpfEnabled, ' +
        'which the operator owns). The operator rolls calico-node out for BPF and then sets bpfEnabled: true itself.',
      compute: (s) =>
        compact([
          patchChange(installationRef, installation(s), [
            [['spec', 'calicoNetwork', 'linuxDataplane'], 'BPF'],
            ...(mustClearHostPorts(install, s)
              ? [[['spec', 'calicoNetwork', 'hostPorts'], undefined] as [string[], unknown]]
              : []),
          ]),
        ]),
      verify: async (ctx, progress) => {
        await waitDaemonSetRollout(ctx, progress, ns, 'calico-node')
        await waitFor(ctx, progress, 'the operator to set FelixConfiguration default bpfEnabled: true', async () => {
          const fc = await readFelixDefault(ctx)
          const done = bpfEnabled(fc)
          const degraded = done ? undefined : await operatorDegradedReason(ctx)
          const detail = `bpfEnabled: ${String(fc?.spec?.bpfEnabled ?? '(unset)')}`
          return {done, detail: degraded ? `${detail}; the operator reports Degraded: ${degraded}` : detail}
        })
      },
      // One patch for linuxDataplane and bpfNetworkBootstrap: the operator stops reconciling when bootstrap is Enabled
      // and the dataplane is not BPF (calico-config.md §2.5).
      undo: async (ctx, recorded) => {
        const bootstrap = ctx.record
          .changesFor(StepIds.apiAddress, 'all')
          .flatMap((c) => (c.resource.plural === 'installations' ? c.fields : []))
          .filter((f) => f.path.join('.') === 'spec.calicoNetwork.bpfNetworkBootstrap')
        const merged = recorded.map((c) => ({...c, fields: [...c.fields, ...bootstrap]}))
        for (const change of merged) await undoChange(ctx, change)
      },
      afterUndo: async (ctx, progress, undone) => {
        if (undone.length === 0) return
        try {
          await waitDaemonSetRollout(ctx, progress, ns, 'calico-node')
        } catch (err) {
          ctx.info(`warning: calico-node did not finish rolling back: ${errorMessage(err)}`)
        }
      },
    },
    state,
  )
}

export function manifestBpfOnStep(install: InstallInfo, state: ClusterState): Step {
  const ns = install.calicoNamespace!
  if (install.felixBpfEnabledEnv) {
    const path = ['spec', 'template', 'spec', 'containers[calico-node]', 'env[FELIX_BPFENABLED]', 'value']
    return defineStep(
      {
        id: StepIds.bpfOn,
        title: 'BPF on: calico-node env FELIX_BPFENABLED=true',
        describe:
          'calico-node sets FELIX_BPFENABLED, which overrides FelixConfiguration: set it to "true" (strategic ' +
          'patch of the ' +
          'DaemonSet) and wait for the rollout.',
        compute: (s) =>
          compact([
            patchChange(
              {resource: Resources.daemonSets, namespace: ns, name: 'calico-node'},
              daemonSet(s, ns, 'calico-node'),
              [[path, 'true']],
              'strategic',
            ),
          ]),
        verify: (ctx, progress) => waitDaemonSetRollout(ctx, progress, ns, 'calico-node').then(() => undefined),
        afterUndo: async (ctx, progress) => {
          try {
            await waitDaemonSetRollout(ctx, progress, ns, 'calico-node')
          } catch (err) {
            ctx.info(`warning: calico-node did not finish rolling back: ${errorMessage(err)}`)
          }
        },
      },
      state,
    )
  }
  return defineStep(
    {
      id: StepIds.bpfOn,
      title: 'BPF on: FelixConfiguration default bpfEnabled: true',
      describe:
        'Merge-patch FelixConfiguration default spec.bpfEnabled: true; Felix restarts itself into BPF mode (no pod ' +
        'restart).',
      compute: (s) => compact([felixChange(s, [['bpfEnabled', true]])]),
    },
    state,
  )
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Verify BPF is active on every node

export function verifyBpfStep(
  install: InstallInfo,
  state: ClusterState,
  laterDone: (s: ClusterState) => boolean,
): Step {
  const ns = install.calicoNamespace!
  const viaEnv = install.felixBpfEnabledEnv
  return {
    id: StepIds.verifyBpf,
    title: 'verify BPF is active on every node',
    describe: () =>
      'Before kube-proxy is touched: calico-node rolled out and Ready, ' +
      (viaEnv ? 'FELIX_BPFENABLED=true on calico-node' : 'FelixConfiguration default showing bpfEnabled: true') +
      ', and on every node Felix\'s log says BPF started ("BPF enabled, starting BPF endpoint manager…"), not that ' +
      'it ' +
      'fell back ("…not supported by the kernel.  Disabling BPF mode."). A node that fell back stops enable and ' +
      'rolls back.',
    changes: () => [],
    alreadyDone: (s) => laterDone(s),
    apply: async () => [],
    undo: async () => {},
    async verify(ctx, progress) {
      await waitDaemonSetRollout(ctx, progress, ns, 'calico-node')
      if (!viaEnv) {
        await waitFor(ctx, progress, 'FelixConfiguration default bpfEnabled: true', async () => {
          const fc = await readFelixDefault(ctx)
          return {done: bpfEnabled(fc), detail: `bpfEnabled: ${String(fc?.spec?.bpfEnabled ?? '(unset)')}`}
        })
      }
      const active = new Set<string>()
      let last: NodeReport[] = []
      await waitFor(ctx, progress, 'Felix to report BPF active on every node', async () => {
        const reports = await readNodeDataplanes(ctx.kube, ns, {concurrency: ctx.timing.logConcurrency, skip: active})
        last = reports
        for (const r of reports) if (r.dataplane === 'bpf' && r.ready) active.add(r.pod)
        const fell = reports.filter((r) => r.dataplane === 'fallen-back')
        if (fell.length > 0) {
          return {
            done: false,
            detail: '',
            fail:
              `${fell.length} node(s) fell back to the iptables dataplane (Felix: "BPF dataplane mode enabled but ` +
              `not ` +
              `supported by the kernel"): ${nameList(fell.map((r) => r.node).sort(), 8)}`,
          }
        }
        const pending = reports.filter((r) => !active.has(r.pod))
        return {
          done: pending.length === 0 && active.size > 0,
          detail: `${active.size}/${active.size + pending.length} nodes BPF active`,
        }
      }).catch((err: unknown) => {
        if (err instanceof PlanError && /timed out/.test(err.message)) {
          const unknown = last.filter((r) => !active.has(r.pod)).map((r) => r.node)
          throw new PlanError(
            `BPF not confirmed active on ${unknown.length} node(s): ${nameList([...unknown].sort(), 8)} (${err.message})`,
            {
              remedy: 'Look at those calico-node logs; raise --timeout if Felix is just slow to restart.',
            },
          )
        }
        throw err
      })
    },
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 5. kube-proxy

export function kubeProxyDisableStep(kubeProxy: DaemonSetObject, state: ClusterState): Step {
  const ns = kubeProxy.metadata.namespace ?? 'kube-system'
  const name = kubeProxy.metadata.name
  const path = ['spec', 'template', 'spec', 'nodeSelector', NON_CALICO_KEY]
  return defineStep(
    {
      id: StepIds.kubeProxy,
      title: `kube-proxy off: nodeSelector ${NON_CALICO_KEY}: "true" on DaemonSet ${ns}/${name}`,
      describe:
        `Merge-patch the kube-proxy DaemonSet's pod nodeSelector with ${NON_CALICO_KEY}: "true" (the selector ` +
        `keys it ` +
        'already has are kept), so no node runs kube-proxy; wait until its pods are gone.',
      compute: (s) =>
        compact([
          patchChange({resource: Resources.daemonSets, namespace: ns, name}, daemonSet(s, ns, name), [[path, 'true']]),
        ]),
      verify: (ctx, progress) => waitKubeProxyGone(ctx, progress, ns, name).then(() => undefined),
      afterUndo: (ctx, progress, undone) =>
        undone.length ? waitKubeProxyReady(ctx, progress, ns, name).then(() => undefined) : Promise.resolve(),
    },
    state,
  )
}

export function kubeProxyOperatorStep(kubeProxy: DaemonSetObject, state: ClusterState): Step {
  const ns = kubeProxy.metadata.namespace ?? 'kube-system'
  const name = kubeProxy.metadata.name
  const keyPath = ['spec', 'template', 'spec', 'nodeSelector', OPERATOR_KUBE_PROXY_KEY]
  return defineStep(
    {
      id: StepIds.kubeProxy,
      title: 'kube-proxy off by the operator: Installation kubeProxyManagement: Enabled',
      describe:
        `Merge-patch Installation default spec.calicoNetwork.kubeProxyManagement: Enabled; the operator adds the ` +
        `nodeSelector ` +
        `${OPERATOR_KUBE_PROXY_KEY}: "true" to ${ns}/${name}. Wait until kube-proxy's pods are gone.`,
      compute: (s) => {
        const inst = compact([
          patchChange(installationRef, installation(s), [
            [['spec', 'calicoNetwork', 'kubeProxyManagement'], 'Enabled'],
          ]),
        ])
        if (inst.length === 0) return []
        const ds = compact([
          patchChange({resource: Resources.daemonSets, namespace: ns, name}, daemonSet(s, ns, name), [
            [keyPath, 'true'],
          ]),
        ])
        // The operator's key first: undo runs newest first, so kubeProxyManagement is restored before the key is
        // removed (while management is Enabled and BPF on, the operator would put it straight back).
        return [...ds.map((c) => ({...c, by: 'operator' as const})), ...inst]
      },
      verify: async (ctx, progress) => {
        await waitFor(ctx, progress, `the operator to add ${OPERATOR_KUBE_PROXY_KEY} to kube-proxy`, async () => {
          const ds = await ctx.kube.get<DaemonSetObject>(Resources.daemonSets, name, ns)
          const has = getPath(ds, keyPath).present
          return {done: has, detail: has ? 'added' : 'not yet'}
        })
        await waitKubeProxyGone(ctx, progress, ns, name)
      },
      afterUndo: (ctx, progress, undone) =>
        undone.length ? waitKubeProxyReady(ctx, progress, ns, name).then(() => undefined) : Promise.resolve(),
    },
    state,
  )
}

export function kubeProxyKeepStep(state: ClusterState): Step {
  return defineStep(
    {
      id: StepIds.kubeProxy,
      title: 'kube-proxy kept: bpfKubeProxyIptablesCleanupEnabled: false, bpfKubeProxyHealthzPort: 0',
      describe:
        'kube-proxy stays (platform-managed): merge-patch FelixConfiguration default so Felix does not fight it — ' +
        'bpfKubeProxyIptablesCleanupEnabled: false (leave its rules) and bpfKubeProxyHealthzPort: 0 (free port 10256).',
      compute: (s) =>
        compact([
          felixChange(s, [
            ['bpfKubeProxyIptablesCleanupEnabled', false],
            ['bpfKubeProxyHealthzPort', 0],
          ]),
        ]),
    },
    state,
  )
}

// ---------------------------------------------------------------------------------------------------------------
// 6. DSR

export const DSR_WARNINGS = [
  'DSR sends replies from the backend node straight to the client, with the service IP as source. The network must ' +
    'allow it:',
  '  - AWS: disable the source/destination check on every node instance (or their ENIs).',
  '  - GCP: enable IP forwarding ("canIpForward") on the node instances.',
  '  - Traffic through an external load balancer may break with DSR; exclude LB/health-check ranges with ' +
    'bpfDSROptoutCIDRs.',
]

export function dsrStep(dsr: boolean, state: ClusterState): Step {
  const mode = dsr ? 'DSR' : 'Tunnel'
  return defineStep(
    {
      id: StepIds.dsr,
      title: `bpfExternalServiceMode: ${mode}`,
      describe: dsr
        ? 'Merge-patch FelixConfiguration default spec.bpfExternalServiceMode: DSR (direct server return for ' +
          'external traffic to services).'
        : 'Merge-patch FelixConfiguration default spec.bpfExternalServiceMode: Tunnel (the default: replies return ' +
          'via the ingress node).',
      compute: (s) => compact([felixChange(s, [['bpfExternalServiceMode', mode]])]),
      done: (s) => {
        const cur = felixDefault(s)?.spec?.bpfExternalServiceMode
        return (cur ?? 'Tunnel').toLowerCase() === mode.toLowerCase() && (dsr ? cur !== undefined : true)
      },
    },
    state,
  )
}
