import {describe, expect, it} from 'vitest'

import {
  parseConntrackJson,
  parseConntrackStatsJson,
  parseNatAffinityJson,
  parseNatDumpJson,
} from '../../../src/lib/maps/agent-json.js'
import {fe, fixture} from './helpers.js'

describe('nat dump --json', () => {
  it('flat (§1.5 example): src_cidr, flags string, null backends', () => {
    const r = parseNatDumpJson(fixture('doc-nat-dump.json'))
    expect(r.entries).toStrictEqual([
      fe('172.18.0.100', 80, 'tcp', 12, 0, 0, [], {
        flags: ['external-local', 'internal-local'],
        srcRange: '192.168.0.0/16',
      }),
    ])
    expect(r.errors).toStrictEqual([])
  })

  it('grouped: each frontend gets the group backends; "missing" backends; blackhole frontends get none', () => {
    const r = parseNatDumpJson(fixture('fmt-nat-dump-grouped.json'))
    expect(r.entries).toStrictEqual([
      fe('172.18.0.100', 80, 'tcp', 12, 2, 0, ['10.65.2.4:80'], {
        flags: ['external-local', 'internal-local'],
        srcRange: '192.168.0.0/16',
        missingBackends: 1,
        missingOrdinals: [1],
      }),
      fe('172.18.0.100', 80, 'tcp', 12, -1, 0, [], {blackhole: true}),
      fe('1.1.1.1', 80, 'tcp', 35, 2, 0, ['5.5.5.5:8080', '6.6.6.6:8080']),
      fe('10.0.0.1', 80, 'tcp', 35, 2, 0, ['5.5.5.5:8080', '6.6.6.6:8080']),
    ])
  })

  it('an empty map prints null', () => {
    const r = parseNatDumpJson('null\n')
    expect(r.entries).toStrictEqual([])
    expect(r.errors).toStrictEqual([])
  })

  it('noise before and after the document is skipped and counted; invalid JSON is an error', () => {
    const noisy = `Using config file: /root/.calico-bpf.yaml\n${fixture('doc-nat-dump.json')}2026-11-30 10:00:00.000 [INFO][1] x.go 1: done\n`
    const r = parseNatDumpJson(noisy)
    expect(r.entries).toHaveLength(1)
    expect(r.noiseLines).toBe(2)
    const bad = parseNatDumpJson('[\n  {\n    "frontend": {\n      "addr": "1.2.3.4",\n')
    expect(bad.entries).toStrictEqual([])
    expect(bad.errors).toStrictEqual(['the JSON output is not valid JSON (cut off?)'])
    expect(bad.truncatedLastLine).toBe(true)
    expect(parseNatDumpJson('level=error msg="Failed to dump NAT maps"\n').errors).toStrictEqual([
      'level=error msg="Failed to dump NAT maps"',
      'no JSON document in the output',
    ])
  })
})

describe('conntrack dump --json', () => {
  it('pretty JSON (§1.10): normal and nat, v4 flag names, null flags', () => {
    const r = parseConntrackJson(fixture('doc-ct-pretty.json'))
    expect(r.format).toBe('pretty')
    expect(r.entries).toStrictEqual([
      {
        proto: 'tcp',
        a: {ip: '10.65.0.2', port: 40000},
        b: {ip: '10.65.1.3', port: 8080},
        src: {ip: '10.65.0.2', port: 40000},
        dst: {ip: '10.65.1.3', port: 8080},
        type: 'normal',
        flags: [],
        keyOrderInferred: true,
        activeAgoSeconds: 1.5,
        tcpState: 'ESTABLISHED',
      },
      {
        proto: 'tcp',
        a: {ip: '10.65.2.4', port: 80},
        b: {ip: '192.168.1.50', port: 51000},
        src: {ip: '192.168.1.50', port: 51000},
        dst: {ip: '10.65.2.4', port: 80},
        type: 'nat-reverse',
        flags: ['np-fwd', 'host-psnat'],
        keyOrderInferred: true,
        origDst: {ip: '172.18.0.3', port: 30080},
        tunnelIp: '172.18.0.4',
        origSrcPort: 50999,
        activeAgoSeconds: 0.042,
        tcpState: 'RESET',
      },
    ])
  })

  it('raw JSON: key order, nat-forward rev key, B-A orientation, unknown(N) type, config-file line skipped', () => {
    const r = parseConntrackJson(fixture('fmt-ct-raw.json'))
    expect(r.format).toBe('raw')
    expect(r.noiseLines).toBe(1)
    expect(r.entries).toStrictEqual([
      {
        proto: 'tcp',
        a: {ip: '10.65.0.2', port: 40001},
        b: {ip: '10.96.0.10', port: 80},
        src: {ip: '10.65.0.2', port: 40001},
        dst: {ip: '10.96.0.10', port: 80},
        type: 'nat-forward',
        typeCode: 1,
        flags: [],
        natReverseKey: {proto: 'tcp', a: {ip: '10.65.0.2', port: 40001}, b: {ip: '10.65.1.3', port: 8080}},
        activeAgoSeconds: 3,
      },
      {
        proto: 'udp',
        a: {ip: '10.65.0.2', port: 53},
        b: {ip: '10.65.1.9', port: 41234},
        src: {ip: '10.65.1.9', port: 41234},
        dst: {ip: '10.65.0.2', port: 53},
        type: 'normal',
        typeCode: 0,
        flags: ['B-A'],
        activeAgoSeconds: 2.345,
      },
      {
        proto: 'sctp',
        a: {ip: '10.65.0.2', port: 5000},
        b: {ip: '10.65.0.9', port: 5000},
        src: {ip: '10.65.0.2', port: 5000},
        dst: {ip: '10.65.0.9', port: 5000},
        type: 'unknown',
        typeCode: 7,
        flags: [],
        activeAgoSeconds: 10,
      },
    ])
  })

  it('an element it cannot read is counted, not fatal', () => {
    const r = parseConntrackJson('[{"type":"normal","proto":"TCP","src":"bogus","dst":"10.0.0.1:1"}]')
    expect(r.entries).toStrictEqual([])
    expect(r.unknownLines).toBe(1)
  })
})

describe('nat aff --json and conntrack stats --json', () => {
  it('affinity entries with a duration timestamp', () => {
    const r = parseNatAffinityJson(fixture('fmt-nat-aff.json'))
    expect(r.entries).toStrictEqual([
      {
        clientIp: '10.0.0.1',
        frontend: {ip: '1.1.1.1', port: 80, proto: 'tcp'},
        backend: {ip: '5.5.5.5', port: 8080},
        timestampNs: '3723456789012',
      },
    ])
  })

  it('stats keys', () => {
    const r = parseConntrackStatsJson(fixture('fmt-ct-stats.json'))
    expect(r.entries).toStrictEqual([
      {
        mapSize: 512000,
        totalConnections: 6,
        totalEntries: 8,
        natConnections: 2,
        tcp: 4,
        udp: 1,
        others: 1,
        tcpEstablished: 3,
        tcpClosed: 0,
        tcpReset: 1,
        tcpSynSent: 0,
      },
    ])
  })
})
