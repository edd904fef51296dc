import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {verdictFromIfstate} from '../../../src/lib/dataplane/ifstate.js'
import {parseBpftoolDump} from '../../../src/lib/dataplane/small-maps.js'
import {decodeIfstate, parseIfstateJson, parseIfstateText} from '../../../src/lib/maps/ifstate.js'
import {encodeIfstate} from '../../support/map-encoders.js'

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../fixtures/bpf', name), 'utf8')

describe('ifstate parsers', () => {
  it('reads v3.29+ text: flags, ready, kind and policy indexes', () => {
    const r = parseIfstateText(fixture('fmt-ifstate-v3.32.txt'))
    expect(r.unknown).toEqual([])
    expect(r.interfaces.map((i) => [i.ifindex, i.name, i.kind, i.ready])).toEqual([
      [2, 'eth0', 'host', true],
      [7, 'cali1a2b3c4d5e6', 'workload', true],
      [9, 'cali9f8e7d6c5b4', 'workload', false],
      [11, 'vxlan.calico', 'host', true],
    ])
    expect(r.interfaces[1]!.policy).toMatchObject({ingressV4: 21, egressV4: 22, xdpV4: -1})
  })

  it('reads v3.27 text (one "ready" flag, unversioned policy names) and v3.24–v3.26 text (no policy)', () => {
    const v27 = parseIfstateText(fixture('fmt-ifstate-v3.27.txt'))
    expect(v27.interfaces.map((i) => [i.name, i.flags, i.ready])).toEqual([
      ['eth0', ['host'], false],
      ['cali1a2b3c4d5e6', ['workload', 'ready'], true],
    ])
    expect(v27.interfaces[0]!.policy).toMatchObject({ingressV4: 3, egressV4: 4})
    const v26 = parseIfstateText(fixture('fmt-ifstate-v3.26.txt'))
    expect(v26.unknown).toEqual([])
    expect(v26.interfaces.map((i) => [i.name, i.kind, i.ready, i.policy])).toEqual([
      ['eth0', 'host', true, undefined],
      ['cali1a2b3c4d5e6', 'workload', false, undefined],
    ])
  })

  it('reads --json, and null (an empty map)', () => {
    const r = parseIfstateJson(fixture('fmt-ifstate.json'))
    expect(r.interfaces.map((i) => [i.ifindex, i.name, i.ready, i.kind])).toEqual([
      [2, 'eth0', true, 'host'],
      [9, 'cali9f8e7d6c5b4', false, 'workload'],
    ])
    expect(parseIfstateJson('null\n').interfaces).toEqual([])
  })

  it('counts lines that are not interfaces instead of inventing entries; known noise is noise, errors are collected', () => {
    const r = parseIfstateText(
      'Using config file: /root/.calico-bpf.yaml\n    2 : {flags: host, name: eth0}\nsomething else\n' +
        '2026-07-30 10:26:08.453 [ERROR][597] node/ifstate.go 38: Failed to dump interface states map.\n',
    )
    expect(r.interfaces).toHaveLength(1)
    expect(r.unknown).toEqual(['something else'])
    expect(r.noise).toBe(2)
    expect(r.errors).toEqual(['2026-07-30 10:26:08.453 [ERROR][597] node/ifstate.go 38: Failed to dump interface states map.'])
  })

  it('a real output (frozenprocess/calico_live, Calico master 2023: v3.27 names without the filter fields)', () => {
    const r = parseIfstateText(fixture('ifstate-1-calico-live-2023.txt'))
    expect(r.unknown).toEqual([])
    expect(r.interfaces).toEqual([
      {ifindex: 17, name: 'califdc26cc6d6b', flags: ['workload', 'ready'], ready: true, kind: 'workload', policy: {ingressV4: 26, egressV4: 27, xdpV4: -1, ingressV6: undefined, egressV6: undefined, xdpV6: undefined}},
      {ifindex: 2, name: 'ens3', flags: ['ready'], ready: true, kind: 'host', policy: {ingressV4: 2, egressV4: 3, xdpV4: 1, ingressV6: undefined, egressV6: undefined, xdpV6: undefined}},
    ])
  })

  it('reads a line in time linear in its length (a 64 KiB line of `name: ` without its brace once took 17 s)', () => {
    const long = '1 : {flags: ' + 'name: '.repeat(11_000)
    const started = performance.now()
    expect(parseIfstateText(long).interfaces).toEqual([])
    expect(parseIfstateText('1 : {flags: ' + 'a,'.repeat(33_000)).interfaces).toEqual([])
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it('--json with the `Using config file:` line calico-bpf prints first (root.go initConfig), and output that is not JSON, never throw', () => {
    const r = parseIfstateJson(`Using config file: /root/.calico-bpf.yaml\n${fixture('fmt-ifstate.json')}`)
    expect(r.interfaces.map((i) => i.name)).toEqual(['eth0', 'cali9f8e7d6c5b4'])
    expect(r.noise).toBe(1)
    const bad = parseIfstateJson('Error: unknown flag: --json\n')
    expect(bad.interfaces).toEqual([])
    expect(bad.errors!.length).toBeGreaterThan(0)
    expect(parseIfstateJson('[{"ifindex": 2, "name": "eth0", "fla').errors).toEqual(['the JSON output is not valid JSON (cut off?)'])
  })

  it('decodes the 52-byte (v4), 40-byte (v3) and 20-byte (v2) values from bpftool hex', () => {
    const e = encodeIfstate(7, 0x1 | 0x2, 'cali1a2b3c4d5e6', [-1, 21, 22])
    const dump = JSON.stringify([
      {key: [...e.key].map((b) => `0x${b.toString(16).padStart(2, '0')}`), value: [...e.value].map((b) => `0x${b.toString(16).padStart(2, '0')}`), formatted: {a: 1, a2: 2}},
      {key: ['0x01', '0x00', '0x00', '0x00'], value: {error: "can't lookup element"}},
    ])
    const {entries, skipped} = parseBpftoolDump(dump)
    expect(skipped).toBe(1)
    const s = decodeIfstate(entries[0]!.key, entries[0]!.value!)!
    expect(s).toMatchObject({ifindex: 7, name: 'cali1a2b3c4d5e6', flags: ['workload', 'v4Ready'], ready: true, kind: 'workload'})
    expect(s.policy).toMatchObject({xdpV4: -1, ingressV4: 21, egressV4: 22})
    const v2 = Buffer.alloc(20)
    v2.writeUInt32LE(0x2)
    v2.write('eth0', 4)
    expect(decodeIfstate(e.key, v2)).toMatchObject({name: 'eth0', flags: ['ready'], ready: true, kind: 'host'})
    expect(decodeIfstate(e.key, Buffer.alloc(33))).toBeUndefined()
  })
})

describe('node verdict from the ifstate map', () => {
  const ifaces = (text: string) => parseIfstateText(text).interfaces
  it('programs attached somewhere: BPF ready, naming the interfaces still pending', () => {
    const v = verdictFromIfstate(ifaces(fixture('fmt-ifstate-v3.32.txt')), true)
    expect(v.verdict).toBe('bpf-ready')
    expect(v.reason).toBe('programs attached on 3/4 interfaces (2 host, 2 workload); not yet attached: cali9f8e7d6c5b4')
  })
  it('no map, or a map with nothing attached: configured but not attached (BPF on) or iptables (BPF off)', () => {
    expect(verdictFromIfstate(undefined, true).verdict).toBe('bpf-not-attached')
    expect(verdictFromIfstate(undefined, false).verdict).toBe('iptables')
    const none = ifaces('    9 : {flags: workload, name: cali9}\n')
    expect(verdictFromIfstate(none, true)).toMatchObject({verdict: 'bpf-not-attached', reason: expect.stringMatching(/none with programs attached/)})
    expect(verdictFromIfstate([], true).reason).toMatch(/empty/)
    expect(verdictFromIfstate(none, false).verdict).toBe('iptables')
  })
})
