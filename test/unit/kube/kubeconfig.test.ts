import {execFileSync} from 'node:child_process'
import {chmodSync, mkdtempSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {stringify} from 'yaml'

import {UserError} from '../../../src/lib/errors.js'
import {connect} from '../../../src/lib/kube/connect.js'
import {loadDirectConfig} from '../../../src/lib/kube/kubeconfig.js'
import {Resources} from '../../../src/lib/kube/resources.js'
import {type FakeApiServer, startFakeApiServer} from '../../support/fake-apiserver/index.js'

const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-kubeconfig-'))
const write = (name: string, doc: object) => {
  const path = join(dir, name)
  writeFileSync(path, stringify(doc))
  return path
}
const config = (o: {context?: string; server?: string; user?: Record<string, unknown>; cluster?: Record<string, unknown>}) => ({
  apiVersion: 'v1',
  kind: 'Config',
  'current-context': o.context ?? 'a',
  clusters: [{name: 'c', cluster: {server: o.server ?? 'https://127.0.0.1:1', ...o.cluster}}],
  users: [{name: 'u', user: o.user ?? {token: 't0k'}}],
  contexts: [{name: o.context ?? 'a', context: {cluster: 'c', user: 'u'}}],
})

describe('loadDirectConfig (kubeconfigs read without client-node)', () => {
  it('reads token, token-file and relative certificate paths against the file that names them', async () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA')
    writeFileSync(join(dir, 'token'), 'from-file\n')
    const a = await loadDirectConfig([write('a.yaml', config({cluster: {'certificate-authority': 'ca.pem', 'tls-server-name': 'api'}}))], undefined)
    expect(a).toMatchObject({contextName: 'a', server: 'https://127.0.0.1:1', headers: {Authorization: 'Bearer t0k'}})
    expect(a!.tls).toMatchObject({ca: Buffer.from('CA'), rejectUnauthorized: true, servername: 'api'})
    const b = await loadDirectConfig([write('b.yaml', config({user: {'token-file': 'token'}, cluster: {'insecure-skip-tls-verify': true}}))], undefined)
    expect(b!.headers.Authorization).toBe('Bearer from-file')
    expect(b!.tls.rejectUnauthorized).toBe(false)
  })

  it('merges files as kubectl does (first wins) and validates --context in one line', async () => {
    const first = write('first.yaml', config({context: 'shared', server: 'https://127.0.0.1:11'}))
    const second = write('second.yaml', {...config({context: 'shared', server: 'https://127.0.0.1:22'}), contexts: [{name: 'shared', context: {cluster: 'c', user: 'u'}}, {name: 'other', context: {cluster: 'c', user: 'u'}}]})
    expect((await loadDirectConfig([first, second], undefined))!.server).toBe('https://127.0.0.1:11')
    expect((await loadDirectConfig([first, second], 'other'))!.contextName).toBe('other')
    const err = await loadDirectConfig([first, second], 'nope').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as UserError).message).toBe('context "nope" is not in the kubeconfig')
    expect((err as UserError).remedy).toBe('Use one of: shared, other.')
  })

  it('runs exec plugins itself (bounded), and leaves auth providers, basic auth and proxies to client-node', async () => {
    const exec = {apiVersion: 'client.authentication.k8s.io/v1', command: 'x'}
    expect((await loadDirectConfig([write('x.yaml', config({user: {exec}}))], undefined))!.exec?.config).toEqual(exec)
    for (const extra of [
      {user: {'auth-provider': {name: 'oidc'}}},
      {user: {username: 'a', password: 'b'}},
      {cluster: {'proxy-url': 'http://127.0.0.1:3128'}},
    ]) {
      expect(await loadDirectConfig([write('x.yaml', config(extra))], undefined)).toBeUndefined()
    }
  })
})

describe('kubeconfig files are bounded local reads', () => {
  it('a FIFO, /dev/zero or a huge token file is one clear error, not a hang or a full memory', async () => {
    const fifo = join(dir, 'fifo-kubeconfig')
    execFileSync('mkfifo', [fifo])
    await expect(loadDirectConfig([fifo], undefined)).rejects.toThrow(/cannot read kubeconfig .*is a FIFO, not a regular file/)
    await expect(loadDirectConfig(['/dev/zero'], undefined)).rejects.toThrow(/is a character device/)
    const big = join(dir, 'big-token')
    writeFileSync(big, '')
    truncateSync(big, 3 * 1024 ** 3)
    const path = write('kc-big-token.yaml', config({user: {'token-file': big}}))
    await expect(loadDirectConfig([path], undefined)).rejects.toThrow(/cannot use the credentials .*larger than 16 MiB/)
  })
})

describe('connect through both paths against the fake API server', () => {
  let server: FakeApiServer
  beforeAll(async () => {
    server = await startFakeApiServer()
    server.store.seed([{apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'kube-system'}}])
  })
  afterAll(async () => server?.close())

  it('a token kubeconfig and an exec-plugin kubeconfig both list namespaces', async () => {
    const direct = server.writeKubeconfig(join(dir, 'direct'))
    const plugin = join(dir, 'plugin.sh')
    writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${server.token}"}}'\n`)
    chmodSync(plugin, 0o755)
    const { parse } = await import('yaml')
    const { readFileSync } = await import('node:fs')
    const doc = parse(readFileSync(direct, 'utf8'))
    doc.users[0].user = {exec: {apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never'}}
    const viaPlugin = write('via-plugin.yaml', doc)
    for (const kubeconfig of [direct, viaPlugin]) {
      const kube = await connect({kubeconfig, timeoutMs: 5000})
      try {
        const names = (await kube.list(Resources.namespaces)).map((n) => n.metadata.name)
        expect(names).toContain('kube-system')
      } finally {
        kube.close()
      }
    }
  })
})
