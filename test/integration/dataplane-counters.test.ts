/**
 * `ebpfctl dataplane counters`: Calico's counters through pod exec (`counters dump --json`, fake API server), and the
 * real pinned percpu `cali_counters6` map read with bpftool over SSH (node rig), named through `cali_iface4`.
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {CountersReport} from '../../src/lib/dataplane/counters.js'
import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'
import {encodeIfstate} from '../support/map-encoders.js'
import {type Rig, startRig} from '../support/node-rig/index.js'

const root = join(import.meta.dirname, '..', '..')
const isRoot = process.getuid?.() === 0
const fixture = (name: string) => readFileSync(join(root, 'test/fixtures/bpf', name), 'utf8')

describe('dataplane counters through pod exec', {timeout: 180_000}, () => {
  let server: FakeApiServer
  let kubeconfig: string
  beforeAll(async () => {
    server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes: 2})
    seedOperatorInstall(server.store, {installation: 'bpf'})
    server.setExecHandler((req) => {
      const pod = server.store.get('v1', 'Pod', req.pod, req.namespace) as {spec: {nodeName: string}}
      const cmd = req.command.join(' ')
      if (cmd === 'test -x /usr/bin/calico') return {exitCode: 1}
      if (cmd !== 'calico-node -bpf counters dump --json') return {stderr: `unexpected ${cmd}`, exitCode: 2}
      if (pod.spec.nodeName === 'node-2') return {stdout: '{\n  "interface": "eth0",\n  "counters": []\n}\n', exitCode: 0}
      return {stdout: fixture('fmt-counters.json'), exitCode: 0}
    })
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-counters-')))
  })
  afterAll(async () => server?.close())
  const cli = (args: string[]) =>
    execa('node', [join(root, 'bin/run.js'), 'dataplane', 'counters', '--all-nodes', ...args, '--kubeconfig', kubeconfig], {reject: false, env: {NO_COLOR: '1'}})

  it('drops by reason per node and over the fleet, top offenders first', async () => {
    const r = await cli(['-o', 'json'])
    expect(r.exitCode).toBe(0)
    const report = JSON.parse(r.stdout) as CountersReport
    expect(report.nodes[0]).toMatchObject({node: 'node-1', source: 'agent-json', summary: {dropped: 50}})
    expect(report.fleet.map((f) => [f.reason, f.packets, f.nodes.map((n) => n.node)])).toEqual([
      ['by policy', 33, ['node-1']],
      ['failed to create conntrack', 17, ['node-1']],
    ])
    const text = await cli([])
    expect(text.stdout).toMatch(/node-1\s+2142\s+2100\s+50\s+0\s+by policy: 33 \(eth0 ingress 31, eth0 egress 2\)/)
    expect(text.stdout).toMatch(/failed to create conntrack\s+17\s+node-1 17/)
  })
})

describe.runIf(isRoot)('dataplane counters from the real pinned percpu map over SSH', {timeout: 120_000}, () => {
  let rig: Rig
  const cpus = (() => {
    const spec = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim()
    return spec.split(',').reduce((n, r) => {
      const [a, b] = r.split('-').map(Number)
      return n + (b === undefined ? 1 : b - a! + 1)
    }, 0)
  })()
  const ctr = (ifindex: number, hook: number, counts: Record<number, number>) => {
    const key = Buffer.alloc(8)
    key.writeUInt32LE(ifindex, 0)
    key.writeUInt32LE(hook, 4)
    const value = Buffer.alloc(27 * 8)
    for (const [i, c] of Object.entries(counts)) value.writeBigUInt64LE(BigInt(c), Number(i) * 8)
    return {key, value} // bpftool writes the value to every possible CPU
  }
  const counters = (entries: {key: Buffer; value: Buffer}[]) => ({name: 'cali_counters6', type: 'percpu_hash', keySize: 8, valueSize: 216, maxEntries: 20000, entries})
  const iface = (entries: {key: Buffer; value: Buffer}[]) => ({name: 'cali_iface4', type: 'hash', keySize: 4, valueSize: 52, maxEntries: 1000, flags: 1, entries})

  beforeAll(async () => {
    rig = await startRig({
      nodes: [
        {
          name: 'drops-1',
          maps: [
            iface([encodeIfstate(2, 0xa, 'eth0'), encodeIfstate(7, 0x3, 'cali1a2b3c4d5e6')]),
            counters([ctr(7, 0, {0: 500, 4: 3, 16: 40}), ctr(2, 1, {0: 900, 2: 890, 4: 10})]),
          ],
        },
        {name: 'drops-2', maps: [counters([ctr(2, 0, {0: 10, 12: 1})])]},
        {name: 'no-bpf', bpffs: false},
      ],
    })
  }, 90_000)
  afterAll(async () => rig?.stop())

  const cli = (args: string[]) =>
    execa(
      'node',
      [
        join(root, 'bin/run.js'), 'dataplane', 'counters', '--via', 'ssh',
        '--ssh-user', 'root', '--ssh-identity', rig.identityFile, '--ssh-known-hosts', rig.knownHostsPath,
        '--ssh-config', join(rig.dir, 'none'),
        ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
        ...args,
      ],
      {reject: false, env: {NO_COLOR: '1', KUBECONFIG: ''}},
    )

  it('sums the CPUs, names interfaces from the ifstate map, sorts reasons by packets; a node without maps is exit 1', async () => {
    const r = await cli(['--node', 'drops-1', '--node', 'drops-2', '--node', 'no-bpf', '-o', 'json'])
    expect(r.exitCode).toBe(1)
    const report = JSON.parse(r.stdout) as CountersReport
    const d1 = report.nodes.find((n) => n.node === 'drops-1')!
    expect(d1.source).toBe('bpftool')
    expect(d1.summary).toMatchObject({packets: 1400 * cpus, accepted: 890 * cpus, dropped: 53 * cpus})
    expect(d1.summary!.drops[0]).toEqual({reason: 'failed to create conntrack', packets: 40 * cpus, top: [{interface: 'cali1a2b3c4d5e6', hook: 'ingress', packets: 40 * cpus}]})
    // drops-2 has no ifstate map: its interface is named by index.
    expect(report.nodes.find((n) => n.node === 'drops-2')!.summary!.drops[0]!.top[0]!.interface).toBe('if2')
    expect(report.fleet.map((f) => [f.reason, f.packets])).toEqual([
      ['failed to create conntrack', 40 * cpus],
      ['by policy', 13 * cpus],
      ['packets with unknown route', 1 * cpus],
    ])
    expect(report.nodes.find((n) => n.node === 'no-bpf')!.error?.reason).toBe('map-missing')
  })
})
