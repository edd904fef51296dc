/**
 * `ebpfctl conntrack stats`: Calico's own `conntrack stats` through pod exec (fake API server), counting a dump when
 * the release has no stats subcommand, and real pinned conntrack maps over SSH read with bpftool (node rig).
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {ConntrackStatsReport} from '../../src/lib/dataplane/conntrack-stats.js'
import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'
import {ctEntries} from '../support/ct-entries.js'
import {encodeCtEntry} from '../support/map-encoders.js'
import {type Rig, startRig} from '../support/node-rig/index.js'

const root = join(import.meta.dirname, '..', '..')
const isRoot = process.getuid?.() === 0
const fixture = (name: string) => readFileSync(join(root, 'test/fixtures/bpf', name), 'utf8')

const asBuffers = (entries: {key: Uint8Array; value: Uint8Array}[]) =>
  entries.map((e) => ({key: Buffer.from(e.key), value: Buffer.from(e.value)}))

describe('conntrack stats through pod exec', {timeout: 180_000}, () => {
  let server: FakeApiServer
  let kubeconfig: string
  const execs: string[] = []

  beforeAll(async () => {
    server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes: 2})
    seedOperatorInstall(server.store, {installation: 'bpf'})
    server.setExecHandler((req) => {
      const pod = server.store.get('v1', 'Pod', req.pod, req.namespace) as {spec: {nodeName: string}}
      const node = pod.spec.nodeName
      const cmd = req.command.join(' ')
      execs.push(`${node}: ${cmd}`)
      if (cmd === 'test -x /usr/bin/calico') return {exitCode: 1}
      if (node === 'node-1' && cmd === 'calico-node -bpf conntrack stats --json') return {stdout: fixture('fmt-ct-stats.json'), exitCode: 0}
      // node-2: a build without `conntrack stats`: the dump is counted, and the map's size asked of bpftool.
      if (cmd.startsWith('calico-node -bpf conntrack stats')) return {stderr: 'Error: unknown command "stats" for "calico-bpf conntrack"\n', exitCode: 1}
      if (cmd === 'calico-node -bpf conntrack dump --json') return {stdout: fixture('doc-ct-pretty.json'), exitCode: 0}
      if (cmd === 'bpftool -j map show pinned /sys/fs/bpf/tc/globals/cali_v4_ct4') {
        return {stdout: '{"id":42,"type":"lru_hash","name":"cali_v4_ct4","flags":0,"bytes_key":16,"bytes_value":88,"max_entries":4}', exitCode: 0}
      }
      return {stderr: `unexpected ${cmd}`, exitCode: 2}
    })
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-ctstats-')))
  })
  afterAll(async () => server?.close())

  const cli = (args: string[]) =>
    execa('node', [join(root, 'bin/run.js'), 'conntrack', 'stats', '--all-nodes', ...args, '--kubeconfig', kubeconfig], {reject: false, env: {NO_COLOR: '1'}})

  it("uses Calico's stats where the release has them, else counts the dump against bpftool's max_entries", async () => {
    const r = await cli(['-o', 'json'])
    expect(r.stderr).toBe('')
    const report = JSON.parse(r.stdout) as ConntrackStatsReport
    const [n1, n2] = report.nodes.map((n) => n.stats!)
    expect(n1).toMatchObject({method: 'agent-stats', source: 'agent-json', mapSize: 512000, entries: 8, connections: 6, natConnections: 2, mapSizeFrom: 'map'})
    expect(n1!.natShare).toBeCloseTo(2 / 6)
    // The pretty dump hides NAT-forward entries: the NAT-reverse one stands for two map entries.
    expect(n2).toMatchObject({method: 'counted-dump', source: 'agent-json', mapSize: 4, entries: 3, connections: 2, natConnections: 1, fill: 0.75})
    expect(report.advice[0]).toMatchObject({level: 'warn'})
    expect(report.advice[0]!.message).toMatch(/^the fullest node, node-2, holds 3 entries in a map of 4 \(75\.0%\)/)
    expect(r.exitCode).toBe(0)
    const text = await cli([])
    expect(text.stdout).toMatch(/node-2\s+3\s+4\s+75\.0%\s+1 \(50\.0%\)/)
    expect(text.stdout).toMatch(/warn {2}the fullest node, node-2/)
  })
})

describe.runIf(isRoot)('conntrack stats from real pinned maps over SSH', {timeout: 120_000}, () => {
  let rig: Rig
  beforeAll(async () => {
    // ct-full is a v3.24–v3.30 node (cali_v4_ct3, a plain hash): an lru_hash map evicts entries before it is 90% full.
    const ct = (name: string, maxEntries: number, n: number) => ({
      name,
      type: name === 'cali_v4_ct3' ? 'hash' : 'lru_hash',
      flags: name === 'cali_v4_ct3' ? 1 : 0,
      keySize: 16,
      valueSize: 88,
      maxEntries,
      entries: asBuffers(ctEntries(n).map((e) => encodeCtEntry(e, name === 'cali_v4_ct3' ? 'ct3' : 'ct4'))),
    })
    rig = await startRig({
      nodes: [
        {name: 'ct-full', maps: [ct('cali_v4_ct3', 1000, 900)]},
        {name: 'ct-light', maps: [ct('cali_v4_ct4', 4096, 300)]},
        {name: 'no-bpf', bpffs: false},
        // After a downgrade: the live programs use ct3 (40 entries); a stale, higher ct4 (20) is still pinned.
        {name: 'ct-stale', maps: [ct('cali_v4_ct3', 2048, 40), ct('cali_v4_ct4', 1024, 20)], programUsesMaps: ['cali_v4_ct3']},
      ],
    })
  }, 90_000)
  afterAll(async () => rig?.stop())

  const cli = (args: string[]) =>
    execa(
      'node',
      [
        join(root, 'bin/run.js'), 'conntrack', 'stats', '--via', 'ssh', '--source', 'bpftool',
        '--ssh-user', 'root', '--ssh-identity', rig.identityFile, '--ssh-known-hosts', rig.knownHostsPath,
        '--ssh-config', join(rig.dir, 'none'),
        ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
        ...args,
      ],
      {reject: false, env: {NO_COLOR: '1', KUBECONFIG: ''}},
    )

  it('fill against max_entries, NAT share, a 90%-full map is exit 1 with advice, a node without maps is its own error', async () => {
    const r = await cli(['--node', 'ct-full', '--node', 'ct-light', '--node', 'no-bpf', '-o', 'json'])
    expect(r.exitCode).toBe(1)
    const report = JSON.parse(r.stdout) as ConntrackStatsReport
    const byNode = Object.fromEntries(report.nodes.map((n) => [n.node, n]))
    expect(byNode['ct-full']!.stats).toMatchObject({source: 'bpftool', mapSize: 1000, mapSizeFrom: 'map', entries: 900, connections: 600, natConnections: 300, fill: 0.9, natShare: 0.5})
    expect(byNode['ct-light']!.stats).toMatchObject({mapSize: 4096, entries: 300})
    expect(byNode['no-bpf']!.error?.reason).toBe('map-missing')
    expect(report.advice[0]!.level).toBe('fail')
    expect(report.advice[0]!.message).toMatch(/ct-full, holds 900 entries in a map of 1000 \(90\.0%\).*bpfMapSizeConntrackScaling: DoubleIfFull.*set bpfMapSizeConntrack: 512000/)
    expect(r.stderr).toMatch(/no-bpf/)
  })

  it('one command per node reads the live map: a stale newer ct4 next to the live ct3 is not counted', async () => {
    const r = await cli(['--node', 'ct-stale', '--node', 'ct-light', '-o', 'json'])
    expect(r.exitCode).toBe(0)
    const byNode = Object.fromEntries((JSON.parse(r.stdout) as ConntrackStatsReport).nodes.map((n) => [n.node, n]))
    expect(byNode['ct-stale']!.stats).toMatchObject({source: 'bpftool', mapSize: 2048, entries: 40, connections: 27, natConnections: 13})
    expect(byNode['ct-light']!.stats).toMatchObject({mapSize: 4096, entries: 300, connections: 200, natConnections: 100})
  })
})
