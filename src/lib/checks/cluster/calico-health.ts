import type {ClusterCheckContext, Finding, NewFinding} from '../types.js'

export function run(ctx: ClusterCheckContext, finding: NewFinding): Finding[] {
  const ds = ctx.cluster.install.calicoNode
  if (!ds) {
    return ctx.cluster.install.type === 'none'
      ? [finding('skip', 'no calico-node DaemonSet')]
      : [finding('fail', `no calico-node DaemonSet in ${ctx.cluster.install.calicoNamespace}`, {
          remedy: 'Check the operator (kubectl get tigerastatus) or reapply the Calico manifest.',
        })]
  }
  const desired = ds.status?.desiredNumberScheduled ?? 0
  const ready = ds.status?.numberReady ?? 0
  const updated = ds.status?.updatedNumberScheduled ?? desired
  const where = `${ds.metadata.namespace}/calico-node`
  const data = {desired, ready, updated, unavailable: ds.status?.numberUnavailable ?? desired - ready}
  if (desired > 0 && ready === desired) {
    return [finding('pass', `${where}: ${ready}/${desired} ready`, {data})]
  }
  const remedy = `Find the failing pods (kubectl get pods -n ${ds.metadata.namespace} -l k8s-app=calico-node -o wide) and fix them before changing the dataplane.`
  if (ready === 0) return [finding('fail', `${where}: 0/${desired} ready`, {data, remedy})]
  return [finding('warn', `${where}: only ${ready}/${desired} ready`, {data, remedy})]
}
