/**
 * `--via debug`: a short-lived privileged pod per node (hostPID, hostNetwork, the host's /sys/fs/bpf, the calico-node
 * image of the DaemonSet), bpftool run in it through pod exec, and the pod deleted afterwards — on success, on a failed
 * read, and on Ctrl-C. Against the fake API server (created pods are marked Running by the test, as a kubelet would).
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import type {CountersReport} from '../../src/lib/dataplane/counters.js'
import {type ExecResponse, type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'

const root = join(import.meta.dirname, '..', '..')
const hex = (b: Buffer) => [...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`)

describe('--via debug', {timeout: 90_000}, () => {
  let server: FakeApiServer
  let kubeconfig: string
  let kubelet: NodeJS.Timeout
  let handler: (cmd: string) => ExecResponse | Promise<ExecResponse>
  const execs: {pod: string; container: string; cmd: string}[] = []
  const debugPods = () => server.store.list('v1', 'Pod', 'calico-system').filter((p: {metadata: {name: string}}) => p.metadata.name.startsWith('ebpfctl-debug-'))

  beforeAll(async () => {
    server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes: 2})
    seedOperatorInstall(server.store, {installation: 'bpf'})
    server.setExecHandler((req) => {
      execs.push({pod: req.pod, container: req.container, cmd: req.command.join(' ')})
      return handler(req.command.join(' '))
    })
    // The kubelet's part: a created debug pod starts running.
    kubelet = setInterval(() => {
      for (const p of debugPods()) {
        if (p.status?.phase === 'Running') continue
        server.store.put({...p, status: {phase: 'Running', containerStatuses: [{name: 'debug', ready: true, state: {running: {startedAt: new Date().toISOString()}}}]}})
      }
    }, 50)
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-debug-')))
  })
  afterAll(async () => {
    clearInterval(kubelet)
    await server?.close()
  })
  afterEach(() => {
    execs.length = 0
  })

  const args = () => ['dataplane', 'counters', '--node', 'node-1', '--via', 'debug', '--source', 'bpftool', '--kubeconfig', kubeconfig]

  it('creates the privileged pod on the node with the calico-node image, runs bpftool in it, deletes it', async () => {
    const key = Buffer.from([2, 0, 0, 0, 0, 0, 0, 0])
    const value = Buffer.alloc(27 * 8)
    value.writeBigUInt64LE(5n, 16 * 8)
    handler = (cmd) => {
      if (cmd === 'bpftool -j map dump pinned /sys/fs/bpf/tc/globals/cali_counters6') return {stdout: JSON.stringify([{key: hex(key), values: [{cpu: 0, value: hex(value)}]}]), exitCode: 0}
      return {stderr: 'Error: bpf obj get (/sys/fs/bpf/tc/globals): No such file or directory', exitCode: 255}
    }
    server.resetLog()
    const r = await execa('node', [join(root, 'bin/run.js'), ...args(), '-o', 'json'], {reject: false, env: {NO_COLOR: '1'}})
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    const report = JSON.parse(r.stdout) as CountersReport
    expect(report.nodes[0]!.summary!.drops[0]).toMatchObject({reason: 'failed to create conntrack', packets: 5})
    // What was created: one pod, as kubectl debug --profile=sysadmin would, with the host's bpffs.
    const created = server.log.filter((l) => l.method === 'POST' && l.path.endsWith('/pods'))
    expect(created).toHaveLength(1)
    const pod = JSON.parse(String(created[0]!.body)) as {metadata: {name: string; namespace: string}; spec: Record<string, any>}
    expect(pod.metadata.namespace).toBe('calico-system')
    expect(pod.spec).toMatchObject({nodeName: 'node-1', hostPID: true, hostNetwork: true, restartPolicy: 'Never', activeDeadlineSeconds: 600, automountServiceAccountToken: false})
    expect(pod.spec.containers[0]).toMatchObject({name: 'debug', image: expect.stringMatching(/calico\/node:v3\.32\.1$/), securityContext: {privileged: true}})
    expect(pod.spec.volumes).toEqual([{name: 'bpffs', hostPath: {path: '/sys/fs/bpf', type: 'Directory'}}])
    expect(execs.every((e) => e.pod === pod.metadata.name && e.container === 'debug')).toBe(true)
    expect(server.log.some((l) => l.method === 'DELETE' && l.path.endsWith(`/pods/${pod.metadata.name}`))).toBe(true)
    expect(debugPods()).toEqual([])
  })

  it('deletes the pod when the read fails too', async () => {
    handler = () => ({stderr: 'sh: bpftool: not found', exitCode: 127})
    const r = await execa('node', [join(root, 'bin/run.js'), ...args()], {reject: false, env: {NO_COLOR: '1'}})
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/error node-1: .*bpftool/)
    expect(debugPods()).toEqual([])
  })

  it('deletes the pod on Ctrl-C while a command hangs', async () => {
    handler = () => new Promise(() => {}) // never answers
    const child = execa('node', [join(root, 'bin/run.js'), ...args()], {reject: false, env: {NO_COLOR: '1'}})
    const until = Date.now() + 30_000
    while (execs.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    expect(debugPods()).toHaveLength(1)
    child.kill('SIGINT')
    const r = await child
    expect(r.exitCode).toBe(130)
    expect(r.stderr).toMatch(/deleting the debug pods/)
    expect(debugPods()).toEqual([])
  })
})
