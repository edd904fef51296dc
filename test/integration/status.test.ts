import {afterEach, describe, expect, it, vi} from 'vitest'

import {parseFelixBool} from '../../src/lib/kube/cluster.js'

import Status from '../../src/commands/status.js'
import {enableSession} from '../../src/lib/plan/index.js'
import {renderStatus} from '../../src/lib/output/status.js'
import {collectStatus} from '../../src/lib/status.js'
import {type TestCluster, startCluster} from '../support/operator-sim.js'

const timing = {pollMs: 5, timeoutMs: 3000, retryDelayMs: 5}
let cluster: TestCluster | undefined
afterEach(async () => {
  vi.restoreAllMocks()
  await cluster?.close()
  cluster = undefined
})

async function runStatus(args: string[]): Promise<{stdout: string; stderr: string; exit: number}> {
  let stdout = ''
  let stderr = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk)
    return true
  })
  let exit = 0
  try {
    await Status.run(args, process.cwd())
  } catch (err) {
    exit = (err as {oclif?: {exit?: number}}).oclif?.exit ?? 99
  }
  vi.restoreAllMocks()
  return {stdout, stderr, exit}
}

describe('status', () => {
  it('before and after enable (operator): configured vs running, kube-proxy, DSR, API address, record', async () => {
    cluster = await startCluster('operator')
    const before = await collectStatus(cluster.kube)
    expect(before.configured).toMatchObject({bpf: false, value: 'Iptables'})
    expect(before.kubeProxy.state).toBe('running')
    expect(before.apiAddress.source).toBe('none')
    expect(before.record).toBeUndefined()
    expect(before.disagreements).toEqual([])
    // BPF configured off and no BPF start in Felix's log: these nodes run iptables (not "unknown").
    expect(before.nodes.groups).toEqual([{dataplane: 'iptables', count: 3, nodes: ['node-1', 'node-2', 'node-3']}])

    await enableSession({
      kube: cluster.kube,
      options: {kubeProxy: 'disable', dsr: true, kubeconfigServer: cluster.kube.server},
      timing,
    })
    const after = await collectStatus(cluster.kube)
    expect(after.configured).toMatchObject({bpf: true, value: 'BPF', felixBpfEnabled: true})
    expect(after.nodes.groups).toEqual([{dataplane: 'bpf-ready', count: 3, nodes: ['node-1', 'node-2', 'node-3']}])
    expect(after.kubeProxy.state).toBe('disabled')
    expect(after.dsr).toEqual({mode: 'DSR', explicit: true})
    expect(after.apiAddress).toEqual({source: 'configmap', namespace: 'tigera-operator', endpoint: '172.18.0.2:6443'})
    expect(after.record?.status).toBe('complete')
    expect(after.disagreements).toEqual([])
    expect(after.calicoNode.ready).toBe(3)

    const {stdout, exit} = await runStatus(['--kubeconfig', cluster.kubeconfig, '-o', 'json'])
    expect(exit).toBe(0)
    expect(JSON.parse(stdout).nodes.total).toBe(3)
    const text = await runStatus(['--kubeconfig', cluster.kubeconfig])
    expect(text.stdout).toContain('BPF ready: 3 (node-1, node-2, node-3)')
    expect(text.stdout).toContain('kube-proxy:        disabled')
  })

  it('exit 1 when configuration and nodes disagree (a node fell back), grouped output', async () => {
    cluster = await startCluster('manifest', {
      nodes: [
        {name: 'cp', controlPlane: true},
        {name: 'old-1', bpfSupported: false},
        {name: 'old-2', bpfSupported: false},
      ],
    })
    const fc = cluster.server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
    fc.spec.bpfEnabled = true
    cluster.server.store.put(fc)
    const s = await collectStatus(cluster.kube)
    expect(s.nodes.groups).toEqual([
      {dataplane: 'bpf-ready', count: 1, nodes: ['cp']},
      {dataplane: 'bpf-not-attached', count: 2, nodes: ['old-1', 'old-2']},
    ])
    expect(s.disagreements[0]).toMatch(/not attached on 2 node\(s\) \(old-1: .*fell back to iptables/)
    expect(renderStatus(s)).toContain('BPF configured but not attached: 2 (old-1, old-2)')
    const {exit} = await runStatus(['--kubeconfig', cluster.kubeconfig])
    expect(exit).toBe(1)
  })

  it('reads a fixed number of lists plus one log per calico-node pod', async () => {
    cluster = await startCluster('manifest', {nodes: 40})
    cluster.server.resetLog()
    await collectStatus(cluster.kube)
    const logs = cluster.server.log.filter((r) => r.subresource === 'log').length
    const other = cluster.server.log.length - logs
    expect(logs).toBe(40)
    expect(other).toBeLessThanOrEqual(20)
  })

  it('exit 2 when Calico is not installed', async () => {
    cluster = await startCluster('manifest')
    cluster.server.store.delete('apps/v1', 'DaemonSet', 'calico-node', 'kube-system')
    const {stderr, exit} = await runStatus(['--kubeconfig', cluster.kubeconfig])
    expect(exit).toBe(2)
    expect(stderr).toMatch(/Calico is not installed/)
  })

  it('exit 1, saying why, when the per-node verdicts cannot be read (403 on pods/log)', async () => {
    cluster = await startCluster('manifest', {nodes: 2})
    cluster.server.forbid({verb: '*', resource: 'pods/log'})
    const s = await collectStatus(cluster.kube)
    expect(s.nodes.groups).toEqual([{dataplane: 'unreachable', count: 2, nodes: ['node-1', 'node-2']}])
    expect(s.nodes.unreadable.map((u) => u.node)).toEqual(['node-1', 'node-2'])
    expect(s.nodes.unreadable[0]!.error).toMatch(/forbidden|403/i)
    const {stdout, exit} = await runStatus(['--kubeconfig', cluster.kubeconfig])
    expect(exit).toBe(1)
    expect(stdout).toMatch(/cannot read node-1: .*(forbidden|403)/i)
  })

  it('exit 1 when kube-proxy runs next to BPF with iptables cleanup enabled (the default)', async () => {
    cluster = await startCluster('manifest')
    const fc = cluster.server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
    fc.spec.bpfEnabled = true
    cluster.server.store.put(fc)
    const s = await collectStatus(cluster.kube)
    expect(s.kubeProxy.state).toBe('running')
    expect(s.disagreements.join('\n')).toMatch(/kube-proxy is running next to BPF/)
    expect((await runStatus(['--kubeconfig', cluster.kubeconfig])).exit).toBe(1)
  })

  it('FELIX_BPFENABLED=1 is BPF on, as check reads it', async () => {
    cluster = await startCluster('manifest')
    const ds = cluster.server.store.get('apps/v1', 'DaemonSet', 'calico-node', 'kube-system')
    const c = ds.spec.template.spec.containers.find((x: {name: string}) => x.name === 'calico-node')
    c.env = [...(c.env ?? []).filter((e: {name: string}) => e.name !== 'FELIX_BPFENABLED'), {name: 'FELIX_BPFENABLED', value: '1'}]
    cluster.server.store.put(ds)
    const s = await collectStatus(cluster.kube)
    expect(parseFelixBool('1')).toBe(true)
    expect(s.configured).toMatchObject({bpf: true, source: 'calico-node env FELIX_BPFENABLED', value: '1'})
  })
})
