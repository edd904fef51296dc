import type {DaemonSetObject} from '../kube/objects.js'
import {Resources} from '../kube/resources.js'
import {PlanError} from './errors.js'
import type {StepContext} from './types.js'
import {cliCommand} from '../cli/name.js'

/** The nodeSelector key enable adds to keep kube-proxy off every node. */
export const NON_CALICO_KEY = 'non-calico'
/** The key the operator adds for kubeProxyManagement: Enabled. */
export const OPERATOR_KUBE_PROXY_KEY = 'operator.tigera.io/disable-kube-proxy'
export const KUBE_PROXY_OFF_KEYS = [NON_CALICO_KEY, OPERATOR_KUBE_PROXY_KEY]
const KUBE_PROXY_STEP = 'kube-proxy'

/**
 * The kube-proxy DaemonSet that must serve before BPF goes off: the one this run found, else the one a recorded
 * kube-proxy step disabled (the record can only add caution here, never remove it). Undefined when neither knows one
 * (kube-proxy may run as static pods, or not at all: nothing to check).
 */
function expectedKubeProxy(ctx: StepContext): {namespace: string; name: string} | undefined {
  const known = ctx.install.kubeProxy?.metadata
  if (known) return {namespace: known.namespace ?? 'kube-system', name: known.name}
  const recorded = ctx.record.record.entries
    .filter((e) => e.stepId === KUBE_PROXY_STEP)
    .flatMap((e) => e.changes)
    .find((c) => c.resource.plural === 'daemonsets' && c.by !== 'operator')
  return recorded ? {namespace: recorded.namespace ?? 'kube-system', name: recorded.name} : undefined
}

/**
 * Refuses to turn BPF off while the live kube-proxy DaemonSet is still disabled, or gone: with both off, no node
 * handles Services. Read from the cluster, never from the record (a record can forget its kube-proxy entry).
 */
export async function assertKubeProxyServing(ctx: StepContext): Promise<void> {
  const expected = expectedKubeProxy(ctx)
  if (!expected) return
  const {namespace, name} = expected
  const ds = await ctx.kube.get<DaemonSetObject>(Resources.daemonSets, name, namespace)
  if (!ds) {
    throw new PlanError(
      `refusing to turn BPF off: kube-proxy DaemonSet ${namespace}/${name} is gone (enable had disabled it); with ` +
        'both off no node would handle Services',
      {
        remedy:
          'Bring kube-proxy back first (kubeadm: `kubeadm init phase addon kube-proxy`), wait for its pods, then run ' +
          `\`${cliCommand('revert')}\` again.`,
      },
    )
  }
  const selector = ds.spec?.template?.spec?.nodeSelector ?? {}
  const offKeys = KUBE_PROXY_OFF_KEYS.filter((k) => Object.hasOwn(selector, k))
  // Only the keys that switch it off count: the DaemonSet's own selector, and a status that may lag our patch, do not.
  if (offKeys.length === 0) return
  const why = `its nodeSelector still has ${offKeys.map((k) => `${k}: ${JSON.stringify(selector[k])}`).join(', ')}`
  const unset = Object.fromEntries(offKeys.map((k) => [k, null]))
  throw new PlanError(
    `refusing to turn BPF off: kube-proxy DaemonSet ${namespace}/${name} is still disabled (${why}); with both ` +
      'off no node would handle Services',
    {
      remedy:
        `Bring kube-proxy back first (kubectl -n ${namespace} patch daemonset ${name} --type merge -p ` +
        `'${JSON.stringify({spec: {template: {spec: {nodeSelector: unset}}}})}'), wait for its pods, then run ` +
        `\`${cliCommand('revert')}\` again.`,
    },
  )
}
