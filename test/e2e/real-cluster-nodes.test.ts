/**
 * ebpfctl against the real control plane (test/e2e/cluster) where the nodes matter: `nat dump` / `conntrack dump
 * --via exec` through a real apiserver pod exec into kwok, landing in node rig namespaces with real pinned maps (root
 * only, like the rig tests); and the preflight refusing a kwok node whose kernel is below Felix's floor.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type ConntrackEntry, type NatFrontend, MAP_LAYOUTS, decodeCtEntry} from '../../src/lib/maps/index.js'
import {encodeCtEntry, encodeNatMaps} from '../support/map-encoders.js'
import {type Rig, type RigMap, PIN_DIR, startRig} from '../support/node-rig/index.js'
import {type E2ECluster, e2eSkipReason, ebpfctl, startE2ECluster} from './support/cluster.js'
import {mapExecToRig} from './support/exec-rig.js'

const skipReason = e2eSkipReason()
const isRoot = process.getuid?.() === 0
const FAST = ['--poll-interval', '200ms', '--timeout', '60s']
const NODES = ['kwok-node-1', 'kwok-node-2', 'kwok-node-3']

// Per node: the kubernetes Service (10.96.0.1:443, the apiserver's own ClusterIP) and kube-dns (created below). Node 3
// has a different backend for kube-dns, so a dump that read the wrong node's maps would show.
const natFor = (node: string): NatFrontend[] => [
  {ip: '10.96.0.1', port: 443, proto: 'tcp', serviceId: 1, count: 2, localCount: 0, flags: [], backends: [
    {ordinal: 0, ip: '172.18.0.2', port: 6443},
    {ordinal: 1, ip: '172.18.0.3', port: 6443},
  ]},
  {ip: '10.96.0.10', port: 53, proto: 'udp', serviceId: 7, count: 1, localCount: 0, flags: [], backends: [
    {ordinal: 0, ip: node === 'kwok-node-3' ? '10.65.3.9' : '10.65.1.7', port: 53},
  ]},
]

function ctFor(node: string, n: number): ConntrackEntry[] {
  const third = NODES.indexOf(node) + 1
  return Array.from({length: n}, (_, i) => {
    const a = {ip: `10.65.${third}.${i + 1}`, port: 40000 + i}
    const b = {ip: '10.65.1.7', port: 53}
    return {proto: 'udp', a, b, src: a, dst: b, type: 'normal', flags: []} as ConntrackEntry
  })
}

const bufs = (entries: {key: Uint8Array; value: Uint8Array}[]) =>
  entries.map((e) => ({key: Buffer.from(e.key), value: Buffer.from(e.value)}))

function calicoMaps(node: string): RigMap[] {
  const nat = encodeNatMaps(natFor(node))
  const l = MAP_LAYOUTS
  return [
    {name: l.ct4.name, type: l.ct4.mapType, keySize: 16, valueSize: 88, maxEntries: 1024, entries: bufs(ctFor(node, 5 * (NODES.indexOf(node) + 1)).map((e) => encodeCtEntry(e)))},
    {name: l['nat-fe3'].name, type: 'lpm_trie', keySize: 16, valueSize: 20, maxEntries: 1024, flags: 1, entries: bufs(nat.frontends)},
    {name: l['nat-be'].name, type: 'hash', keySize: 8, valueSize: 8, maxEntries: 1024, flags: 1, entries: bufs(nat.backends)},
  ]
}

/**
 * Writes (create/update/patch/delete) the audit log holds after `from` bytes: the admin user's requests only. Access
 * reviews are creates that store nothing (the permission preflight asks them), so they are not writes.
 */
function auditWritesSince(dir: string, from: number): string[] {
  const text = readFileSync(join(dir, 'audit.log')).subarray(from).toString('utf8')
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(e.verb))
    .filter((e) => !/^\/apis\/authorization\.k8s\.io\/v1\/selfsubjectaccessreviews\b/.test(e.requestURI))
    .map((e) => `${e.verb} ${e.requestURI} (${e.userAgent})`)
}
const auditSize = (dir: string) => readFileSync(join(dir, 'audit.log')).length

if (skipReason) {
  describe('e2e: real control plane, nodes', () => {
    it.skip(`skipped: ${skipReason}`, () => {})
  })
} else {
  describe('e2e: real control plane, nodes (manifest install, 3 kwok nodes)', () => {
    let c: E2ECluster
    beforeAll(async () => {
      c = await startE2ECluster()
    }, 300_000)
    afterAll(async () => {
      await c?.down()
    }, 60_000)

    describe.runIf(isRoot)('dumps --via exec: apiserver pod exec → kwok → the node rig namespace of that pod\'s node', () => {
      let rig: Rig
      beforeAll(async () => {
        rig = await startRig({nodes: NODES.map((name) => ({name, maps: calicoMaps(name)}))})
        await c.kubectl(['apply', '-f', '-'], {
          input: JSON.stringify({
            apiVersion: 'v1', kind: 'Service', metadata: {name: 'kube-dns', namespace: 'kube-system'},
            spec: {clusterIP: '10.96.0.10', selector: {'k8s-app': 'kube-dns'}, ports: [
              {name: 'dns', port: 53, protocol: 'UDP'}, {name: 'dns-tcp', port: 53, protocol: 'TCP'}]},
          }),
        })
        await mapExecToRig(c, rig, `${PIN_DIR}/${MAP_LAYOUTS.ct4.name}`)
      }, 120_000)
      afterAll(async () => rig?.stop())

      it('nat dump --all-nodes --via exec --source bpftool: each node\'s real pinned entries, joined to the Services', async () => {
        const r = await ebpfctl(['nat', 'dump', '--all-nodes', '--via', 'exec', '--source', 'bpftool', '-o', 'json'], c.kubeconfig)
        expect(r.stderr).toBe('')
        expect(r.code).toBe(0)
        const report = JSON.parse(r.stdout) as {nodes: {node: string; source: string; frontends: any[]}[]}
        expect(report.nodes.map((n) => [n.node, n.source])).toEqual(NODES.map((n) => [n, 'bpftool']))
        for (const n of report.nodes) {
          const seen = n.frontends.map((f) => [`${f.ip}:${f.port}/${f.proto}`, f.service?.ref, f.backends.map((b: any) => `${b.ip}:${b.port}`)])
          expect(seen).toEqual([
            ['10.96.0.1:443/tcp', 'default/kubernetes:https', ['172.18.0.2:6443', '172.18.0.3:6443']],
            ['10.96.0.10:53/udp', 'kube-system/kube-dns:dns', [n.node === 'kwok-node-3' ? '10.65.3.9:53' : '10.65.1.7:53']],
          ])
        }
      }, 60_000)

      it('nat dump --via exec in auto mode: no calico-node binary in the rig, so it falls back to the pinned maps', async () => {
        const r = await ebpfctl(['nat', 'dump', '--node', 'kwok-node-2', '--via', 'exec', '--service', 'kube-system/kube-dns'], c.kubeconfig)
        expect(r.code, r.stderr).toBe(0)
        expect(r.stdout).toMatch(/kwok-node-2\s+10\.96\.0\.10:53\/UDP\s+kube-system\/kube-dns:dns\s+10\.65\.1\.7:53/)
      }, 60_000)

      it('conntrack dump --via exec --source bpftool: every entry of each node\'s map, decoded', async () => {
        const r = await ebpfctl(['conntrack', 'dump', '--all-nodes', '--via', 'exec', '--source', 'bpftool', '-o', 'json'], c.kubeconfig)
        expect(r.stderr).toBe('')
        expect(r.code).toBe(0)
        const report = JSON.parse(r.stdout) as {nodes: {node: string; entries: ConntrackEntry[]; summary: {entries: number}}[]}
        for (const n of report.nodes) {
          const expected = ctFor(n.node, 5 * (NODES.indexOf(n.node) + 1)).map((e) => {
            const b = encodeCtEntry(e)
            return decodeCtEntry(b.key, b.value, {layout: 'ct4'})
          })
          const key = (e: any) => `${e.proto} ${e.a.ip}:${e.a.port} ${e.b.ip}:${e.b.port} ${e.type}`
          expect(n.summary.entries).toBe(expected.length)
          expect(n.entries.map(key).sort()).toEqual(expected.map(key).sort())
        }
      }, 60_000)
    })

    describe('preflight: a kwok node whose kernel is below Felix\'s floor', () => {
      beforeAll(async () => {
        const old = {
          apiVersion: 'v1', kind: 'Node',
          metadata: {name: 'kwok-old-1', annotations: {'kwok.x-k8s.io/node': 'fake'},
            labels: {'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': 'kwok-old-1', type: 'kwok'}},
          status: {nodeInfo: {kernelVersion: '4.15.0-213-generic', osImage: 'Ubuntu 18.04.6 LTS', architecture: 'amd64',
            operatingSystem: 'linux', kubeletVersion: 'v1.35.4', kubeProxyVersion: 'v1.35.4', containerRuntimeVersion: 'kwok',
            machineID: '', systemUUID: '', bootID: ''}},
        }
        await c.kubectl(['apply', '-f', '-'], {input: JSON.stringify(old)})
        await c.kubectl(['wait', '--for=condition=Ready', 'node/kwok-old-1', '--timeout=60s'])
        await c.kubectl(['rollout', 'status', '-n', 'kube-system', 'daemonset/calico-node', '--timeout=60s'])
      }, 120_000)

      it('check FAILs the kernel check on that node, from its real Node status', async () => {
        const node = await c.kubectlJson(['get', 'node', 'kwok-old-1'])
        expect(node.status.nodeInfo.kernelVersion).toBe('4.15.0-213-generic')
        const r = await ebpfctl(['check', '-o', 'json'], c.kubeconfig)
        expect(r.code, r.stderr).toBe(1)
        const report = JSON.parse(r.stdout)
        const kernel = report.checks.find((x: any) => x.id === 'kernel')
        expect(kernel.status).toBe('fail')
        expect(kernel.counts).toMatchObject({failed: 1, passed: 3})
        const verdicts = Object.fromEntries(
          report.nodes.map((n: any) => [n.name, n.findings.find((f: any) => f.checkId === 'kernel')?.status]),
        )
        expect(verdicts).toEqual({'kwok-node-1': 'pass', 'kwok-node-2': 'pass', 'kwok-node-3': 'pass', 'kwok-old-1': 'fail'})
        const text = await ebpfctl(['check'], c.kubeconfig)
        expect(text.stdout).toMatch(/kwok-old-1/)
        expect(text.stdout).toMatch(/4\.15\.0/)
      }, 60_000)

      it('enable refuses before any write: no write request in the audit log, FelixConfiguration, kube-proxy and ConfigMaps unchanged', async () => {
        const fc = await c.kubectlJson(['get', 'felixconfigurations.crd.projectcalico.org', 'default'])
        const kp = await c.kubectlJson(['get', 'daemonset', 'kube-proxy', '-n', 'kube-system'])
        const cms = await c.kubectlJson(['get', 'configmaps', '-n', 'kube-system'])
        const from = auditSize(c.dir)
        const r = await ebpfctl(['enable', '--dsr', ...FAST], c.kubeconfig)
        expect(r.code, r.stdout).toBe(1)
        expect(r.stderr).toMatch(/preflight failed[\s\S]*kernel/)
        expect(r.stderr).toMatch(/kwok-old-1/)
        // The audit log is written before each response (blocking mode): nothing ebpfctl sent was a write.
        expect(auditWritesSince(c.dir, from)).toEqual([])
        expect((await c.kubectlJson(['get', 'felixconfigurations.crd.projectcalico.org', 'default'])).metadata.resourceVersion).toBe(fc.metadata.resourceVersion)
        expect((await c.kubectlJson(['get', 'daemonset', 'kube-proxy', '-n', 'kube-system'])).metadata.generation).toBe(kp.metadata.generation)
        const after = await c.kubectlJson(['get', 'configmaps', '-n', 'kube-system'])
        expect(after.items.map((x: any) => x.metadata.name).sort()).toEqual(cms.items.map((x: any) => x.metadata.name).sort())
        for (const name of ['kubernetes-services-endpoint', 'ebpfctl-state'])
          expect((await c.kubectl(['get', 'configmap', name, '-n', 'kube-system'], {reject: false})).stderr).toMatch(/NotFound/)
      }, 120_000)
    })
  })
}
