import {describe, expect, it} from 'vitest'

import type {ExecOptions, ExecResult, ListOptions} from '../../../src/lib/kube/client.js'
import {KubeApiError} from '../../../src/lib/kube/errors.js'
import type {ResourceRef} from '../../../src/lib/kube/resources.js'
import type {KubeObject} from '../../../src/lib/kube/types.js'
import {type CalicoPod, type ExecKubeClient, ExecRunner, mapPodsToNodes} from '../../../src/lib/nodes/exec.js'
import {probeNode} from '../../../src/lib/nodes/probe.js'
import {LocalRunner} from '../../../src/lib/nodes/local.js'

function pod(name: string, node: string, phase = 'Running', extra: Partial<CalicoPod> = {}): CalicoPod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'calico-system',
      labels: {'k8s-app': 'calico-node'},
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
    spec: {nodeName: node, containers: [{name: 'calico-node'}]},
    status: {phase, containerStatuses: [{name: 'calico-node', ready: true, state: {running: {}}}]},
    ...extra,
  }
}

interface Call {
  kind: 'list' | 'exec'
  args: unknown[]
}

class StubKube implements ExecKubeClient {
  calls: Call[] = []
  pods: CalicoPod[]
  execImpl: (ns: string, pod: string, container: string, argv: string[], opts: ExecOptions) => Promise<ExecResult>
  constructor(pods: CalicoPod[]) {
    this.pods = pods
    this.execImpl = async (_ns, p, _c, argv) => ({stdout: `${p}:${argv.join(' ')}\n`, stderr: '', exitCode: 0})
  }
  async list<T extends KubeObject = KubeObject>(
    resource: ResourceRef,
    namespace?: string,
    opts?: ListOptions,
  ): Promise<T[]> {
    this.calls.push({kind: 'list', args: [resource.plural, namespace, opts]})
    return this.pods.filter((p) => p.metadata.labels?.['k8s-app'] === 'calico-node') as unknown as T[]
  }
  exec(namespace: string, p: string, container: string, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    this.calls.push({kind: 'exec', args: [namespace, p, container, argv, opts.timeoutMs]})
    return this.execImpl(namespace, p, container, argv, opts)
  }
}

describe('ExecRunner', () => {
  it("lists calico-node pods once and execs in the node's pod, container calico-node", async () => {
    const kube = new StubKube([pod('calico-node-a', 'n1'), pod('calico-node-b', 'n2'), pod('calico-node-c', 'n3')])
    const runner = new ExecRunner({kube, namespace: 'calico-system'})
    expect(runner.via).toBe('exec')
    const rs = await Promise.all(
      ['n1', 'n2', 'n3', 'n1'].map((name) => runner.run({name}, ['uname', '-r'], {timeoutMs: 5000})),
    )
    expect(rs.map((r) => r.stdout)).toEqual([
      'calico-node-a:uname -r\n',
      'calico-node-b:uname -r\n',
      'calico-node-c:uname -r\n',
      'calico-node-a:uname -r\n',
    ])
    const lists = kube.calls.filter((c) => c.kind === 'list')
    expect(lists).toEqual([{kind: 'list', args: ['pods', 'calico-system', {labelSelector: 'k8s-app=calico-node'}]}])
    expect(kube.calls.filter((c) => c.kind === 'exec')[0]!.args).toEqual([
      'calico-system',
      'calico-node-a',
      'calico-node',
      ['uname', '-r'],
      5000,
    ])
    await runner.close()
  })

  it('uses the namespace given (kube-system for manifest installs)', async () => {
    const kube = new StubKube([pod('calico-node-x', 'n1')])
    await new ExecRunner({kube, namespace: 'kube-system'}).run({name: 'n1'}, ['true'], {timeoutMs: 1000})
    expect(kube.calls[0]!.args[1]).toBe('kube-system')
    expect(kube.calls[1]!.args[0]).toBe('kube-system')
  })

  it('no pod, a pod not Running, a crashed container → no-agent-pod', async () => {
    const crashed = pod('calico-node-c', 'n3')
    crashed.status!.containerStatuses = [{name: 'calico-node', state: {waiting: {reason: 'CrashLoopBackOff'}}}]
    const kube = new StubKube([pod('calico-node-p', 'n2', 'Pending'), crashed])
    const runner = new ExecRunner({kube, namespace: 'calico-system'})
    await expect(runner.run({name: 'n1'}, ['true'], {timeoutMs: 1000})).rejects.toMatchObject({
      node: 'n1',
      reason: 'no-agent-pod',
      message: expect.stringContaining('no calico-node pod'),
    })
    await expect(runner.run({name: 'n2'}, ['true'], {timeoutMs: 1000})).rejects.toMatchObject({
      reason: 'no-agent-pod',
      message: expect.stringContaining('calico-node-p is Pending'),
    })
    await expect(runner.run({name: 'n3'}, ['true'], {timeoutMs: 1000})).rejects.toMatchObject({
      reason: 'no-agent-pod',
      message: expect.stringContaining('CrashLoopBackOff'),
    })
  })

  it('prefers a usable pod, then the newest, when a node has several (rolling update)', () => {
    const old = pod('old', 'n1')
    const terminating = pod('term', 'n1', 'Running', {})
    terminating.metadata.deletionTimestamp = '2026-01-02T00:00:00Z'
    terminating.metadata.creationTimestamp = '2026-01-03T00:00:00Z'
    const newer = pod('new', 'n1')
    newer.metadata.creationTimestamp = '2026-01-02T00:00:00Z'
    expect(mapPodsToNodes([old, terminating, newer]).get('n1')?.name).toBe('new')
    expect(mapPodsToNodes([terminating]).get('n1')?.unusable).toBe('is being deleted')
  })

  it('passes exit codes and streams stdout; maps timeouts and API errors', async () => {
    const kube = new StubKube([pod('cn', 'n1')])
    const runner = new ExecRunner({kube, namespace: 'calico-system'})
    kube.execImpl = async (_n, _p, _c, _a, opts) => {
      opts.stdout?.(Buffer.from('chunk'))
      return {stdout: '', stderr: 'warn\n', exitCode: 3}
    }
    const chunks: Buffer[] = []
    expect(await runner.run({name: 'n1'}, ['x'], {timeoutMs: 1000, onStdout: (c) => chunks.push(c)})).toEqual({
      stdout: '',
      stderr: 'warn\n',
      exitCode: 3,
    })
    expect(Buffer.concat(chunks).toString()).toBe('chunk')

    kube.execImpl = async () => {
      throw new KubeApiError({code: 0, verb: 'exec', message: 'cannot exec: no answer within 1s'})
    }
    await expect(runner.run({name: 'n1'}, ['x'], {timeoutMs: 1000})).rejects.toMatchObject({
      reason: 'timeout',
      node: 'n1',
    })
    kube.execImpl = async () => {
      throw new KubeApiError({code: 403, verb: 'exec', message: 'forbidden: pods/exec', remedy: 'grant pods/exec'})
    }
    await expect(runner.run({name: 'n1'}, ['x'], {timeoutMs: 1000})).rejects.toMatchObject({
      reason: 'auth',
      remedy: 'grant pods/exec',
    })
    kube.execImpl = () => new Promise(() => {})
    await expect(runner.run({name: 'n1'}, ['x'], {timeoutMs: 10})).rejects.toMatchObject({reason: 'timeout'})
  }, 10_000)

  it('a failed pod list is a per-node error and is retried next time', async () => {
    const kube = new StubKube([pod('cn', 'n1')])
    let fail = true
    const list = kube.list.bind(kube)
    kube.list = (async (...args: Parameters<StubKube['list']>) => {
      if (fail) throw new KubeApiError({code: 403, verb: 'list', message: 'pods is forbidden'})
      return list(...args)
    }) as StubKube['list']
    const runner = new ExecRunner({kube, namespace: 'calico-system'})
    await expect(runner.run({name: 'n1'}, ['x'], {timeoutMs: 1000})).rejects.toMatchObject({reason: 'auth', node: 'n1'})
    fail = false
    expect((await runner.run({name: 'n1'}, ['x'], {timeoutMs: 1000})).exitCode).toBe(0)
  })

  it('runs the node probe through the pod (stub exec runs it on this machine)', async () => {
    const kube = new StubKube([pod('cn', 'n1')])
    const local = new LocalRunner()
    kube.execImpl = (_n, _p, _c, argv, opts) => local.run({name: 'n1'}, argv, {timeoutMs: opts.timeoutMs})
    const f = await probeNode(new ExecRunner({kube, namespace: 'calico-system'}), {name: 'n1'})
    expect(f.machine).toBeTruthy()
    expect(f.mounts.length).toBeGreaterThan(0)
  })
})
