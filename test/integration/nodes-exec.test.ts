/**
 * ExecRunner through the real KubeClient (connect()) against the fake API server, with pod exec over WebSocket. The
 * exec handler runs the command inside the matching node-rig node, so the probe sees that node's bpffs and maps.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KubeClient} from '../../src/lib/kube/client.js'
import {connect} from '../../src/lib/kube/connect.js'
import {ExecRunner} from '../../src/lib/nodes/exec.js'
import {runOnNodes} from '../../src/lib/nodes/fanout.js'
import {probeNode} from '../../src/lib/nodes/probe.js'
import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {type Rig, startRig} from '../support/node-rig/index.js'

const isRoot = process.getuid?.() === 0
const NS = 'calico-system'

function calicoPod(name: string, node: string, phase = 'Running'): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {name, namespace: NS, labels: {'k8s-app': 'calico-node'}},
    spec: {nodeName: node, containers: [{name: 'calico-node', image: 'calico/node:v3.32.1'}]},
    status: {
      phase,
      containerStatuses: [
        {
          name: 'calico-node',
          ready: phase === 'Running',
          state: phase === 'Running' ? {running: {}} : {waiting: {reason: 'ContainerCreating'}},
        },
      ],
    },
  }
}

describe.skipIf(!isRoot)('ExecRunner via the fake API server and the node rig', () => {
  let rig: Rig
  let api: FakeApiServer
  let kube: KubeClient
  let dir: string
  const podNode = new Map([
    ['calico-node-aaaaa', 'node-1'],
    ['calico-node-bbbbb', 'node-2'],
  ])

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebpfctl-exec-it-'))
    rig = await startRig({
      nodes: [
        {
          name: 'node-1',
          maps: [{name: 'cali_v4_nat_fe3', type: 'hash', keySize: 16, valueSize: 16, maxEntries: 16, flags: 1}],
        },
        {name: 'node-2', bpffs: false, procVersion: 'Linux version 4.18.0-fake\n'},
        {name: 'node-3'},
      ],
    })
    api = await startFakeApiServer()
    api.store.seed([
      {apiVersion: 'v1', kind: 'Namespace', metadata: {name: NS}},
      calicoPod('calico-node-aaaaa', 'node-1'),
      calicoPod('calico-node-bbbbb', 'node-2'),
      calicoPod('calico-node-ccccc', 'node-3', 'Pending'),
      {
        ...(calicoPod('not-calico', 'node-4') as {metadata: object}),
        metadata: {name: 'not-calico', namespace: NS, labels: {app: 'x'}},
      },
    ])
    api.setExecHandler(async (req) => {
      const node = podNode.get(req.pod)
      if (!node || req.container !== 'calico-node') return {stderr: 'no such container', exitCode: 126}
      if (req.command[0] === 'hang') return new Promise(() => {})
      const r = await rig.runInNode(node, req.command)
      return {stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode}
    })
    kube = await connect({kubeconfig: api.writeKubeconfig(dir), timeoutMs: 10_000})
  })
  afterAll(async () => {
    kube?.close()
    await api?.close()
    await rig?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('probes every node with one pod list; missing and Pending pods are per-node no-agent-pod results', async () => {
    const runner = new ExecRunner({kube, namespace: NS})
    api.resetLog()
    const nodes = [...rig.targets(), {name: 'node-4'}]
    const results = await runOnNodes(nodes, (n) => probeNode(runner, n, {timeoutMs: 10_000}))
    expect(results.map((r) => r.ok)).toEqual([true, true, false, false])
    const [one, two, three, four] = results
    if (!one!.ok || !two!.ok) throw new Error('unreachable')
    expect(one!.value).toMatchObject({bpffsMounted: true, calicoMaps: ['cali_v4_nat_fe3']})
    expect(two!.value).toMatchObject({
      bpffsMounted: false,
      bpffsDirExists: true,
      procVersion: 'Linux version 4.18.0-fake',
    })
    expect(three).toMatchObject({
      ok: false,
      error: {node: 'node-3', reason: 'no-agent-pod', message: expect.stringContaining('Pending')},
    })
    expect(four).toMatchObject({ok: false, error: {node: 'node-4', reason: 'no-agent-pod'}})
    const podLists = api.log.filter((r) => r.method === 'GET' && r.verb === 'list')
    expect(podLists).toHaveLength(1)
    expect(api.log.filter((r) => r.verb === 'exec')).toHaveLength(2)
    await runner.close()
  })

  it('passes hostile argv through the exec URL unchanged, with exit codes', async () => {
    const runner = new ExecRunner({kube, namespace: NS})
    const corpus = [
      '$(touch /tmp/ebpfctl-exec-pwned)',
      '`id`',
      "'",
      '"',
      '&&',
      ';',
      '\n',
      '',
      '日本語 🐧',
      '-n',
      '%s',
      'a=b&c=d',
      '#x',
    ]
    const r = await runner.run({name: 'node-1'}, ['sh', '-c', 'printf "%s\\0" "$@"; exit 5', 'sh', ...corpus], {
      timeoutMs: 10_000,
    })
    expect(r.exitCode).toBe(5)
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(corpus)
  })

  it('a command that never ends is a per-node timeout', async () => {
    const runner = new ExecRunner({kube, namespace: NS})
    await expect(runner.run({name: 'node-1'}, ['hang'], {timeoutMs: 500})).rejects.toMatchObject({
      node: 'node-1',
      reason: 'timeout',
    })
  })
})
