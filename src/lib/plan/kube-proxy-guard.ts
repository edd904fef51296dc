import type {DaemonSetObject} from '../kube/calico-types.js'
import {Resources} from '../kube/resources.js'
import {PlanError} from './errors.js'
import type {StepContext} from './types.js'

/** The nodeSelector key enable adds to keep kube-proxy off every node. */
export const NON_CALICO_KEY = 'non-calico'
/** The key the operator adds for kubeProxyManagement: Enabled. */
export const OPERATOR_KUBE_PROXY_KEY = 'operator.tigera.io/disable-kube-proxy'
const KUBE_PROXY_OFF_KEYS = [NON_CALICO_KEY, OPERATOR_KUBE_PROXY_KEY]

/**
 * Refuses to turn BPF off while the live kube-proxy DaemonSet is still disabled: with both off, no node handles
 * Services. Read from the cluster, never from the record (a record can forget its kube-proxy entry). A cluster that
 * had no kube-proxy DaemonSet when the run started has nothing to wait for.
 */
export async function assertKubeProxyServing(ctx: StepContext): Promise<void> {
  const known = ctx.install.kubeProxy?.metadata
  if (!known) return
  const namespace = known.namespace ?? 'kube-system'
  const ds = await ctx.kube.get<DaemonSetObject>(Resources.daemonSets, known.name, namespace)
  if (!ds) return
  const selector = ds.spec?.template?.spec?.nodeSelector ?? {}
  const offKeys = KUBE_PROXY_OFF_KEYS.filter((k) => Object.hasOwn(selector, k))
  // Only the keys that switch it off count: the DaemonSet's own selector, and a status that may lag our patch, do not.
  if (offKeys.length === 0) return
  const why = `its nodeSelector still has ${offKeys.map((k) => `${k}: ${JSON.stringify(selector[k])}`).join(', ')}`
  const unset = Object.fromEntries(offKeys.map((k) => [k, null]))
  throw new PlanError(
    `refusing to turn BPF off: kube-proxy DaemonSet ${namespace}/${known.name} is still disabled (${why}); with both ` +
      'off no node would handle Services',
    {
      remedy:
        `Bring kube-proxy back first (kubectl -n ${namespace} patch daemonset ${known.name} --type merge -p ` +
        `'${JSON.stringify({spec: {template: {spec: {nodeSelector: unset}}}})}'), wait for its pods, then run ` +
        '`ebpfctl revert` again.',
    },
  )
}
