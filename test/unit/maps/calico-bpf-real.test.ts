/**
 * Outputs of Calico's own calico-bpf (v3.32.1, built from the tag) run against real pinned maps that we filled with
 * our encoders (test/fixtures/bpf/calico-bpf: make-batches.ts, capture.sh, SOURCE.md). Each parser must read back what
 * went into the maps, text and --json alike, and ebpfctl's own decoding of the same bytes must agree with Calico's.
 */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {CT_CANDIDATE_PATHS} from '../../../src/lib/dataplane/ct-count.js'
import {readConntrackStats} from '../../../src/lib/dataplane/conntrack-stats.js'
import type {DataplaneReadOptions} from '../../../src/lib/dataplane/read-maps.js'
import {parseConntrackJson, parseConntrackStatsJson, parseNatAffinityJson, parseNatDumpJson} from '../../../src/lib/maps/agent-json.js'
import {countersFromMap, parseCountersJson, parseCountersText} from '../../../src/lib/maps/counters.js'
import {parseConntrackStatsText} from '../../../src/lib/maps/ct-stats-text.js'
import {parseConntrackText} from '../../../src/lib/maps/ct-text.js'
import {decodeIfstate, parseIfstateJson, parseIfstateText} from '../../../src/lib/maps/ifstate.js'
import {parseMaglevJson, parseMaglevText} from '../../../src/lib/maps/maglev.js'
import type {ConntrackEntry, NatAffinityEntry, NatFrontend} from '../../../src/lib/maps/model.js'
import {parseNatAffinityText} from '../../../src/lib/maps/nat-text.js'
import type {NodeRunner, RunOptions, RunResult} from '../../../src/lib/nodes/types.js'
import {encodeIfstate} from '../../support/map-encoders.js'

const dir = fileURLToPath(new URL('../../fixtures/bpf/calico-bpf/', import.meta.url))
const text = (name: string) => readFileSync(dir + name, 'utf8')
const json = <T>(name: string): T => JSON.parse(text(name)) as T
const clean = {unknownLines: 0, errors: [], noiseLines: 0, truncatedLastLine: false}

describe('calico-bpf v3.32.1 on real maps: conntrack stats', () => {
  // ../bpftool/ct4.batch: 17 entries, 3 of them NAT-forward (14 connections: 12 TCP, 2 UDP).
  const want = {
    mapSize: 1024,
    totalConnections: 14,
    totalEntries: 17,
    natConnections: 3,
    tcp: 12,
    udp: 2,
    others: 0,
    tcpEstablished: 9,
    tcpClosed: 1,
    tcpReset: 2,
    tcpSynSent: 0,
  }

  it('text and --json give the same numbers', () => {
    expect(parseConntrackStatsText(text('ct-stats.txt'))).toMatchObject({...clean, entries: [want]})
    expect(parseConntrackStatsJson(text('ct-stats.json'))).toMatchObject({...clean, entries: [want]})
  })

  it("counting the same map with bpftool (no agent) gives Calico's numbers: protocols of connections, not of entries", async () => {
    // What ebpfctl's one-command count prints on that node: bpftool's batch JSON of the listing and the dump (all
    // real bpftool output of the captured map; the listing is bpftool's one object, in the array the full listing
    // would be).
    const stdout =
      `[{"command":["map","show"],"output":[${text('bpftool-map-show-ct4.json').trim()}]},` +
      `{"command":["map","dump","pinned","${CT_CANDIDATE_PATHS[0]}"],"output":${text('bpftool-ct4.json').trim()}}]\n`
    const runner: NodeRunner = {
      via: 'ssh',
      async run(_node, _argv, o: RunOptions): Promise<RunResult> {
        o.onStdout?.(Buffer.from(stdout))
        return {stdout: o.onStdout ? '' : stdout, stderr: '', exitCode: 0}
      },
      async close() {},
    }
    const opts: DataplaneReadOptions = {source: 'bpftool', timeoutMs: 1000, agentReachable: false}
    const s = await readConntrackStats(runner, {name: 'node-1'}, opts)
    expect(s).toMatchObject({
      method: 'counted-dump',
      mapSize: want.mapSize,
      entries: want.totalEntries,
      connections: want.totalConnections,
      natConnections: want.natConnections,
      byProto: {tcp: want.tcp, udp: want.udp, other: want.others},
      tcp: {established: want.tcpEstablished, closed: want.tcpClosed, reset: want.tcpReset, synSent: want.tcpSynSent},
    })
  })
})

describe('calico-bpf v3.32.1 on real maps: conntrack dump', () => {
  const line = (e: ConntrackEntry) => `${e.type} ${e.proto} ${e.src?.ip}:${e.src?.port} ${e.dst?.ip}:${e.dst?.port} ${e.tcpState ?? '-'}`

  it('pretty text and --json list the same 14 connections (NAT-forward entries hidden)', () => {
    const t = parseConntrackText(text('ct-dump.txt'))
    const j = parseConntrackJson(text('ct-dump.json'))
    expect(t).toMatchObject({unknownLines: 0, errors: []})
    expect(j).toMatchObject({unknownLines: 0, errors: []})
    expect(t.entries).toHaveLength(14)
    expect(j.entries.map(line).sort()).toStrictEqual(t.entries.map(line).sort())
    const byType = (l: ConntrackEntry[]) => l.reduce<Record<string, number>>((m, e) => ({...m, [e.type]: (m[e.type] ?? 0) + 1}), {})
    expect(byType(t.entries)).toStrictEqual({normal: 11, 'nat-reverse': 3})
    expect(t.entries.filter((e) => e.type === 'nat-reverse').every((e) => e.origDst)).toBe(true)
  })
})

describe('calico-bpf v3.32.1 on real maps: nat aff', () => {
  const input = json<NatAffinityEntry[]>('nat-aff.input.json')
  const key = (e: NatAffinityEntry) => `${e.clientIp} ${e.frontend.ip}`
  const v4 = input.filter((e) => !e.clientIp.includes(':')).sort((a, b) => key(a).localeCompare(key(b)))

  it('text (`client … ts <Go duration>`, then a blank line) and --json read back the entries, timestamps to the ns', () => {
    for (const r of [parseNatAffinityText(text('nat-aff.txt')), parseNatAffinityJson(text('nat-aff.json'))]) {
      expect(r).toMatchObject(clean)
      expect([...r.entries].sort((a, b) => key(a).localeCompare(key(b)))).toStrictEqual(v4)
    }
  })

  it('-6 on v3.32.1 prints what its IPv6 decoder misreads (fixed by projectcalico/calico#13318): parsed as printed', () => {
    // The map holds client fd00:10:244::7, proto 17, ts 5s; v3.32.1 reads 4 bytes of the client address, the v4
    // offset for the protocol and the timestamp 4 bytes early.
    const r = parseNatAffinityText(text('nat-aff-v6.txt'))
    expect(r).toMatchObject(clean)
    expect(r.entries).toStrictEqual([
      {
        clientIp: '253.0.0.16',
        frontend: {ip: 'fd00:96::a', port: 53, proto: 0},
        backend: {ip: 'fd00:10:244::5', port: 53},
        timestampNs: '3028092406290448384',
      },
    ])
  })
})

describe('calico-bpf v3.32.1 on real maps: nat maglev', () => {
  const input = json<{serviceId: number; ordinal: number; backend: {ip: string; port: number}}[]>('maglev.input.json')

  it('text and --json, sorted by service and ordinal; -6 brackets the backend', () => {
    const v4 = input.filter((e) => !e.backend.ip.includes(':'))
    for (const r of [parseMaglevText(text('nat-maglev.txt')), parseMaglevJson(text('nat-maglev.json'))]) {
      expect(r).toStrictEqual({entries: v4, unknown: [], noise: 0, errors: []})
    }
    expect(parseMaglevText(text('nat-maglev-v6.txt')).entries).toStrictEqual(input.filter((e) => e.backend.ip.includes(':')))
  })
})

describe('calico-bpf v3.32.1 on real maps: ifstate dump', () => {
  const input = json<{ifindex: number; flags: number; name: string; ids: number[]}[]>('ifstate.input.json')
  // Our decoding of the very bytes we loaded: the agent's text and JSON must say the same.
  const fromBytes = input
    .map((e) => {
      const b = encodeIfstate(e.ifindex, e.flags, e.name, e.ids)
      return decodeIfstate(b.key, b.value)!
    })
    .sort((a, b) => a.ifindex - b.ifindex)

  it('text and --json match the map bytes: flags (0 is "host"), readiness, kind, policy indexes', () => {
    for (const r of [parseIfstateText(text('ifstate.txt')), parseIfstateJson(text('ifstate.json'))]) {
      expect(r).toMatchObject({unknown: [], noise: 0, errors: []})
      expect([...r.interfaces].sort((a, b) => a.ifindex - b.ifindex)).toStrictEqual(fromBytes)
    }
    const byName = Object.fromEntries(fromBytes.map((i) => [i.name, i]))
    expect(byName['bond0']).toMatchObject({flags: ['host'], ready: false, kind: 'host'})
    expect(byName['calie7f8a9b0c1d']).toMatchObject({flags: ['workload'], ready: false, kind: 'workload'})
    expect(byName['wireguard.cali']).toMatchObject({flags: ['v4Ready', 'v6Ready', 'wg'], ready: true, policy: {ingressV6: 10, egressV6: 11}})
  })
})

describe('calico-bpf v3.32.1 on real maps: counters dump', () => {
  const input = json<{ifindex: number; hook: number; values: Record<string, number>}[]>('counters.input.json')
  const names: Record<number, string> = {2: 'eth0', 3: 'cali1a2b3c4d5e6'}
  // bpftool gave both possible CPUs of the capture machine the same value; Calico sums them.
  const cpus = 2
  const fromBytes = countersFromMap(
    input.map((e) => {
      const key = new Uint8Array(8)
      new DataView(key.buffer).setUint32(0, e.ifindex, true)
      new DataView(key.buffer).setUint32(4, e.hook, true)
      const value = new Uint8Array(216)
      for (const [i, n] of Object.entries(e.values)) new DataView(value.buffer).setBigUint64(8 * Number(i), BigInt(n), true)
      return {key, values: Array.from({length: cpus}, () => value)}
    }),
    (i) => names[i],
  )
  const rows = (l: {interface: string; counters: object[]}[]) =>
    l.map((i) => ({interface: i.interface, counters: i.counters.filter((c) => (c as {category: string}).category !== 'Reserved').map((c) => JSON.stringify(c)).sort()}))

  it('--json and the tablewriter text (wrapped TYPEs) give the same rows; lo has no counters (null / N/A)', () => {
    const j = parseCountersJson(text('counters.json'))
    const t = parseCountersText(text('counters.txt'))
    expect(j.unknown).toBe(0)
    expect(t).toMatchObject({unknown: 0, noise: 0, errors: [], truncatedLastLine: false})
    expect(j.interfaces.map((i) => i.interface)).toStrictEqual(['lo', 'eth0', 'cali1a2b3c4d5e6'])
    expect(rows(t.interfaces)).toStrictEqual(rows(j.interfaces))
    expect(j.interfaces[0]!.counters).toHaveLength(26)
    expect(j.interfaces[0]!.counters.every((c) => c.ingress === undefined && c.egress === undefined && c.xdp === undefined)).toBe(true)
    expect(j.interfaces[2]!.counters.find((c) => c.type === 'QoS control limit')).toStrictEqual({category: 'Dropped', type: 'QoS control limit', ingress: 4, egress: 0})
  })

  it("our decoding of the map bytes names every counter as Calico's own table does", () => {
    const j = parseCountersJson(text('counters.json'))
    expect(rows(fromBytes)).toStrictEqual(rows(j.interfaces.filter((i) => i.interface !== 'lo')))
    expect(parseCountersText(text('counters-eth0.txt')).interfaces.map((i) => i.interface)).toStrictEqual(['eth0'])
  })
})

describe('calico-bpf v3.32.1 on real maps: nat dump --json', () => {
  it('frontends with their backends; flags as one comma-joined string, missing backends, blackhole and src-range keys', () => {
    const r = parseNatDumpJson(text('nat-dump.json'))
    expect(r).toMatchObject({unknownLines: 0, errors: []})
    const input = json<NatFrontend[]>('../bpftool/nat.input.json').filter((f) => !f.ip.includes(':'))
    const k = (f: NatFrontend) => `${f.ip}|${f.port}|${f.proto}|${f.srcRange ?? ''}`
    const pick = (f: NatFrontend) => ({
      key: k(f),
      serviceId: f.serviceId,
      count: f.count,
      localCount: f.localCount,
      flags: f.flags,
      backends: f.backends,
    })
    const sort = (l: NatFrontend[]) => l.map(pick).sort((a, b) => a.key.localeCompare(b.key))
    expect(sort(r.entries)).toStrictEqual(sort(input))
    expect(r.entries.find((f) => f.ip === '10.96.0.10')).toMatchObject({flags: ['nat-exclude', 'maglev'], backends: []})
    expect(r.entries.find((f) => f.ip === '172.18.0.3')).toMatchObject({missingBackends: 2, missingOrdinals: [0, 1]})
  })
})

describe('calico-bpf from master (87c15906f2, 2026-08-22) on the same maps', () => {
  const master = (name: string) => text(`master/${name}`)

  it('counters dump: the go-pretty table (no wrapped TYPEs) reads as its --json, which is byte-identical to v3.32.1', () => {
    const t = parseCountersText(master('counters.txt'))
    expect(t).toMatchObject({unknown: 0, noise: 0, errors: [], truncatedLastLine: false})
    expect(t.interfaces).toStrictEqual(parseCountersJson(master('counters.json')).interfaces)
    expect(master('counters.json')).toBe(text('counters.json'))
    const eth0 = parseCountersText(master('counters-eth0.txt')).interfaces
    expect(eth0.map((i) => i.interface)).toStrictEqual(['eth0'])
    expect(eth0[0]!.counters.find((c) => c.type === 'Maglev lookup found no backends for service IP')).toStrictEqual({
      category: 'Dropped',
      type: 'Maglev lookup found no backends for service IP',
      ingress: 0,
      egress: 0,
      xdp: 0,
    })
  })

  it('-6 nat aff after the fix prints the IPv6 entry the map holds', () => {
    expect(parseNatAffinityText(master('nat-aff-v6.txt'))).toMatchObject({
      ...clean,
      entries: [json<NatAffinityEntry[]>('nat-aff.input.json').find((e) => e.clientIp.includes(':'))],
    })
  })

  it('ifstate dump: the same interfaces as v3.32.1 (hash order aside)', () => {
    const sort = (r: ReturnType<typeof parseIfstateText>) => [...r.interfaces].sort((a, b) => a.ifindex - b.ifindex)
    expect(sort(parseIfstateText(master('ifstate.txt')))).toStrictEqual(sort(parseIfstateText(text('ifstate.txt'))))
    expect(sort(parseIfstateJson(master('ifstate.json')))).toStrictEqual(sort(parseIfstateJson(text('ifstate.json'))))
  })
})
