/**
 * `--via debug` on the real control plane (test/e2e/cluster): the real apiserver admits the privileged pod ebpfctl
 * makes on each kwok node (hostPID, hostNetwork, the host's /sys/fs/bpf, the calico-node DaemonSet's image), kwok runs
 * it, bpftool runs in it through a real pod exec, and the pods are deleted afterwards. Each debug pod's exec lands in
 * its kwok node's node-rig namespace (a kwok Exec resource, made by the test as soon as the pod appears, as
 * test/e2e/support/exec-rig.ts does for calico-node), where a real percpu `cali_counters6` map is pinned. Root only.
 */
import {readFileSync} from 'node:fs'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {CountersReport} from '../../src/lib/dataplane/counters.js'
import type {KubeClient} from '../../src/lib/kube/client.js'
import {connect} from '../../src/lib/kube/connect.js'
import {Resources} from '../../src/lib/kube/resources.js'
import {type Rig, startRig} from '../support/node-rig/index.js'
import {BIN, ROOT, type E2ECluster, e2eSkipReason, startE2ECluster} from './support/cluster.js'

const skipReason = e2eSkipReason()
const isRoot = process.getuid?.() === 0
const NODES = ['kwok-node-1', 'kwok-node-2', 'kwok-node-3']
const EXECS = {group: 'kwok.x-k8s.io', version: 'v1alpha1', plural: 'execs', kind: 'Exec', namespaced: true}

/** One percpu counters entry (ifindex, hook) with `dropped[reason] = n` (bpftool writes the value to every CPU). */
function counter(ifindex: number, counts: Record<number, number>) {
  const key = Buffer.alloc(8)
  key.writeUInt32LE(ifindex, 0)
  const value = Buffer.alloc(27 * 8)
  for (const [i, c] of Object.entries(counts)) value.writeBigUInt64LE(BigInt(c), Number(i) * 8)
  return {key, value}
}

const cpus = (() => {
  const spec = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim()
  return spec.split(',').reduce((n, r) => {
    const [a, b] = r.split('-').map(Number)
    return n + (b === undefined ? 1 : b - a! + 1)
  }, 0)
})()

if (skipReason) {
  describe('e2e: --via debug on the real control plane', () => {
    it.skip(`skipped: ${skipReason}`, () => {})
  })
} else {
  describe.runIf(isRoot)('e2e: --via debug on the real control plane (manifest install, 3 kwok nodes, rig nodes)', () => {
    let c: E2ECluster
    let rig: Rig
    let kube: KubeClient
    beforeAll(async () => {
      c = await startE2ECluster()
      // Per node a different count of "failed to create conntrack" drops (reason 16): node i drops i*10 packets.
      rig = await startRig({
        nodes: NODES.map((name, i) => ({
          name,
          maps: [{name: 'cali_counters6', type: 'percpu_hash', keySize: 8, valueSize: 216, maxEntries: 1024, entries: [counter(2, {0: 100, 16: (i + 1) * 10})]}],
        })),
      })
      kube = await connect({kubeconfig: c.kubeconfig, timeoutMs: 5000})
    }, 300_000)
    afterAll(async () => {
      kube?.close()
      await rig?.stop()
      await c?.down()
    }, 60_000)

    /** Gives every debug pod, as soon as it exists, a kwok Exec resource that runs its commands in its node's rig. */
    function routeDebugExecs(): {stop(): Promise<any[]>} {
      const routed = new Map<string, any>()
      let running = true
      const loop = (async () => {
        while (running) {
          const pods = await kube.list<any>(Resources.pods, 'kube-system', {labelSelector: 'app.kubernetes.io/managed-by=ebpfctl'})
          for (const p of pods) {
            if (routed.has(p.metadata.name)) continue
            const node = rig.nodes.find((n) => n.name === p.spec.nodeName)
            if (!node) continue
            routed.set(p.metadata.name, p)
            await kube.create(EXECS, {
              apiVersion: 'kwok.x-k8s.io/v1alpha1',
              kind: 'Exec',
              metadata: {name: p.metadata.name, namespace: 'kube-system'},
              spec: {execs: [{containers: ['debug'], local: {envs: [{name: 'EBPFCTL_E2E_RIG_PID', value: String(node.pid)}]}}]},
            } as never)
          }
          await new Promise((r) => setTimeout(r, 50))
        }
      })()
      return {
        async stop() {
          running = false
          await loop
          return [...routed.values()]
        },
      }
    }

    it('dataplane counters --all-nodes --via debug: the pod per node is admitted and run, bpftool reads that node\'s map, every pod is deleted', async () => {
      const image = (await c.kubectlJson(['get', 'daemonset', 'calico-node', '-n', 'kube-system'])).spec.template.spec.containers.find(
        (x: any) => x.name === 'calico-node',
      ).image
      const router = routeDebugExecs()
      const r = await execa(
        process.execPath,
        [BIN, 'dataplane', 'counters', '--all-nodes', '--via', 'debug', '--source', 'bpftool', '-o', 'json', '--kubeconfig', c.kubeconfig],
        {reject: false, cwd: ROOT, env: {NO_COLOR: '1', KUBECONFIG: '/nonexistent/ebpfctl-e2e-kubeconfig'}, timeout: 180_000},
      )
      const pods = await router.stop()
      expect(pods.map((p) => p.spec.nodeName).sort()).toEqual(NODES)
      expect(r.stderr).toBe('')
      expect(r.exitCode).toBe(0)
      const report = JSON.parse(r.stdout) as CountersReport
      // Each node's own pinned map: the exec ran on the node the pod was scheduled to.
      expect(report.nodes.map((n) => [n.node, n.source, n.summary?.drops[0]?.reason, n.summary?.drops[0]?.packets])).toEqual(
        NODES.map((n, i) => [n, 'bpftool', 'failed to create conntrack', (i + 1) * 10 * cpus]),
      )
      // Each pod created (201) and deleted by ebpfctl (audit log), and none left.
      const audit = readFileSync(`${c.dir}/audit.log`, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .filter((e) => e.objectRef?.resource === 'pods' && e.objectRef?.name?.startsWith('ebpfctl-debug-') && e.stage === 'ResponseComplete')
      const created = audit.filter((e) => e.verb === 'create')
      expect(created.map((e) => e.responseStatus?.code)).toEqual([201, 201, 201])
      expect(audit.filter((e) => e.verb === 'delete').map((e) => e.objectRef.name).sort()).toEqual(created.map((e) => e.objectRef.name).sort())
      const left = await kube.list<any>(Resources.pods, 'kube-system', {labelSelector: 'app.kubernetes.io/managed-by=ebpfctl'})
      expect(left.filter((p) => !p.metadata.deletionTimestamp)).toEqual([])
      // What ran: the DaemonSet's calico-node image, privileged, on the node, with the host's bpffs (as the apiserver stored it).
      for (const p of pods) {
        expect(p.spec).toMatchObject({hostPID: true, hostNetwork: true})
        // Only the host's bpffs: no service-account token volume is added to the privileged pod.
        expect(p.spec.volumes).toEqual([{name: 'bpffs', hostPath: {path: '/sys/fs/bpf', type: 'Directory'}}])
        expect(p.spec.containers[0]).toMatchObject({image, securityContext: {privileged: true}})
      }
    }, 240_000)
  })
}
