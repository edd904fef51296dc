/**
 * `ebpfctl nat dump --via exec`: the built CLI through the fake API server's pod exec (WebSocket) into each node's
 * calico-node pod, where a stand-in agent replays the real outputs recorded in projectcalico/calico#13279 (NAT-1).
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {DriftFinding} from '../../src/lib/maps/index.js'
import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'
import {nat1ByNode} from '../unit/maps/helpers.js'
import type {ExecRequest, ExecResponse} from '../support/fake-apiserver/index.js'

const root = join(import.meta.dirname, '..', '..')
// NAT-1's three kubectl runs, one per node: node-1 is healthy, node-2 has one stale backend, node-3 points at :9093.
const recorded = Object.values(nat1ByNode())

describe('nat dump through pod exec', () => {
  let server: FakeApiServer
  let kubeconfig: string
  const execs: {pod: string; container: string; command: string[]}[] = []

  beforeAll(async () => {
    server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes: 3, apiServers: ['10.0.0.20', '10.0.0.21', '10.0.0.22']})
    seedOperatorInstall(server.store, {calicoVersion: 'v3.30.2'})
    server.setExecHandler((req) => {
      execs.push({pod: req.pod, container: req.container, command: req.command})
      const pod = server.store.get('v1', 'Pod', req.pod, req.namespace) as {spec: {nodeName: string}}
      const index = Number(pod.spec.nodeName.replace('node-', '')) - 1
      if (req.command.join(' ') === 'test -x /usr/bin/calico') return {exitCode: 1} // a v3.30 image: calico-node
      if (req.command.join(' ') !== 'calico-node -bpf nat dump') return {stderr: `unexpected ${req.command.join(' ')}`, exitCode: 1}
      return {stdout: recorded[index]!, exitCode: 0}
    })
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-exec-')))
  })
  afterAll(async () => server?.close())

  const cli = (args: string[]) =>
    execa('node', [join(root, 'bin/run.js'), ...args, '--kubeconfig', kubeconfig], {reject: false, env: {NO_COLOR: '1'}})

  it('finds the nodes that disagree about 10.96.0.1:443 and the stale backends, and exits 1', async () => {
    server.resetLog()
    const r = await cli(['nat', 'dump', '--all-nodes', '--via', 'exec', '--check-drift', '-o', 'json'])
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(1)
    const report = JSON.parse(r.stdout) as {nodes: {node: string; source: string; frontends: {ip: string; service?: {ref: string}}[]}[]; drift: DriftFinding[]}
    expect(report.nodes.map((n) => [n.node, n.source])).toStrictEqual([
      ['node-1', 'agent-text'],
      ['node-2', 'agent-text'],
      ['node-3', 'agent-text'],
    ])
    expect(report.nodes[0]!.frontends[0]!.service?.ref).toBe('default/kubernetes:https')
    const disagreement = report.drift.find((d) => d.kind === 'node-disagreement')!
    expect(disagreement.frontend).toBe('10.96.0.1:443/tcp')
    expect(disagreement.byNode).toStrictEqual({
      'node-1': ['10.0.0.20:6443', '10.0.0.21:6443', '10.0.0.22:6443'],
      'node-2': ['10.0.0.21:6443', '10.0.0.22:6443', '172.30.171.71:7443'],
      'node-3': ['10.0.0.10:9093', '10.0.0.11:9093', '10.0.0.22:9093'],
    })
    const stale = report.drift.filter((d) => d.kind === 'stale-backend').map((d) => [d.node, d.backends])
    expect(stale).toStrictEqual([
      ['node-2', ['172.30.171.71:7443']],
      ['node-3', ['10.0.0.10:9093', '10.0.0.11:9093', '10.0.0.22:9093']],
    ])
    // Per node: one probe for the binary and one dump, into the calico-node container explicitly, flags after the
    // subcommand, no --json on v3.30.
    expect(execs.every((e) => e.container === 'calico-node')).toBe(true)
    expect(execs.filter((e) => e.command[0] === 'test')).toHaveLength(3)
    expect(execs.filter((e) => e.command[0] !== 'test')).toHaveLength(3)
    // Read-only, and a constant number of API requests (lists, not per-node GETs): the exec upgrades are per node.
    expect(server.writes()).toHaveLength(0)
    expect(server.log.filter((l) => l.verb !== 'exec').length).toBeLessThanOrEqual(20)
  })

  it('joins frontends to Services and prints a table', async () => {
    const r = await cli(['nat', 'dump', '--node', 'node-1', '--via', 'exec', '--service', 'default/kubernetes'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(/node-1\s+10\.96\.0\.1:443\/TCP\s+default\/kubernetes:https\s+10\.0\.0\.20:6443, 10\.0\.0\.21:6443, 10\.0\.0\.22:6443/)
  })

  it('--check-drift --service limits drift to that Service', async () => {
    const r = await cli(['nat', 'dump', '--all-nodes', '--via', 'exec', '--check-drift', '--service', 'kube-system/kube-dns', '-o', 'json'])
    const report = JSON.parse(r.stdout) as {drift: DriftFinding[]}
    // The nodes disagree only about default/kubernetes: nothing to report for kube-dns.
    expect(report.drift.filter((d) => !d.service?.startsWith('kube-system/kube-dns:'))).toStrictEqual([])
    const k = await cli(['nat', 'dump', '--all-nodes', '--via', 'exec', '--check-drift', '--service', 'default/kubernetes', '-o', 'json'])
    const kd = (JSON.parse(k.stdout) as {drift: DriftFinding[]}).drift
    expect(kd.length).toBeGreaterThan(0)
    expect(kd.every((d) => d.service?.startsWith('default/kubernetes:'))).toBe(true)
    expect(k.exitCode).toBe(1)
   }, 60_000)

  it('rejects an unknown node and a malformed --service with one line and exit 2', async () => {
    const a = await cli(['nat', 'dump', '--node', 'no-such-node', '--via', 'exec'])
    expect(a.exitCode).toBe(2)
    expect(a.stderr).toMatch(/^Error: no node named "no-such-node" in the cluster\n/)
    // A typo of a real node name gets a suggestion, as mistyped flags and commands do.
    const typo = await cli(['nat', 'dump', '--node', 'nod-1', '--via', 'exec'])
    expect(typo.exitCode).toBe(2)
    expect(typo.stderr).toMatch(/^Error: no node named "nod-1" in the cluster; did you mean "node-1"\?\n/)
    const b = await cli(['nat', 'dump', '--node', 'node-1', '--service', 'kubernetes'])
    expect(b.exitCode).toBe(2)
    expect(b.stderr).toMatch(/--service=kubernetes is not NAMESPACE\/NAME/)
  })
})

const fixture = (name: string) => readFileSync(join(root, 'test/fixtures/bpf', name), 'utf8')
const NOT_IN_IMAGE = (bin: string) =>
  `OCI runtime exec failed: exec failed: unable to start container process: exec: "${bin}": executable file not found in $PATH: unknown`

// Each test starts the CLI once or twice (about 5 s each on a loaded 2-CPU machine).
describe('nat dump through pod exec: what the image has, and output that is not understood', {timeout: 60_000}, () => {
  let server: FakeApiServer | undefined
  let kubeconfig: string
  let handler: (command: string) => ExecResponse
  const seen: string[] = []

  async function cluster(calicoVersion: string): Promise<void> {
    await server?.close()
    server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes: 1})
    seedOperatorInstall(server.store, {calicoVersion})
    server.setExecHandler((req: ExecRequest) => {
      seen.push(req.command.join(' '))
      return handler(req.command.join(' '))
    })
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-exec-')))
    seen.length = 0
  }
  afterAll(async () => server?.close())
  const cli = (args: string[]) =>
    execa('node', [join(root, 'bin/run.js'), 'nat', 'dump', '--node', 'node-1', '--via', 'exec', ...args, '--kubeconfig', kubeconfig], {
      reject: false,
      env: {NO_COLOR: '1'},
    })

  it('v3.33 ships only /usr/bin/calico: probed, and `calico component node bpf` is used', async () => {
    await cluster('v3.33.0')
    handler = (c) => {
      if (c === 'test -x /usr/bin/calico') return {exitCode: 0}
      if (c === 'calico component node bpf nat dump --json') return {stdout: fixture('doc-nat-dump.json'), exitCode: 0}
      if (c.startsWith('calico-node')) return {exitCode: 1, startFailure: NOT_IN_IMAGE('calico-node')}
      return {exitCode: 1, startFailure: NOT_IN_IMAGE(c.split(' ')[0]!)}
    }
    const r = await cli(['-o', 'json'])
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    const report = JSON.parse(r.stdout) as {nodes: {source: string; frontends: unknown[]}[]}
    expect(report.nodes[0]!.source).toBe('agent-json')
    expect(report.nodes[0]!.frontends.length).toBeGreaterThan(0)
    expect(seen.some((c) => c.startsWith('calico-node'))).toBe(false)
  })

  it('an image without the probe still works: the other style is tried when the binary is missing', async () => {
    await cluster('v3.33.0')
    handler = (c) => {
      if (c.startsWith('calico component node bpf nat dump')) return {stdout: fixture('fmt-nat-dump-v3.27.0.txt'), exitCode: 0}
      return {exitCode: 1, startFailure: NOT_IN_IMAGE(c.split(' ')[0]!)}
    }
    const r = await cli(['-o', 'json', '--source', 'agent'])
    expect(r.exitCode).toBe(0)
    expect((JSON.parse(r.stdout) as {nodes: {frontends: unknown[]}[]}).nodes[0]!.frontends.length).toBeGreaterThan(0)
  })

  it('JSON asked, text answered: read with the text parser, not "No NAT entries matched"', async () => {
    await cluster('v3.32.1')
    handler = (c) => {
      if (c === 'test -x /usr/bin/calico') return {exitCode: 1}
      if (c === 'calico-node -bpf nat dump --json') return {stdout: fixture('fmt-nat-dump-v3.27.0.txt'), exitCode: 0}
      return {stderr: `unexpected ${c}`, exitCode: 1}
    }
    const r = await cli(['-o', 'json'])
    expect(r.exitCode).toBe(0)
    const node = (JSON.parse(r.stdout) as {nodes: {source: string; frontends: {ip: string}[]}[]}).nodes[0]!
    expect(node.source).toBe('agent-text')
    expect(node.frontends.map((f) => f.ip)).toContain('10.96.0.1')
  })

  it('output that is not understood is exit 1 with reason not-understood, on stderr', async () => {
    await cluster('v3.32.1')
    handler = (c) => {
      if (c === 'test -x /usr/bin/calico') return {exitCode: 1}
      if (c.startsWith('calico-node -bpf nat dump')) return {stdout: 'Welcome to the node shell\nmaps: see elsewhere\n', exitCode: 0}
      return {stderr: `unexpected ${c}`, exitCode: 1}
    }
    const r = await cli(['--source', 'agent'])
    expect(r.exitCode).toBe(1)
    expect(r.stdout).not.toMatch(/No NAT entries matched/)
    expect(r.stderr).toMatch(/^error node-1: .*not understood.*Welcome to the node shell/m)
    const j = await cli(['--source', 'agent', '-o', 'json'])
    expect(j.exitCode).toBe(1)
    expect((JSON.parse(j.stdout) as {nodes: {error: {reason: string}}[]}).nodes[0]!.error.reason).toBe('not-understood')
   }, 60_000)

  it('a failing --agent-cmd is reported as such, not as "BPF dataplane not active"', async () => {
    await cluster('v3.32.1')
    handler = (c) => (c.startsWith('nsenter-calico ') ? {exitCode: 1, startFailure: NOT_IN_IMAGE('nsenter-calico')} : {stderr: `unexpected ${c}`, exitCode: 1})
    const r = await cli(['--agent-cmd', 'nsenter-calico --target 1'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/^error node-1: --agent-cmd "nsenter-calico --target 1" failed .*nsenter-calico.*executable file not found/m)
    expect(r.stderr).not.toMatch(/not active/)
  })

  it("the image's /bin/bpftool reads the maps through exec when the agent tool fails", async () => {
    await cluster('v3.33.0')
    const pin = (name: string) => `/sys/fs/bpf/tc/globals/${name}`
    const show = (JSON.parse(fixture('bpftool/bpftool-map-show.json')) as {name: string}[]).map((m) => ({...m, pinned: [pin(m.name)]}))
    handler = (c) => {
      if (c === 'test -x /usr/bin/calico') return {exitCode: 0}
      if (c.startsWith('calico ')) return {stderr: 'panic: runtime error: invalid memory address\n', exitCode: 2}
      if (c === 'bpftool -j -f map show') return {stdout: JSON.stringify(show), exitCode: 0}
      if (c === `bpftool -j map dump pinned ${pin('cali_v4_nat_fe3')}`) return {stdout: fixture('bpftool/bpftool-nat-fe3.json'), exitCode: 0}
      if (c === `bpftool -j map dump pinned ${pin('cali_v4_nat_be')}`) return {stdout: fixture('bpftool/bpftool-nat-be.pretty.json'), exitCode: 0}
      return {exitCode: 1, startFailure: NOT_IN_IMAGE(c.split(' ')[0]!)}
    }
    const r = await cli(['-o', 'json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const node = (JSON.parse(r.stdout) as {nodes: {source: string; frontends: unknown[]}[]}).nodes[0]!
    expect(node.source).toBe('bpftool')
    expect(node.frontends.length).toBeGreaterThan(0)
  })

  it('an exec that cannot start says why (the runtime message), never "failed (exit 1): " and nothing', async () => {
    await cluster('v3.32.1')
    handler = (c) => ({exitCode: 1, startFailure: NOT_IN_IMAGE(c.split(' ')[0]!)})
    const r = await cli(['--source', 'bpftool'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/^error node-1: .*bpftool.*executable file not found/m)
  })
})

