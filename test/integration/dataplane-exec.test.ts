/**
 * `ebpfctl nat dump --via exec`: the built CLI through the fake API server's pod exec (WebSocket) into each node's
 * calico-node pod, where a stand-in agent replays the real outputs recorded in projectcalico/calico#13279 (NAT-1).
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {DriftFinding} from '../../src/lib/maps/index.js'
import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'
import {nat1ByNode} from '../unit/maps/helpers.js'

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
    // One exec per node, into the calico-node container explicitly, flags after the subcommand, no --json on v3.30.
    expect(execs.every((e) => e.container === 'calico-node')).toBe(true)
    expect(execs).toHaveLength(3)
    // Read-only, and a constant number of API requests (lists, not per-node GETs): the exec upgrades are per node.
    expect(server.writes()).toHaveLength(0)
    expect(server.log.filter((l) => l.verb !== 'exec').length).toBeLessThanOrEqual(20)
  })

  it('joins frontends to Services and prints a table', async () => {
    const r = await cli(['nat', 'dump', '--node', 'node-1', '--via', 'exec', '--service', 'default/kubernetes'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(/node-1\s+10\.96\.0\.1:443\/TCP\s+default\/kubernetes:https\s+10\.0\.0\.20:6443, 10\.0\.0\.21:6443, 10\.0\.0\.22:6443/)
  })

  it('rejects an unknown node and a malformed --service with one line and exit 2', async () => {
    const a = await cli(['nat', 'dump', '--node', 'no-such-node', '--via', 'exec'])
    expect(a.exitCode).toBe(2)
    expect(a.stderr).toMatch(/^Error: no node named "no-such-node" in the cluster\n/)
    const b = await cli(['nat', 'dump', '--node', 'node-1', '--service', 'kubernetes'])
    expect(b.exitCode).toBe(2)
    expect(b.stderr).toMatch(/--service=kubernetes is not NAMESPACE\/NAME/)
  })
})
