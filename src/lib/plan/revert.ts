import type {DaemonSetObject} from '../kube/objects.js'
import {type ClusterState, type InstallInfo, SERVICES_ENDPOINT_CONFIGMAP, calicoResource} from '../kube/cluster.js'
import {Resources} from '../kube/resources.js'
import type {KubeObject} from '../kube/types.js'
import {applyRobust} from './apply.js'
import {assertKubeProxyServing} from './kube-proxy-guard.js'
import {DISRUPTION_WARNING} from './enable.js'
import {getPath, inverseChange, patchBody, patchChange, sameValue} from './fields.js'
import {type EnableRecord, RECORD_CONFIGMAP} from './record.js'
import {NON_CALICO_KEY, OPERATOR_KUBE_PROXY_KEY, StepIds} from './steps.js'
import {ABSENT, type ObjectChange, type Plan, type Step, type StepContext, value} from './types.js'
import {readFelixDefault, waitDaemonSetRollout, waitDeploymentRollout, waitFor, waitKubeProxyReady} from './waits.js'

/** The object a change targets, as the state read up front has it (undefined when absent or not collected). */
export function findInState(
  state: ClusterState,
  c: Pick<ObjectChange, 'resource' | 'namespace' | 'name'>,
): KubeObject | undefined {
  const match = (o: KubeObject) =>
    o.metadata.name === c.name && (o.metadata.namespace ?? undefined) === (c.namespace ?? undefined)
  switch (c.resource.plural) {
    case 'installations':
      return state.installation && match(state.installation) ? state.installation : undefined
    case 'felixconfigurations':
      return state.felixConfigurations.find(match)
    case 'daemonsets':
      return state.daemonSets.find(match)
    case 'deployments':
      return state.deployments.find(match)
    case 'configmaps':
      return state.servicesEndpointConfigMaps.find(match)
    default:
      return undefined
  }
}

/** True when the cluster already has every field (or absence) the forward change wants. */
function changeInPlace(state: ClusterState, c: ObjectChange): boolean {
  const obj = findInState(state, c)
  if (c.action === 'delete') return obj === undefined
  if (!obj) return c.action === 'patch' // nothing left to patch back
  return c.fields.every((f) => sameValue(getPath(obj, f.path), f.after))
}

const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)

/**
 * Enable records a map it added whole (nodeSelector, annotations) as one field, so undo removes the map. When the
 * live map has gained other keys since, remove only enable's keys: revert never deletes what someone else wrote.
 */
function keepOthersKeys(undo: ObjectChange, live: KubeObject | undefined): ObjectChange {
  if (undo.action !== 'patch' || !live) return undo
  let narrowed = false
  const fields = undo.fields.flatMap((f) => {
    const ours = f.before.present ? f.before.value : undefined
    const now = getPath(live, f.path)
    if (f.after.present || !isMap(ours) || !now.present || !isMap(now.value)) return [f]
    if (Object.keys(now.value).every((k) => Object.hasOwn(ours, k))) return [f]
    narrowed = true
    return Object.entries(ours).map(([k, v]) => ({path: [...f.path, k], before: value(v), after: ABSENT}))
  })
  return narrowed ? {...undo, fields, body: patchBody(fields, 'after')} : undo
}

/** Every leaf path of an object's content (metadata and status are the API server's, not content). */
function contentLeaves(v: unknown, at: string[] = []): string[][] {
  if (!isMap(v)) return [at]
  return Object.entries(v)
    .filter(([k]) => at.length > 0 || !['apiVersion', 'kind', 'metadata', 'status'].includes(k))
    .flatMap(([k, inner]) => contentLeaves(inner, [...at, k]))
}

/**
 * Undoing a create deletes the object, every field of it, so only when all it holds now is what enable wrote. An
 * object that has other content (someone added to it since, or a record that claims enable created an object it only
 * patched) keeps it: only enable's fields are removed.
 */
function keepOthersFields(undo: ObjectChange, live: KubeObject | undefined): ObjectChange {
  if (undo.action !== 'delete' || !live) return undo
  const ours = (leaf: string[]) => undo.fields.some((f) => f.path.every((seg, i) => seg === leaf[i]))
  if (contentLeaves(live).every(ours)) return undo
  const fields = undo.fields.map((f) => ({...f, after: ABSENT}))
  return {...undo, action: 'patch', patchType: 'merge', fields, body: patchBody(fields, 'after')}
}

type Wait = (ctx: StepContext) => Promise<void>

function revertStep(id: string, title: string, describe: string, changes: ObjectChange[], wait?: Wait): Step {
  return {
    id,
    title,
    describe: () => describe,
    changes: () => changes.filter((c) => c.by !== 'operator'),
    alreadyDone: (state) => changes.every((c) => changeInPlace(state, c)),
    async apply(ctx) {
      if (id === StepIds.bpfOn) await assertKubeProxyServing(ctx)
      for (const c of changes) await applyRobust(ctx, c)
      return changes
    },
    async verify(ctx) {
      await wait?.(ctx)
    },
    undo: async () => {},
  }
}

const kubeProxyWait = (state: ClusterState, changes: ObjectChange[]): Wait | undefined => {
  const ds = changes.find((c) => c.resource.plural === 'daemonsets')
  if (!ds) return undefined
  return (ctx) => waitKubeProxyReady(ctx, ctx.progress, ds.namespace ?? 'kube-system', ds.name).then(() => undefined)
}

function bpfOffWait(install: InstallInfo): Wait {
  const ns = install.calicoNamespace!
  return async (ctx) => {
    if (install.type === 'operator') {
      await waitFor(ctx, ctx.progress, 'the operator to set FelixConfiguration default bpfEnabled: false', async () => {
        const fc = await readFelixDefault(ctx)
        return {done: fc?.spec?.bpfEnabled !== true, detail: `bpfEnabled: ${String(fc?.spec?.bpfEnabled ?? '(unset)')}`}
      })
    }
    if (install.type === 'operator' || install.felixBpfEnabledEnv)
      await waitDaemonSetRollout(ctx, ctx.progress, ns, 'calico-node')
  }
}

const TITLES: Record<string, [string, string]> = {
  [StepIds.kubeProxy]: [
    'kube-proxy back',
    'Remove only the nodeSelector key ebpfctl (or the operator) added to kube-proxy, restore the other kube-proxy ' +
      'settings, and wait until its pods are Ready — before BPF is turned off.',
  ],
  [StepIds.bpfOn]: [
    'BPF off',
    'Restore the dataplane fields to their prior values (operator: linuxDataplane and, if ebpfctl set them, ' +
      'bpfNetworkBootstrap and hostPorts in one patch; manifest: bpfEnabled or FELIX_BPFENABLED).',
  ],
  [StepIds.dsr]: [
    'bpfExternalServiceMode back',
    'Restore bpfExternalServiceMode to its prior value (removed when it was not set).',
  ],
  [StepIds.pickup]: [
    'calico-node restart annotation back',
    'Restore the restart annotations ebpfctl set and wait for the rollout.',
  ],
  [StepIds.apiAddress]: [
    'API-server address back',
    `Delete ConfigMap ${SERVICES_ENDPOINT_CONFIGMAP} if ebpfctl created it (otherwise restore its prior values), ` +
      `or restore bpfNetworkBootstrap.`,
  ],
}
const ORDER = [StepIds.kubeProxy, StepIds.bpfOn, StepIds.dsr, StepIds.pickup, StepIds.apiAddress]

/** Reverts what the record says enable changed, in a safe order: kube-proxy back first, then BPF off, then the rest. */
export function buildRevertPlan(state: ClusterState, install: InstallInfo, record: EnableRecord | undefined): Plan {
  if (!record) return bestEffortRevertPlan(state, install)
  const changesFor = (id: string) =>
    record.entries
      .filter((e) => e.stepId === id)
      .reverse()
      .flatMap((e) => [...e.changes].reverse())
      .map((c) => {
        const live = findInState(state, c)
        return keepOthersFields(keepOthersKeys(inverseChange(c), live), live)
      })
  const bootstrapFields = changesFor(StepIds.apiAddress)
    .filter((c) => c.resource.plural === 'installations')
    .flatMap((c) => c.fields)
    .filter((f) => f.path.join('.') === 'spec.calicoNetwork.bpfNetworkBootstrap')
  const steps: Step[] = []
  for (const id of ORDER) {
    let changes = changesFor(id)
    if (changes.length === 0) continue
    if (id === StepIds.bpfOn && bootstrapFields.length) {
      changes = changes.map((c) => {
        if (c.resource.plural !== 'installations') return c
        const fields = [...c.fields, ...bootstrapFields]
        return {...c, fields, body: patchBody(fields, 'after')}
      })
    }
    let wait: Wait | undefined
    if (id === StepIds.kubeProxy) wait = kubeProxyWait(state, changes)
    if (id === StepIds.bpfOn) wait = bpfOffWait(install)
    if (id === StepIds.pickup) {
      wait = async (ctx) => {
        for (const c of changes) {
          if (c.resource.plural === 'deployments') await waitDeploymentRollout(ctx, ctx.progress, c.namespace!, c.name)
          else await waitDaemonSetRollout(ctx, ctx.progress, c.namespace!, c.name)
        }
      }
    }
    const [title, describe] = TITLES[id]!
    steps.push(revertStep(id, title, describe, changes, wait))
  }
  return {kind: 'revert', install, variant: 'revert-from-record', steps, warnings: [DISRUPTION_WARNING]}
}

/** Without a record: undo the well-known changes that are visible in the cluster. */
export function bestEffortRevertPlan(state: ClusterState, install: InstallInfo): Plan {
  const steps: Step[] = []
  const kp = install.kubeProxy as DaemonSetObject | undefined
  if (kp) {
    const sel = ['spec', 'template', 'spec', 'nodeSelector']
    const ref = {resource: Resources.daemonSets, namespace: kp.metadata.namespace, name: kp.metadata.name}
    const c = patchChange(ref, kp, [
      [[...sel, NON_CALICO_KEY], undefined],
      ...(install.type === 'operator'
        ? ([[[...sel, OPERATOR_KUBE_PROXY_KEY], undefined]] as [string[], unknown][])
        : []),
    ])
    if (c)
      steps.push(
        revertStep(
          StepIds.kubeProxy,
          TITLES[StepIds.kubeProxy]![0],
          'Remove the non-calico / operator nodeSelector keys from kube-proxy and wait until its pods are Ready.',
          [c],
          kubeProxyWait(state, [c]),
        ),
      )
  }
  const fcRes = calicoResource(state, Resources.felixConfigurations)
  const fc = state.felixConfigurations.find((f) => f.metadata.name === 'default')
  let bpfOff: ObjectChange | undefined
  if (install.type === 'operator') {
    const net = state.installation?.spec?.calicoNetwork
    const sets: [string[], unknown][] = []
    if (net?.linuxDataplane === 'BPF') sets.push([['spec', 'calicoNetwork', 'linuxDataplane'], 'Iptables'])
    if (net?.bpfNetworkBootstrap === 'Enabled')
      sets.push([['spec', 'calicoNetwork', 'bpfNetworkBootstrap'], 'Disabled'])
    bpfOff = patchChange({resource: Resources.installations, name: 'default'}, state.installation, sets)
  } else if (install.felixBpfEnabledEnv) {
    const ds = install.calicoNode
    const path = ['spec', 'template', 'spec', 'containers[calico-node]', 'env[FELIX_BPFENABLED]', 'value']
    if (ds && install.felixBpfEnabledEnv.enabled === true) {
      bpfOff = patchChange(
        {resource: Resources.daemonSets, namespace: ds.metadata.namespace, name: ds.metadata.name},
        ds,
        [[path, 'false']],
        'strategic',
      )
    }
  } else if (fc?.spec?.bpfEnabled === true) {
    bpfOff = patchChange({resource: fcRes, name: 'default'}, fc, [[['spec', 'bpfEnabled'], false]])
  }
  if (bpfOff)
    steps.push(
      revertStep(
        StepIds.bpfOn,
        TITLES[StepIds.bpfOn]![0],
        'Turn BPF off (operator: linuxDataplane: Iptables, bpfNetworkBootstrap: Disabled; manifest: bpfEnabled: ' +
          'false).',
        [bpfOff],
        bpfOffWait(install),
      ),
    )
  if (fc && String(fc.spec?.bpfExternalServiceMode ?? '').toLowerCase() === 'dsr') {
    const c = patchChange({resource: fcRes, name: 'default'}, fc, [[['spec', 'bpfExternalServiceMode'], 'Tunnel']])!
    steps.push(
      revertStep(StepIds.dsr, TITLES[StepIds.dsr]![0], 'Set bpfExternalServiceMode back to Tunnel (the default).', [c]),
    )
  }
  const warnings = [
    DISRUPTION_WARNING,
    `No enable record (ConfigMap ${install.calicoNamespace}/${RECORD_CONFIGMAP}) found: reverting the well-known ` +
      `changes ` +
      `best-effort (kube-proxy nodeSelector keys, BPF off, DSR → Tunnel). Prior values are unknown, and ConfigMap ` +
      `${SERVICES_ENDPOINT_CONFIGMAP} and kube-proxy-coexistence settings are left as they are.`,
  ]
  return {kind: 'revert', install, variant: 'revert-best-effort', steps, warnings}
}
