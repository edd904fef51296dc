/**
 * `ebpfctl status` judges each node from its BPF state (Calico's ifstate map), with Felix's log line only as the
 * fallback: through pod exec into calico-node (fake API server), and over SSH with bpftool on rig nodes whose
 * `cali_iface4` map is pinned in Calico's layout and filled with bpftool.
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {FELIX_BPF_ACTIVE} from '../../src/lib/felix-log.js'
import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'
import {encodeIfstate} from '../support/map-encoders.js'
import {type Rig, startRig} from '../support/node-rig/index.js'

const root = join(import.meta.dirname, '..', '..')
const isRoot = process.getuid?.() === 0
const fixture = (name: string) => readFileSync(join(root, 'test/fixtures/bpf', name), 'utf8')

interface NodeStatus {node: string; verdict: string; source: string; reason: string; dataplaneError?: string}
const nodesOf = (stdout: string) => (JSON.parse(stdout) as {nodes: {list: NodeStatus[]}}).nodes.list

describe('status from the nodes\' BPF state, through pod exec', {timeout: 180_000}, () => {
  let server: FakeApiServer
  let kubeconfig: string
  const execs: string[] = []

  beforeAll(async () => {
    server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes: 4})
    seedOperatorInstall(server.store, {installation: 'bpf'})
    const noneReady = JSON.stringify([{ifindex: 9, name: 'cali9f8e7d6c5b4', flags: ['workload'], ingress_policy_v4: -1}])
    server.setExecHandler((req) => {
      const pod = server.store.get('v1', 'Pod', req.pod, req.namespace) as {spec: {nodeName: string}}
      const node = pod.spec.nodeName
      const cmd = req.command.join(' ')
      execs.push(`${node}: ${cmd}`)
      if (node === 'node-4') return {stderr: 'error: unable to upgrade connection: container not found ("calico-node")', exitCode: 1}
      if (cmd === 'test -x /usr/bin/calico') return {exitCode: 1}
      if (cmd !== 'calico-node -bpf ifstate dump --json') return {stderr: `unexpected ${cmd}`, exitCode: 2}
      if (node === 'node-1') return {stdout: fixture('fmt-ifstate.json'), exitCode: 0}
      if (node === 'node-2') return {stdout: noneReady, exitCode: 0}
      // The tool logs the missing map and exits 0 (calico-bpf.md §0.3).
      return {
        stderr:
          '2026-12-04 10:00:00.000 [ERROR][1] node/ifstate.go 40: Failed to dump interface states map. error=failed to open map: ' +
          'open /sys/fs/bpf/tc/globals/cali_iface4: no such file or directory\n',
        exitCode: 0,
      }
    })
    // A long-running node's log: Felix's start-up line first, then megabytes of chatter.
    server.setPodLogs(() => `2026-12-01 [INFO][1] felix/int_dataplane.go 1: ${FELIX_BPF_ACTIVE}\n` + 'x'.repeat(200).concat('\n').repeat(20_000))
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-status-')))
  })
  afterAll(async () => server?.close())

  const cli = (args: string[]) =>
    execa('node', [join(root, 'bin/run.js'), 'status', ...args, '--kubeconfig', kubeconfig], {reject: false, env: {NO_COLOR: '1'}})

  it('BPF ready / configured but not attached from ifstate; the log line only for the node that cannot be read, named as the fallback', async () => {
    server.resetLog()
    execs.length = 0
    const r = await cli(['-o', 'json'])
    expect(r.exitCode).toBe(1)
    const list = nodesOf(r.stdout)
    expect(list.map((n) => [n.node, n.verdict, n.source])).toEqual([
      ['node-1', 'bpf-ready', 'ifstate-agent-json'],
      ['node-2', 'bpf-not-attached', 'ifstate-agent-json'],
      ['node-3', 'bpf-not-attached', 'ifstate-agent-text'],
      ['node-4', 'bpf-ready', 'felix-log'],
    ])
    expect(list[0]!.reason).toMatch(/^programs attached on 1\/2 interfaces .*not yet attached: cali9f8e7d6c5b4/)
    expect(list[1]!.reason).toMatch(/none with programs attached/)
    expect(list[2]!.reason).toMatch(/no Calico ifstate map \(cali_iface\*\) is pinned/)
    expect(list[3]!.reason).toMatch(/^Felix's log line \(fallback\): BPF endpoint manager started; BPF state unreadable: .*container not found/)
    // One log read, for node-4 only, from the start of the log and bounded to 64 KiB.
    const logs = server.log.filter((l) => l.subresource === 'log')
    expect(logs).toHaveLength(1)
    expect(logs[0]!.query.get('limitBytes')).toBe('65536')
    expect(logs[0]!.query.get('tailLines')).toBeNull()
    expect(server.writes()).toHaveLength(0)

    const text = await cli([])
    expect(text.stdout).toContain('BPF ready: 2 (node-1, node-4)')
    expect(text.stdout).toContain('BPF configured but not attached: 2 (node-2, node-3)')
    expect(text.stdout).toMatch(/node-3: no Calico ifstate map/)
    // The node judged from the log is named under its group, with why its BPF state could not be read.
    expect(text.stdout).toMatch(/^ {4}node-4: Felix's log line \(fallback\): BPF endpoint manager started; BPF state unreadable: .*container not found/m)
    expect(text.stdout).not.toMatch(/^ {4}node-1:/m)
    expect(text.stdout).toContain("(1 node(s) judged from Felix's log line, the fallback: their BPF state could not be read)")
  })

  it('--node-state ifstate: no fallback, the node is unreachable with the reason; --node-state log reads only logs', async () => {
    server.resetLog()
    const r = await cli(['-o', 'json', '--node-state', 'ifstate'])
    const n4 = nodesOf(r.stdout).find((n) => n.node === 'node-4')!
    expect(n4.verdict).toBe('unreachable')
    expect(n4.reason).toMatch(/container not found/)
    expect(server.log.filter((l) => l.subresource === 'log')).toHaveLength(0)

    server.resetLog()
    const logOnly = await cli(['-o', 'json', '--node-state', 'log'])
    expect(nodesOf(logOnly.stdout).every((n) => n.source === 'felix-log' && n.verdict === 'bpf-ready')).toBe(true)
    expect(server.log.filter((l) => l.verb === 'exec')).toHaveLength(0)
  })
})

describe.runIf(isRoot)('status from pinned ifstate maps over SSH (bpftool)', {timeout: 120_000}, () => {
  let rig: Rig
  let server: FakeApiServer
  let kubeconfig: string
  const ifstateMap = {name: 'cali_iface4', type: 'hash', keySize: 4, valueSize: 52, maxEntries: 1000, flags: 1}

  beforeAll(async () => {
    const many = Array.from({length: 400}, (_, i) => encodeIfstate(100 + i, 0x1 | 0x2, `cali${String(i).padStart(11, '0')}`, [-1, i, i]))
    rig = await startRig({
      nodes: [
        {name: 'rig-a', maps: [{...ifstateMap, entries: [encodeIfstate(2, 0x2 | 0x8, 'eth0', [-1, 11, 12]), encodeIfstate(7, 0x1 | 0x2, 'cali1a2b3c4d5e6', [-1, 21, 22]), encodeIfstate(9, 0x1, 'cali9f8e7d6c5b4')]}]},
        {name: 'rig-b'},
        {name: 'rig-c', maps: [{...ifstateMap, entries: many}]},
      ],
    })
    server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes: rig.nodes.map((n) => ({name: n.name, internalIP: n.address}))})
    seedOperatorInstall(server.store, {installation: 'bpf'})
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-status-rig-')))
  }, 90_000)
  afterAll(async () => {
    await rig?.stop()
    await server?.close()
  })

  const cli = (args: string[]) =>
    execa(
      'node',
      [
        join(root, 'bin/run.js'), 'status', '--kubeconfig', kubeconfig, '-o', 'json', '--via', 'ssh', '--node-state', 'ifstate',
        '--ssh-user', 'root', '--ssh-identity', rig.identityFile, '--ssh-known-hosts', rig.knownHostsPath,
        '--ssh-config', join(rig.dir, 'none'),
        ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
        ...args,
      ],
      {reject: false, env: {NO_COLOR: '1'}},
    )

  it('reads the real pinned map: attached interfaces, a node without maps, and a map larger than the 64 KiB read bound', async () => {
    const r = await cli([])
    const list = nodesOf(r.stdout)
    expect(list.map((n) => [n.node, n.verdict, n.source])).toEqual([
      ['rig-a', 'bpf-ready', 'ifstate-bpftool'],
      ['rig-b', 'bpf-not-attached', 'ifstate-bpftool'],
      ['rig-c', 'unreachable', 'ifstate-agent-text'],
    ])
    expect(list[0]!.reason).toBe('programs attached on 2/3 interfaces (1 host, 2 workload); not yet attached: cali9f8e7d6c5b4')
    expect(list[2]!.reason).toMatch(/output limit reached \(64 KiB\)/)
    const big = nodesOf((await cli(['--node-read-bytes', '1Mi'])).stdout).find((n) => n.node === 'rig-c')!
    expect(big).toMatchObject({verdict: 'bpf-ready', reason: 'programs attached on 400/400 interfaces (0 host, 400 workload)'})
  })
})
