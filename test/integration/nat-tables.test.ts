/**
 * `ebpfctl nat aff` / `nat maglev`: the agent's output through pod exec (fake API server) joined to Services and pods,
 * and the real pinned cali_v4_nat_aff / cali_v4_mglv2 maps read with bpftool over SSH (node rig).
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {NatAffReport, NatMaglevReport} from '../../src/lib/dataplane/nat-tables.js'
import {parseMaglevJson, parseMaglevText} from '../../src/lib/maps/maglev.js'
import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'
import {encodeNatAffinity, encodeNatBackendKey, encodeNatBackendValue, encodeNatMaps} from '../support/map-encoders.js'
import {type Rig, startRig} from '../support/node-rig/index.js'

const root = join(import.meta.dirname, '..', '..')
const isRoot = process.getuid?.() === 0
const fixture = (name: string) => readFileSync(join(root, 'test/fixtures/bpf', name), 'utf8')
const buf = (e: {key: Uint8Array; value: Uint8Array}) => ({key: Buffer.from(e.key), value: Buffer.from(e.value)})

describe('maglev parsers', () => {
  it('text and JSON agree', () => {
    const t = parseMaglevText(fixture('fmt-nat-maglev.txt'))
    expect(t.unknown).toEqual([])
    expect(parseMaglevJson(fixture('fmt-nat-maglev.json')).entries).toEqual(t.entries)
    expect(t.entries[2]).toEqual({serviceId: 35, ordinal: 1, backend: {ip: '6.6.6.6', port: 8080}})
  })
})

describe('nat aff / nat maglev through pod exec', {timeout: 150_000}, () => {
  let server: FakeApiServer
  let kubeconfig: string
  beforeAll(async () => {
    server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes: 1})
    seedOperatorInstall(server.store, {installation: 'bpf'})
    const aff = [{client_ip: '10.65.0.9', proto: 6, addr: '10.96.0.1', port: 443, backend: {addr: '172.18.0.2', port: 6443}, timestamp: '1h2m3s'}]
    const maglev = [0, 1, 2, 3, 4].map((o) => ({svc_id: 7, ordinal: o, addr: '172.18.0.2', port: 6443}))
    const nat = [{frontend: {addr: '10.96.0.1', port: 443, proto: 6, id: 7, count: 1, local: 0, flags: 'maglev'}, backends: [{addr: '172.18.0.2', port: 6443}]}]
    server.setExecHandler((req) => {
      const cmd = req.command.join(' ')
      if (cmd === 'test -x /usr/bin/calico') return {exitCode: 1}
      if (cmd === 'calico-node -bpf nat aff --json') return {stdout: JSON.stringify(aff), exitCode: 0}
      if (cmd === 'calico-node -bpf nat maglev --json') return {stdout: JSON.stringify(maglev), exitCode: 0}
      if (cmd === 'calico-node -bpf nat dump --json') return {stdout: JSON.stringify(nat), exitCode: 0}
      return {stderr: `unexpected ${cmd}`, exitCode: 2}
    })
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-nattables-')))
  })
  afterAll(async () => server?.close())
  const cli = (args: string[]) =>
    execa('node', [join(root, 'bin/run.js'), 'nat', ...args, '--all-nodes', '--kubeconfig', kubeconfig], {reject: false, env: {NO_COLOR: '1'}})

  it('joins affinity entries and Maglev slots to the Service, as nat dump does', async () => {
    const a = await cli(['aff', '-o', 'json'])
    expect(a.exitCode).toBe(0)
    const aff = JSON.parse(a.stdout) as NatAffReport
    expect(aff.nodes[0]!.entries[0]).toMatchObject({clientIp: '10.65.0.9', service: {ref: 'default/kubernetes:https'}, backend: {ip: '172.18.0.2', port: 6443}})
    expect((await cli(['aff'])).stdout).toMatch(/node-1\s+10\.65\.0\.9\s+default\/kubernetes:https\s+172\.18\.0\.2:6443/)
    const m = await cli(['maglev', '-o', 'json'])
    expect(m.exitCode).toBe(0)
    const mg = JSON.parse(m.stdout) as NatMaglevReport
    expect(mg.nodes[0]!.services).toEqual([{serviceId: 7, service: expect.objectContaining({ref: 'default/kubernetes:https'}), slots: 5, backends: [{ip: '172.18.0.2', port: 6443, slots: 5}]}])
    const none = await cli(['maglev', '--service', 'kube-system/kube-dns', '-o', 'json'])
    expect((JSON.parse(none.stdout) as NatMaglevReport).nodes[0]!.services).toEqual([])
  })
})

describe.runIf(isRoot)('nat aff / nat maglev from real pinned maps over SSH', {timeout: 120_000}, () => {
  let rig: Rig
  beforeAll(async () => {
    const nat = encodeNatMaps([
      {ip: '10.96.0.50', port: 80, proto: 'tcp', serviceId: 12, count: 2, localCount: 0, flags: ['maglev'], backends: [
        {ordinal: 0, ip: '10.65.1.1', port: 8080},
        {ordinal: 1, ip: '10.65.1.2', port: 8080},
      ]},
    ])
    const slots = Array.from({length: 7}, (_, o) => ({key: Buffer.from(encodeNatBackendKey(12, o)), value: Buffer.from(encodeNatBackendValue({ip: o % 3 === 0 ? '10.65.1.2' : '10.65.1.1', port: 8080}))}))
    const aff = encodeNatAffinity({clientIp: '10.65.9.9', frontend: {ip: '10.96.0.50', port: 80, proto: 'tcp'}, backend: {ip: '10.65.1.2', port: 8080}, timestampNs: '123456789'})
    rig = await startRig({
      nodes: [
        {
          name: 'lb-1',
          maps: [
            {name: 'cali_v4_nat_fe3', type: 'lpm_trie', keySize: 16, valueSize: 20, maxEntries: 1024, flags: 1, entries: nat.frontends.map(buf)},
            {name: 'cali_v4_nat_be', type: 'hash', keySize: 8, valueSize: 8, maxEntries: 1024, flags: 1, entries: nat.backends.map(buf)},
            {name: 'cali_v4_nat_aff', type: 'lru_hash', keySize: 16, valueSize: 16, maxEntries: 1024, entries: [buf(aff)]},
            {name: 'cali_v4_mglv2', type: 'hash', keySize: 8, valueSize: 8, maxEntries: 1009, flags: 1, entries: slots},
          ],
        },
      ],
    })
  }, 90_000)
  afterAll(async () => rig?.stop())
  const cli = (args: string[]) =>
    execa(
      'node',
      [
        join(root, 'bin/run.js'), 'nat', ...args, '--node', 'lb-1', '--via', 'ssh', '-o', 'json',
        '--ssh-user', 'root', '--ssh-identity', rig.identityFile, '--ssh-known-hosts', rig.knownHostsPath,
        '--ssh-config', join(rig.dir, 'none'),
        ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
      ],
      {reject: false, env: {NO_COLOR: '1', KUBECONFIG: ''}},
    )

  it('decodes the pinned affinity and Maglev maps; slots counted per backend', async () => {
    const a = await cli(['aff'])
    expect(a.exitCode).toBe(0)
    expect((JSON.parse(a.stdout) as NatAffReport).nodes[0]).toMatchObject({
      source: 'bpftool',
      entries: [{clientIp: '10.65.9.9', frontend: {ip: '10.96.0.50', port: 80, proto: 'tcp'}, backend: {ip: '10.65.1.2', port: 8080}, timestampNs: '123456789'}],
    })
    const m = await cli(['maglev'])
    expect(m.exitCode).toBe(0)
    expect((JSON.parse(m.stdout) as NatMaglevReport).nodes[0]).toMatchObject({
      source: 'bpftool',
      services: [{serviceId: 12, slots: 7, backends: [{ip: '10.65.1.1', port: 8080, slots: 4}, {ip: '10.65.1.2', port: 8080, slots: 3}]}],
    })
  })
})
