/**
 * `ebpfctl verify` against the real control plane (test/e2e/cluster: kube-apiserver, kube-controller-manager,
 * kube-scheduler v1.35.4, kwok nodes, Calico's calico.yaml) with the probes on a real kernel data path: the netns rig
 * (test/support/netns-rig), whose nodes are the kwok nodes.
 *
 * What is real: the namespace, the Deployment and its ReplicaSet and pods (Deployment and ReplicaSet controllers,
 * the scheduler spreading them over the kwok nodes), the NodePort Service (the apiserver allocates ClusterIP and
 * NodePort), the EndpointSlices (the endpointslice controller), the pods' addresses (kwok, from each node's podCIDR),
 * the pod proxy verify's in-cluster probes go through (kube-apiserver, over its egress selector to an HTTP CONNECT
 * proxy on a rig node, as konnectivity does), and the namespace's deletion (the namespace controller, kwok's
 * pod-delete stage).
 * What stands in: the nodes' InternalIP and podCIDR are set to the rig's (kwok keeps what is set), and the Service
 * data path that Calico or kube-proxy would program from those objects is the rig's nftables, programmed from what
 * this test reads from the API server (FelixConfiguration, Services, EndpointSlices, NetworkPolicies in
 * ebpfctl-verify) — the rig's pods move to the addresses kwok gave them.
 * Root only (network namespaces), like the netns rig tests.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type NetnsDataPath, CLIENT_ADDRESS, createNetnsDataPath, dataPathState, isRoot} from '../support/netns-rig/index.js'
import {type E2ECluster, e2eSkipReason, startE2ECluster} from './support/cluster.js'
import {raw, realEndpoint} from './support/raw.js'

const skipReason = e2eSkipReason()
const NODES = ['kwok-node-1', 'kwok-node-2', 'kwok-node-3']
const NS = 'ebpfctl-verify'

/**
 * The data path follows the API server, as Calico's or kube-proxy's watch would: polled every 100 ms. With `lagMs`, a
 * change is programmed only once it has stood that long, as a sync period batches updates: then the Service is not
 * yet served when its EndpointSlices list every pod, and verify must wait for the NodePort to answer (a CI run once
 * probed in that gap). Records which EndpointSlice managers it saw.
 */
function followCluster(
  dp: NetnsDataPath,
  dir: string,
): {stop: () => Promise<void>; errors: string[]; sliceManagers: Set<string>; lagMs: number} {
  const ep = realEndpoint(dir)
  const errors: string[] = []
  const sliceManagers = new Set<string>()
  let running = true
  let programmed = ''
  let pending = ''
  let pendingSince = 0
  const items = async (path: string) => {
    const r = await raw(ep, 'GET', path)
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`)
    return r.body.items ?? []
  }
  const follower = {
    errors,
    sliceManagers,
    lagMs: 0,
    async stop() {
      running = false
      await loop
    },
  }
  const loop = (async () => {
    while (running) {
      try {
        const felix = await raw(ep, 'GET', '/apis/crd.projectcalico.org/v1/felixconfigurations/default')
        const slices = await items(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`)
        for (const s of slices) sliceManagers.add(s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] ?? '(none)')
        const state = dataPathState({
          felix: felix.status === 200 ? felix.body : undefined,
          services: await items(`/api/v1/namespaces/${NS}/services`),
          slices,
          policies: await items(`/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`),
        })
        const text = JSON.stringify(state)
        if (text !== pending) {
          pending = text
          pendingSince = Date.now()
        }
        if (text !== programmed && Date.now() - pendingSince >= follower.lagMs) {
          dp.program(state)
          programmed = text
        }
      } catch (err) {
        if (errors.length < 20) errors.push((err as Error).message)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  return follower
}

if (skipReason || !isRoot) {
  describe('e2e: verify on the real control plane', () => {
    it.skip(`skipped: ${skipReason ?? 'needs root (network namespaces)'}`, () => {})
  })
} else {
  describe('e2e: verify on the real control plane, probes on the netns data path (3 kwok nodes)', () => {
    let dp: NetnsDataPath
    let c: E2ECluster
    let follow: ReturnType<typeof followCluster>

    beforeAll(async () => {
      dp = await createNetnsDataPath({nodeNames: NODES})
      c = await startE2ECluster({}, {egressSelector: await dp.serveEgress()})
      await dp.exposeApi(Number(new URL(c.server).port))
      for (const n of dp.nodes) {
        const cidr = `198.19.${n.index}.0/24`
        await c.kubectl(['patch', 'node', n.name, '--type', 'merge', '-p', JSON.stringify({spec: {podCIDR: cidr, podCIDRs: [cidr]}})])
        const addresses = [{type: 'InternalIP', address: n.address}, {type: 'Hostname', address: n.name}]
        await c.kubectl(['patch', 'node', n.name, '--subresource', 'status', '--type', 'merge', '-p', JSON.stringify({status: {addresses}})])
      }
      follow = followCluster(dp, c.dir)
    }, 300_000)
    afterAll(async () => {
      await follow?.stop()
      await c?.down()
      await dp?.close()
    }, 60_000)

    const verify = async (...args: string[]) => {
      const r = await dp.cli(['verify', '--kubeconfig', c.kubeconfig, '--requests', '20', '--timeout', '120s', '-o', 'json', ...args], {timeoutMs: 240_000})
      return {...r, report: r.stdout ? JSON.parse(r.stdout) : undefined}
    }
    const probe = (report: any, id: string) => report.probes.find((p: any) => p.id === id)
    const statuses = (report: any, id: string) => probe(report, id).findings.map((f: any) => [f.node, f.status])
    const namespaceGone = async () => {
      const deadline = Date.now() + 90_000
      for (;;) {
        const r = await c.kubectl(['get', 'namespace', NS, '-o', 'name'], {reject: false})
        if (r.code !== 0 && /NotFound/.test(r.stderr)) return true
        if (Date.now() > deadline) return false
        await new Promise((res) => setTimeout(res, 1000))
      }
    }
    const allPass = NODES.map((n) => [n, 'pass'])

    it('kube-proxy: the real pods, Service and EndpointSlices answer on every kwok node; the pod sees the node address; the namespace is deleted', async () => {
      const r = await verify()
      expect(r.code, r.stderr).toBe(0)
      expect(r.report.dataplane).toMatchObject({label: 'kube-proxy', calicoInstall: 'manifest'})
      // The workload the real controllers made: one pod per kwok node, each at the address kwok chose in its podCIDR.
      const pods = r.report.workload.pods as {name: string; node: string; ip: string}[]
      expect(pods.map((p) => p.node)).toEqual(NODES)
      for (const p of pods) {
        expect(p.name).toMatch(/^ebpfctl-verify-[a-z0-9]+-[a-z0-9]{5}$/)
        expect(p.ip).toMatch(new RegExp(`^198\\.19\\.${NODES.indexOf(p.node) + 1}\\.\\d+$`))
      }
      expect(r.report.workload.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/)
      expect(r.report.workload.nodePort).toBeGreaterThanOrEqual(30000)
      expect([...follow.sliceManagers]).toEqual(['endpointslice-controller.k8s.io'])
      expect(probe(r.report, 'workload').status).toBe('pass')
      expect(statuses(r.report, 'nodeport')).toEqual(allPass)
      const src = probe(r.report, 'source-ip').findings
      expect(src.map((f: any) => f.status)).toEqual(['warn', 'warn', 'warn'])
      expect(src[0].summary).toMatch(`the pod saw node address 198.18.0.11 (kwok-node-1), not this machine's ${CLIENT_ADDRESS}`)
      expect(probe(r.report, 'cluster-ip').status).toBe('pass')
      expect(probe(r.report, 'pod-nodeport').status).toBe('pass')
      expect(r.report.latency.map((l: any) => [l.node, l.requests, l.errors])).toEqual(NODES.map((n) => [n, 20, 0]))
      expect(await namespaceGone()).toBe(true)
      expect(follow.errors).toEqual([])
    }, 300_000)

    it('BPF (FelixConfiguration bpfEnabled): the pod sees this machine on every node, in-cluster paths work, the namespace is deleted', async () => {
      await c.kubectl(['patch', 'felixconfigurations.crd.projectcalico.org', 'default', '--type', 'merge', '-p', '{"spec":{"bpfEnabled":true}}'])
      // Felix programs the new Service 3 s after it changed, later than verify sees the EndpointSlices list every pod.
      follow.lagMs = 3000
      const r = await verify().finally(() => (follow.lagMs = 0))
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toMatch(/NodePort \d+ answers on 3\/3 node\(s\) \(\d+s of 30s\)\n/)
      expect(r.report.dataplane.label).toBe('BPF')
      expect(dp.mode()).toBe('bpf')
      expect(statuses(r.report, 'nodeport')).toEqual(allPass)
      expect(statuses(r.report, 'source-ip')).toEqual(allPass)
      expect(probe(r.report, 'source-ip').findings[0].summary).toBe(`source IP preserved: the pod saw ${CLIENT_ADDRESS}, this machine's address`)
      expect(probe(r.report, 'cluster-ip').status).toBe('pass')
      expect(probe(r.report, 'pod-nodeport').status).toBe('pass')
      // The stored runs (ConfigMap kube-system/ebpfctl-verify-results on the real apiserver): kube-proxy → BPF.
      expect(r.report.beforeAfter).toMatch(/^NodePort p50 \d+\.\d\d ms \(kube-proxy\) → \d+\.\d\d ms \(BPF\); source IP: node address → client address$/)
      expect(await namespaceGone()).toBe(true)
      expect(follow.errors).toEqual([])
    }, 300_000)
  })
}
