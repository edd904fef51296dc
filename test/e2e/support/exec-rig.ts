/**
 * Pod exec on the e2e cluster into a node rig: one kwok `Exec` resource per calico-node pod, naming the rig node of
 * the pod's kwok node (EBPFCTL_E2E_RIG_PID), so test/e2e/kwok-exec-shim runs the exec'd command inside that node's
 * mount namespace, against its bpffs and pinned maps. DaemonSet pods are renamed on every rollout: call again after one.
 */
import type {Rig} from '../../support/node-rig/index.js'
import type {E2ECluster} from './cluster.js'

export async function mapExecToRig(c: E2ECluster, rig: Rig, probeMap: string): Promise<void> {
  const pods = (await c.kubectlJson(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=calico-node'])).items as any[]
  const execs = pods.map((p) => {
    const node = rig.nodes.find((n) => n.name === p.spec.nodeName)
    if (!node) throw new Error(`calico-node pod ${p.metadata.name} is on ${p.spec.nodeName}, which has no rig node`)
    return {
      apiVersion: 'kwok.x-k8s.io/v1alpha1',
      kind: 'Exec',
      metadata: {name: p.metadata.name, namespace: 'kube-system'},
      spec: {execs: [{containers: ['calico-node'], local: {envs: [{name: 'EBPFCTL_E2E_RIG_PID', value: String(node.pid)}]}}]},
    }
  })
  await c.kubectl(['apply', '-f', '-'], {input: JSON.stringify({apiVersion: 'v1', kind: 'List', items: execs})})
  // kwok learns of Exec resources through a watch: wait until every pod's exec lands in its node.
  const deadline = Date.now() + 30_000
  for (const p of pods) {
    for (;;) {
      const r = await c.kubectl(
        ['exec', '-n', 'kube-system', p.metadata.name, '-c', 'calico-node', '--', 'bpftool', 'map', 'show', 'pinned', probeMap],
        {reject: false},
      )
      if (r.code === 0) break
      if (Date.now() > deadline) throw new Error(`exec into ${p.metadata.name} does not reach its rig node: ${r.stderr}`)
      await new Promise((res) => setTimeout(res, 300))
    }
  }
}
