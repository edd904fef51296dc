/**
 * Strings from the cluster that try to drive the terminal or break parsers: escape sequences in node kernel/OS strings,
 * the Calico version and ConfigMap values, U+FFFF for JUnit, and hosts that are not hosts. The built CLI against the
 * fake API server on 127.0.0.1.
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterEach, beforeAll, describe, expect, it, vi} from 'vitest'

import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'

vi.setConfig({testTimeout: 120_000, hookTimeout: 120_000})

const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'run.js')
// What a terminal acts on: C0 but \t \n, DEL, C1, bidi overrides. NO_COLOR is set, so not even our own SGR is expected.
// eslint-disable-next-line no-control-regex
const ACTIVE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/

const TITLE = '\u001B]0;pwned\u0007'
const CLEAR = '\u001B[2J\u001B[H'
const HOSTILE_KERNEL = `6.8.0-45-generic${TITLE}${CLEAR}\rall checks passed\u009B1A`
const HOSTILE_OS = `Ubuntu 24.04 LTS\u202E\uFFFF${TITLE}`
const HOSTILE_VERSION = `v3.32.1${CLEAR}`

let server: FakeApiServer
let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ebpfctl-hostile-'))
})
afterEach(async () => {
  await server?.close()
})

async function cluster(endpointHost?: string) {
  server = await startFakeApiServer()
  seedKubeadmBase(server.store, {nodes: [{name: 'node-1', kernelVersion: HOSTILE_KERNEL, osImage: HOSTILE_OS}, {name: 'node-2'}]})
  seedOperatorInstall(server.store)
  const info = server.store.get('crd.projectcalico.org/v1', 'ClusterInformation', 'default')
  server.store.put({...info, spec: {...info.spec, calicoVersion: HOSTILE_VERSION}})
  if (endpointHost !== undefined) {
    server.store.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {name: 'kubernetes-services-endpoint', namespace: 'tigera-operator'},
      data: {KUBERNETES_SERVICE_HOST: endpointHost, KUBERNETES_SERVICE_PORT: '6443'},
    })
  }
  server.resetLog()
}

const run = (args: string[]) =>
  execa('node', [BIN, ...args, '--kubeconfig', server.writeKubeconfig(dir)], {reject: false, cwd: ROOT, env: {NO_COLOR: '1'}})

describe('hostile strings from the cluster', () => {
  it('check (table): escape codes in kernel, OS, Calico version and ConfigMap values reach the terminal only as visible text', async () => {
    await cluster(`172.18.0.2${TITLE}`)
    const r = await run(['check', '-o', 'wide'])
    const all = r.stdout + r.stderr
    expect(all).toContain('6.8.0-45-generic')
    expect(ACTIVE.test(all)).toBe(false)
    expect(all).toContain('\\x1b]0;pwned\\x07')
    // The ConfigMap host is not a host: a failure, named.
    expect(r.stdout).toMatch(/contains a space or a control character/)
    expect(r.exitCode).toBe(1)
  })

  it('check -o json: one valid document that keeps the hostile strings exact, with nothing raw a terminal acts on', async () => {
    await cluster()
    const r = await run(['check', '-o', 'json'])
    expect(ACTIVE.test(r.stdout.replace(/\n/g, ''))).toBe(false)
    const report = JSON.parse(r.stdout) as {calico: {version: string}}
    expect(report.calico.version).toBe(HOSTILE_VERSION)
    expect(r.stdout).toContain('\\u001b[2J')
  })

  it('check -o junit: valid XML although a node reports U+FFFF and control characters', async () => {
    await cluster()
    const r = await run(['check', '-o', 'junit'])
    expect(r.stdout.startsWith('<?xml')).toBe(true)
    // Python's expat: a strict XML 1.0 parser (there is none in node_modules).
    const parsed = await execa('python3', ['-c', 'import sys, xml.dom.minidom as m; d = m.parseString(sys.stdin.buffer.read()); print(len(d.getElementsByTagName("testcase")))'], {
      input: r.stdout,
      reject: false,
    })
    expect(parsed.stderr).toBe('')
    expect(Number(parsed.stdout)).toBeGreaterThan(3)
    expect(r.stdout).not.toContain('\uFFFF')
  })

  it('--api-server must be a hostname or IP: 0.0.0.0, spaces and control characters are refused before any write', async () => {
    await cluster()
    for (const bad of ['0.0.0.0:6443', 'lb example:6443', `10.0.0.1${CLEAR}:6443`]) {
      const r = await run(['enable', '--api-server', bad, '--dry-run'])
      expect(r.exitCode, bad).toBe(2)
      expect(r.stderr).toMatch(/--api-server .* cannot be used: .*(unspecified address|space or a control character)/)
      expect(ACTIVE.test(r.stderr)).toBe(false)
    }
    expect(server.writes()).toHaveLength(0)
  })
})
