/**
 * The API client under transient faults and hostile bodies, against the fake API server: transient errors are retried
 * (429 with Retry-After, 5xx, resets) within --request-timeout; a write whose outcome stays unknown says so; bodies are
 * bounded by bytes and time, and the error says which bound it hit.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import type {KubeClient} from '../../../src/lib/kube/client.js'
import {connect} from '../../../src/lib/kube/connect.js'
import {KubeApiError} from '../../../src/lib/kube/errors.js'
import {Resources} from '../../../src/lib/kube/resources.js'
import {type FakeApiServer, startFakeApiServer} from '../../support/fake-apiserver/index.js'

let server: FakeApiServer
let kube: KubeClient
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'client-faults-'))
  server = await startFakeApiServer()
  server.store.seed([{apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'default'}}])
  kube = await connect({kubeconfig: server.writeKubeconfig(dir), timeoutMs: 5000})
})
afterAll(async () => {
  kube.close()
  await server.close()
  rmSync(dir, {recursive: true, force: true})
})
afterEach(() => {
  server.onRequest(undefined)
  server.resetLog()
})

const cm = (name: string, data: Record<string, string> = {a: '1'}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {name, namespace: 'default'},
  data,
})

/** Fault the first `times` requests that match; then answer normally. */
function faultFirst(times: number, match: (verb: string) => boolean, action: Parameters<FakeApiServer['onRequest']>[0]) {
  let n = 0
  server.onRequest((r) => (match(r.verb) && n++ < times ? action!(r) : undefined))
}

describe('transient errors are retried', () => {
  it('429 with Retry-After: waits as told, then succeeds', async () => {
    server.store.seed([cm('r429')])
    faultFirst(1, (v) => v === 'get', () => ({status: 429, retryAfter: '1'}))
    const t0 = Date.now()
    expect(await kube.get(Resources.configMaps, 'r429', 'default')).toBeDefined()
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
    expect(server.log.filter((r) => r.verb === 'get').map((r) => r.status)).toEqual([429, 200])
  })

  it('a single 500 on a patch is retried and the patch lands once', async () => {
    server.store.seed([cm('p500')])
    faultFirst(1, (v) => v === 'patch', () => ({status: 500}))
    await kube.patch(Resources.configMaps, 'p500', 'default', {data: {a: '2'}}, 'merge')
    expect(server.store.get('v1', 'ConfigMap', 'p500', 'default').data).toEqual({a: '2'})
    expect(server.log.filter((r) => r.verb === 'patch').map((r) => r.status)).toEqual([500, 200])
  })

  it('a reset connection on a list is retried', async () => {
    faultFirst(2, (v) => v === 'list', () => 'drop')
    expect(await kube.list(Resources.configMaps, 'default')).toBeInstanceOf(Array)
    expect(server.log.filter((r) => r.verb === 'list')).toHaveLength(3)
  })

  it('a create that landed but whose answer was lost: the retry finds our object and succeeds', async () => {
    faultFirst(1, (v) => v === 'create', () => {
      server.store.seed([cm('landed', {a: 'ours'})]) // the write lands, then the connection drops
      return 'drop'
    })
    const created = await kube.create(Resources.configMaps, cm('landed', {a: 'ours'}))
    expect(created.metadata.name).toBe('landed')
    expect(server.log.filter((r) => r.verb === 'create').map((r) => r.status)).toEqual([0, 409])
  })

  it('a retried create that finds someone else\u2019s object is still AlreadyExists', async () => {
    faultFirst(1, (v) => v === 'create', () => {
      server.store.seed([cm('theirs', {a: 'theirs'})])
      return 'drop'
    })
    const err = await kube.create(Resources.configMaps, cm('theirs', {a: 'ours'})).catch((e) => e)
    expect(err).toBeInstanceOf(KubeApiError)
    expect(err).toMatchObject({code: 409, reason: 'AlreadyExists'})
  })

  it('a write still failing after every attempt is marked outcomeUnknown; a read is not', async () => {
    server.store.seed([cm('p5xx')])
    server.onRequest((r) => (r.verb === 'patch' || r.verb === 'get' ? {status: 500} : undefined))
    const w = await kube.patch(Resources.configMaps, 'p5xx', 'default', {data: {a: '3'}}, 'merge').catch((e) => e)
    expect(w).toMatchObject({code: 500, outcomeUnknown: true})
    expect(w.message).toContain('may or may not have been applied')
    expect(server.log.filter((r) => r.verb === 'patch')).toHaveLength(5)
    const r = await kube.get(Resources.configMaps, 'p5xx', 'default').catch((e) => e)
    expect(r).toMatchObject({code: 500, outcomeUnknown: false})
  })

  it('403 and 404 are not retried', async () => {
    server.onRequest((r) => (r.verb === 'get' ? {status: 403} : undefined))
    await expect(kube.get(Resources.configMaps, 'x', 'default')).rejects.toMatchObject({code: 403})
    expect(server.log.filter((r) => r.verb === 'get')).toHaveLength(1)
  })

  it('retries stay inside --request-timeout (a Retry-After past the budget is not waited for)', async () => {
    const short = await connect({kubeconfig: server.writeKubeconfig(join(dir, 'short')), timeoutMs: 1000})
    server.onRequest(() => ({status: 429, retryAfter: '10'}))
    const t0 = Date.now()
    await expect(short.list(Resources.configMaps, 'default')).rejects.toMatchObject({code: 429})
    expect(Date.now() - t0).toBeLessThan(1000)
    short.close()
  })
})

describe('bounded bodies', () => {
  it('an endless list page stops at the 64 MiB byte bound and says so', async () => {
    // A time budget no loaded machine reaches while 64 MiB stream in: only the byte bound may end this list.
    const patient = await connect({kubeconfig: server.writeKubeconfig(join(dir, 'patient')), timeoutMs: 25_000})
    server.onRequest((r) => (r.verb === 'list' ? {endless: 'json'} : undefined))
    const err = await patient.list(Resources.configMaps, 'default').catch((e) => e)
    patient.close()
    expect(err).toBeInstanceOf(KubeApiError)
    expect(err.bound).toBe('bytes')
    expect(err.message).toContain('more than 64 MiB for a list page')
    expect(server.log.filter((r) => r.verb === 'list')).toHaveLength(1) // not retried
  }, 60_000)

  it('an object declared larger than 16 MiB is refused before its body is read', async () => {
    server.onRequest((r) => (r.verb === 'get' ? {declaredBytes: 1900 * 1024 * 1024} : undefined))
    const t0 = Date.now()
    const err = await kube.get(Resources.configMaps, 'huge', 'default').catch((e) => e)
    expect(err).toMatchObject({bound: 'bytes'})
    expect(err.message).toContain('more than 16 MiB for the object')
    expect(Date.now() - t0).toBeLessThan(2000)
  })

  it('a body that never finishes hits the time bound and says so', async () => {
    const short = await connect({kubeconfig: server.writeKubeconfig(join(dir, 'slow')), timeoutMs: 500})
    server.onRequest((r) => (r.verb === 'get' ? {declaredBytes: 1000} : undefined))
    const err = await short.get(Resources.configMaps, 'slow', 'default').catch((e) => e)
    expect(err).toMatchObject({bound: 'time'})
    expect(err.message).toContain('time bound')
    short.close()
  })

  it('pod logs always ask for limitBytes, and a server that ignores it is cut off', async () => {
    server.store.seed([
      {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'calico-system'}},
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {name: 'calico-node-a', namespace: 'calico-system'},
        spec: {containers: [{name: 'calico-node', image: 'x'}]},
      },
    ])
    server.onRequest((r) => (r.verb === 'logs' ? {endless: 'text', honourLimitBytes: true} : undefined))
    const log = await kube.podLogs('calico-system', 'calico-node-a', 'calico-node', {tailLines: 100, limitBytes: 4096})
    expect(Buffer.byteLength(log)).toBe(4096)
    expect(server.log.at(-1)!.query.get('limitBytes')).toBe('4096')

    const unbounded = await kube.podLogs('calico-system', 'calico-node-a', 'calico-node', {tailLines: 100})
    expect(Buffer.byteLength(unbounded)).toBe(8 * 1024 * 1024)
    expect(server.log.at(-1)!.query.get('limitBytes')).toBe(String(8 * 1024 * 1024))

    server.onRequest((r) => (r.verb === 'logs' ? {endless: 'text'} : undefined))
    const err = await kube.podLogs('calico-system', 'calico-node-a', 'calico-node').catch((e) => e)
    expect(err).toMatchObject({bound: 'bytes'})
    expect(err.message).toContain('for the pod log')
  }, 30_000)
})
