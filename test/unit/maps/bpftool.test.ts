import {Readable} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {
  assembleNat,
  BpftoolDumpScanner,
  decodeAffinityDump,
  decodeConntrackDump,
  decodeCtEntry,
  decodeNatAffinity,
  decodeNatBackend,
  decodeNatDump,
  decodeNatFrontend,
  ipv6At,
  layoutFromInfo,
  newScanStats,
  scanBpftoolDump,
  liveMapIdsFrom,
  selectMaps,
  type BpfMapInfo,
} from '../../../src/lib/maps/index.js'
import type {ConntrackEntry} from '../../../src/lib/maps/model.js'

/** Bytes from a hex string with optional spaces/newlines, e.g. '0a 00 | 01'. `|` is a visual separator. */
const hex = (s: string): Uint8Array =>
  Uint8Array.from((s.replace(/[|\s]/g, '').match(/../g) ?? []).map((h) => parseInt(h, 16)))
const z = (n: number) => '00'.repeat(n)

/** A bpftool-style element text for key/value bytes. */
const el = (k: Uint8Array, v: Uint8Array) =>
  `{"key":[${Array.from(k, (b) => `"0x${b.toString(16).padStart(2, '0')}"`).join(',')}],"value":[${Array.from(v, (b) => `"0x${b.toString(16).padStart(2, '0')}"`).join(',')}]}`

// ---------------------------------------------------------------------------------------------------------------
// Hand-built entries, byte by byte from calico-bpf.md §2.6/§2.7.

const CT4_REV_KEY = hex('06000000 | 0a410002 | c0a80132 | 771f | 88e1')
const CT4_REV_VALUE = hex(
  z(8) + // rst_seen
    '0010a5d4e8000000' + // last_seen 1e12
    '02' + // type NAT_REV
    '04' + // flags bits 0-7: np-fwd
    '01' + // flags3 bits 16-23: 0x10000 maglev
    '00' + // flags4
    z(3) + // pad0
    '03' + // flags2 bits 8-15: B-A | host-psnat
    // a_to_b leg: bytes 1234, packets 10, seqno 0x01020304 (NBO), bits syn|ack|approved|opener, ifindex 7
    'd204000000000000' +
    '0a000000' +
    '01020304' +
    '33000000' +
    '07000000' +
    // b_to_a leg: bytes 5678, packets 9, seqno 0, bits syn|ack|fin|workload, ifindex 0
    '2e16000000000000' +
    '09000000' +
    '00000000' +
    '47000000' +
    '00000000' +
    'ac120004' + // tun_ip 172.18.0.4
    '0a60000a' + // orig_ip 10.96.0.10
    '5000' + // orig_port 80
    '37c7' + // orig_sport 50999
    '00000000', // orig_sip
)

const CT4_REV_ENTRY: ConntrackEntry = {
  proto: 'tcp',
  a: {ip: '10.65.0.2', port: 8055},
  b: {ip: '192.168.1.50', port: 57736},
  src: {ip: '192.168.1.50', port: 57736},
  dst: {ip: '10.65.0.2', port: 8055},
  type: 'nat-reverse',
  typeCode: 2,
  flags: ['np-fwd', 'B-A', 'host-psnat', 'maglev'],
  flagBits: 0x10304,
  lastSeenNs: '1000000000000',
  legs: {
    ab: {
      bytes: 1234,
      packets: 10,
      seqno: 0x01020304,
      syn: true,
      ack: true,
      fin: false,
      rst: false,
      approved: true,
      opener: true,
      workload: false,
      ifindex: 7,
    },
    ba: {
      bytes: 5678,
      packets: 9,
      seqno: 0,
      syn: true,
      ack: true,
      fin: true,
      rst: false,
      approved: false,
      opener: false,
      workload: true,
      ifindex: 0,
    },
  },
  origDst: {ip: '10.96.0.10', port: 80},
  origSrcPort: 50999,
  tunnelIp: '172.18.0.4',
  tcpState: 'ESTABLISHED',
}

const CT4_FWD_KEY = hex('06000000 | 0a410002 | 0a60000a | 419c | 5000')
const CT4_FWD_VALUE = hex(
  z(8) + '0500000000000000' + '01' + z(7) + '06000000 0a410002 0a410103 419c 901f' + '3412' + z(46),
)

describe('conntrack decoder on hand-built bytes', () => {
  it('ct4 NAT-reverse: every field, 32-bit flags from bytes 17/23/18/19, B-A orientation', () => {
    expect(CT4_REV_VALUE.length).toBe(88)
    expect(decodeCtEntry(CT4_REV_KEY, CT4_REV_VALUE, {layout: 'ct4'})).toStrictEqual(CT4_REV_ENTRY)
  })

  it('ct3 ignores bytes 18/19 (pad) and reads offset 0 as created by default', () => {
    const v = CT4_REV_VALUE.slice()
    v.set(hex('0100000000000000'), 0)
    const e = decodeCtEntry(CT4_REV_KEY, v, {layout: 'ct3'})
    expect(e.flagBits).toBe(0x304)
    expect(e.flags).toStrictEqual(['np-fwd', 'B-A', 'host-psnat'])
    expect(e.createdNs).toBe('1')
    expect(e.rstSeenNs).toBeUndefined()
    expect(decodeCtEntry(CT4_REV_KEY, v, {layout: 'ct3', offset0: 'rst-seen'}).rstSeenNs).toBe('1')
    expect(decodeCtEntry(CT4_REV_KEY, v, {layout: 'ct4'}).rstSeenNs).toBe('1')
  })

  it('ct4 NAT-forward: rev key overlay and nat_sport, no legs or state', () => {
    expect(CT4_FWD_VALUE.length).toBe(88)
    expect(decodeCtEntry(CT4_FWD_KEY, CT4_FWD_VALUE)).toStrictEqual({
      proto: 'tcp',
      a: {ip: '10.65.0.2', port: 40001},
      b: {ip: '10.96.0.10', port: 80},
      src: {ip: '10.65.0.2', port: 40001},
      dst: {ip: '10.96.0.10', port: 80},
      type: 'nat-forward',
      typeCode: 1,
      flags: [],
      flagBits: 0,
      lastSeenNs: '5',
      natReverseKey: {proto: 'tcp', a: {ip: '10.65.0.2', port: 40001}, b: {ip: '10.65.1.3', port: 8080}},
      natSrcPort: 0x1234,
    })
  })

  it('ct2 (64-byte value): 12-byte legs, orig/tun offsets, 16-bit flags, created', () => {
    const key = hex('11000000 | 0a000001 | 0a000002 | 3500 | 409c')
    const value = hex(
      '6400000000000000' +
        'c800000000000000' +
        '00' +
        '01' +
        z(5) +
        '01' +
        '00000001 30000000 03000000' + // a_to_b: seqno 1 (NBO), bits approved|opener, ifindex 3
        '00000000 10000000 00000000' + // b_to_a: approved
        '00000000 0000 0000' + // orig_ip, orig_port, orig_sport
        '0a000009' + // tun_ip
        '00000000', // orig_sip
    )
    expect(value.length).toBe(64)
    expect(decodeCtEntry(key, value, {layout: 'ct2'})).toStrictEqual({
      proto: 'udp',
      a: {ip: '10.0.0.1', port: 53},
      b: {ip: '10.0.0.2', port: 40000},
      src: {ip: '10.0.0.2', port: 40000},
      dst: {ip: '10.0.0.1', port: 53},
      type: 'normal',
      typeCode: 0,
      flags: ['nat-out', 'B-A'],
      flagBits: 0x101,
      lastSeenNs: '200',
      createdNs: '100',
      legs: {
        ab: {seqno: 1, syn: false, ack: false, fin: false, rst: false, approved: true, opener: true, ifindex: 3},
        ba: {seqno: 0, syn: false, ack: false, fin: false, rst: false, approved: true, opener: false, ifindex: 0},
      },
      tunnelIp: '10.0.0.9',
    })
  })

  it('ct4 IPv6 (40/128): addresses, orig at 88/104, RFC 5952 formatting', () => {
    const key = hex(
      '11000000' + 'fd000000000000000000000000000001' + 'fd000000000000000000000000000002' + '3500' + '409c',
    )
    const value = new Uint8Array(128)
    value[16] = 2
    value.set(hex('fd00009600000000000000000000000a'), 88)
    value.set(hex('3500'), 104)
    const e = decodeCtEntry(key, value)
    expect(e.a).toStrictEqual({ip: 'fd00::1', port: 53})
    expect(e.b).toStrictEqual({ip: 'fd00::2', port: 40000})
    expect(e.origDst).toStrictEqual({ip: 'fd00:96::a', port: 53})
    expect(e.tunnelIp).toBeUndefined()
    expect(e.tcpState).toBeUndefined()
  })

  it('activeAgoSeconds from nowNs; big u64 timestamps stay exact', () => {
    const v = CT4_REV_VALUE.slice()
    expect(decodeCtEntry(CT4_REV_KEY, v, {nowNs: 1_001_500_000_000n}).activeAgoSeconds).toBe(1.5)
    v.set(hex('0500000000000080'), 8) // 2^63 + 5
    expect(decodeCtEntry(CT4_REV_KEY, v).lastSeenNs).toBe('9223372036854775813')
  })

  it('rejects a value size that matches no layout', () => {
    expect(() => decodeCtEntry(CT4_REV_KEY, new Uint8Array(20))).toThrow(
      'conntrack value of 20 bytes matches no layout',
    )
  })

  it('ipv6At: zero runs, v4-mapped, no compression of a single zero group', () => {
    expect(ipv6At(new Uint8Array(16), 0)).toBe('::')
    expect(ipv6At(hex('00000000000000000000ffff0a000001'), 0)).toBe('10.0.0.1')
    expect(ipv6At(hex('20010db8000000010000000000000001'), 0)).toBe('2001:db8:0:1::1')
    expect(ipv6At(hex('20010db8000100010001000100010001'), 0)).toBe('2001:db8:1:1:1:1:1:1')
    expect(ipv6At(hex('20010db8000000010001000000000000'), 0)).toBe('2001:db8:0:1:1::')
    expect(ipv6At(hex('00010000000000010000000000000001'), 0)).toBe('1:0:0:1::1')
    expect(ipv6At(hex('00010000000000010000000000010001'), 0)).toBe('1::1:0:0:1:1') // tie: the first run
  })
})

describe('NAT decoders on hand-built bytes', () => {
  const FE_SRC_KEY = hex('48000000 | ac120064 | 5000 | 06 | c0a80000 | 00')
  const FE_SRC_VALUE = hex('0c000000 | 02000000 | 01000000 | 302a0000 | 03000000')

  it('fe3: prefixlen 72 → src /16, affinity seconds, flags', () => {
    expect(decodeNatFrontend(FE_SRC_KEY, FE_SRC_VALUE)).toStrictEqual({
      ip: '172.18.0.100',
      port: 80,
      proto: 'tcp',
      serviceId: 12,
      count: 2,
      localCount: 1,
      flags: ['external-local', 'internal-local'],
      flagBits: 3,
      affinityTimeoutSec: 10800,
      backends: [],
      srcRange: '192.168.0.0/16',
    })
  })

  it('blackhole count 0xffffffff, fe2 16-byte value, IPv6 key, unknown flag bit', () => {
    const bh = decodeNatFrontend(
      hex('38000000 ac120064 5000 06 00000000 00'),
      hex('0c000000 ffffffff 00000000 00000000 10000000'),
    )
    expect(bh.count).toBe(-1)
    expect(bh.blackhole).toBe(true)
    expect(bh.srcRange).toBeUndefined()
    expect(bh.flags).toStrictEqual(['0x10'])
    const fe2 = decodeNatFrontend(
      hex('38000000 0a600001 bb01 06 00000000 00'),
      hex('01000000 03000000 00000000 00000000'),
      'nat-fe2',
    )
    expect(fe2).toStrictEqual({
      ip: '10.96.0.1',
      port: 443,
      proto: 'tcp',
      serviceId: 1,
      count: 3,
      localCount: 0,
      flags: [],
      affinityTimeoutSec: 0,
      backends: [],
    })
    const v6 = decodeNatFrontend(
      hex('98000000' + 'fd00009600000000000000000000000a' + '3500' + '11' + z(16) + '00'),
      hex('04000000 01000000 00000000 00000000 00000000'),
      'nat-fe3-v6',
    )
    expect([v6.ip, v6.port, v6.proto, v6.serviceId, v6.srcRange]).toStrictEqual(['fd00:96::a', 53, 'udp', 4, undefined])
  })

  it('backend v4 and v6, affinity v4 and v6 (ts at offset 24)', () => {
    expect(decodeNatBackend(hex('0c000000 01000000'), hex('0a410204 5000 0000'))).toStrictEqual({
      serviceId: 12,
      ordinal: 1,
      ip: '10.65.2.4',
      port: 80,
    })
    expect(decodeNatBackend(hex('04000000 00000000'), hex('fd000010024400000000000000000005 3500 0000'))).toStrictEqual(
      {
        serviceId: 4,
        ordinal: 0,
        ip: 'fd00:10:244::5',
        port: 53,
      },
    )
    expect(
      decodeNatAffinity(hex('01010101 5000 06 00 0a000001 00000000'), hex('05050505 901f 0000 14ba51ef62030000')),
    ).toStrictEqual({
      clientIp: '10.0.0.1',
      frontend: {ip: '1.1.1.1', port: 80, proto: 'tcp'},
      backend: {ip: '5.5.5.5', port: 8080},
      timestampNs: '3723456789012',
    })
    const k6 = hex(
      'fd00009600000000000000000000000a' + '3500' + '11' + '00' + 'fd000000000000000000000000000001' + '00000000',
    )
    const v6 = hex('fd000010024400000000000000000005' + '3500' + '0000' + 'ffffffff' + '14ba51ef62030000')
    expect(decodeNatAffinity(k6, v6)).toStrictEqual({
      clientIp: 'fd00::1',
      frontend: {ip: 'fd00:96::a', port: 53, proto: 'udp'},
      backend: {ip: 'fd00:10:244::5', port: 53},
      timestampNs: '3723456789012',
    })
  })

  it('assembleNat: ordinals [0,count), holes, orphans, blackhole gets none', () => {
    const fes = [
      decodeNatFrontend(
        hex('38000000 0a600001 bb01 06 00000000 00'),
        hex('01000000 03000000 00000000 00000000 00000000'),
      ),
      decodeNatFrontend(
        hex('38000000 ac120064 5000 06 00000000 00'),
        hex('01000000 ffffffff 00000000 00000000 00000000'),
      ),
    ]
    const bes = [
      {serviceId: 1, ordinal: 0, ip: '10.0.0.20', port: 6443},
      {serviceId: 1, ordinal: 2, ip: '10.0.0.22', port: 6443},
      {serviceId: 1, ordinal: 3, ip: '10.0.0.23', port: 6443},
      {serviceId: 9, ordinal: 0, ip: '10.0.0.99', port: 1},
    ]
    const {frontends, orphanBackends} = assembleNat(fes, bes)
    expect(frontends[0]!.backends).toStrictEqual([
      {ordinal: 0, ip: '10.0.0.20', port: 6443},
      {ordinal: 2, ip: '10.0.0.22', port: 6443},
    ])
    expect(frontends[0]!.missingBackends).toBe(1)
    expect(frontends[0]!.missingOrdinals).toStrictEqual([1])
    expect(frontends[1]!.backends).toStrictEqual([])
    expect(orphanBackends).toStrictEqual([bes[2], bes[3]])
  })
})

describe('BpftoolDumpScanner', () => {
  const collect = (chunks: (string | Uint8Array)[]) => {
    const got: string[] = []
    const s = new BpftoolDumpScanner((k, v) =>
      got.push(`${Buffer.from(k).toString('hex')}/${Buffer.from(v).toString('hex')}`),
    )
    for (const c of chunks) s.push(c)
    return {got, stats: s.end()}
  }

  it('plain -j output', () => {
    const {got, stats} = collect([`[${el(hex('0102'), hex('0a0b'))},${el(hex('03'), hex('ff'))}]\n`])
    expect(got).toStrictEqual(['0102/0a0b', '03/ff'])
    expect(stats).toMatchObject({entries: 2, skipped: 0, errors: [], complete: true})
  })

  it('pretty output with BTF formatted objects (duplicate "" keys, nested arrays, escaped quotes and braces)', () => {
    const text = `[{
        "key": ["0x0a","0x00"
        ],
        "value": ["0x01","0x02","0x03"
        ],
        "formatted": {
            "key": {"addr": "0x0a", "s": "a \\" ] } [ { \\\\"},
            "value": {"": {"a": [1, [2, {"x": "]"}]]}, "": {"b": "\\\\\\""}, "key": ["0x99"], "value": ["0x98"]}
        }
    },{
        "key": ["0x0b"],
        "formatted": {"value": ["0x77"]},
        "value": ["0x0c"]
    }
]
`
    expect(collect([text]).got).toStrictEqual(['0a00/010203', '0b/0c'])
    // Every chunk boundary, byte by byte.
    const bytes = Buffer.from(text)
    const oneByOne = collect(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)))
    expect(oneByOne.got).toStrictEqual(['0a00/010203', '0b/0c'])
    expect(oneByOne.stats.bytes).toBe(bytes.length)
  })

  it('skips lookup-error elements, per-CPU values and empty keys; collects error strings', () => {
    const text =
      '[{"key":["0x01"],"value":{"error":"can\'t lookup element: No such file or directory"}},' +
      '{"key":["0x02"],"values":[{"cpu":0,"value":["0x01"]}]},' +
      '{"key":[],"value":["0x01"]},' +
      '{"key":["0x03"],"value":["0x04"],"extra":123,"flag":true,"n":null}]'
    const {got, stats} = collect([text])
    expect(got).toStrictEqual(['03/04'])
    expect(stats.skipped).toBe(3)
    const top = collect(['{"error":"bpf obj get (/sys/fs/bpf/tc/globals/cali_v4_ct4): No such file or directory"}\n'])
    expect(top.got).toStrictEqual([])
    expect(top.stats.errors).toStrictEqual([
      'bpf obj get (/sys/fs/bpf/tc/globals/cali_v4_ct4): No such file or directory',
    ])
    expect(top.stats.skipped).toBe(0)
  })

  it('ignores noise before the document and after it; tolerates unquoted numbers and uppercase hex', () => {
    const {got, stats} = collect([
      'libbpf: warning\n[{"key":[1,2,255],"value":["0X0A","0xFF"]}]\ntrailing {"key":["0x01"],"value":["0x01"]}',
    ])
    expect(got).toStrictEqual(['0102ff/0aff'])
    expect(stats.complete).toBe(true)
    expect(collect(['[]']).stats).toMatchObject({entries: 0, complete: true})
    expect(collect(['[{"key":["0x01"],"value":["0x0']).stats).toMatchObject({entries: 0, complete: false})
  })

  it('scanBpftoolDump reads a Node Readable', async () => {
    const got: number[] = []
    const stats = await scanBpftoolDump(
      Readable.from([Buffer.from('[' + el(hex('01'), hex('02'))), Buffer.from(']')]),
      (k) => got.push(k[0]!),
    )
    expect(got).toStrictEqual([1])
    expect(stats.entries).toBe(1)
  })
})

describe('stream decoders', () => {
  it('decodeConntrackDump yields batches per chunk and fills stats', async () => {
    const text = `[${el(CT4_REV_KEY, CT4_REV_VALUE)},${el(CT4_FWD_KEY, CT4_FWD_VALUE)},${el(CT4_FWD_KEY, hex('00'))}]`
    const half = Math.floor(text.length / 2)
    const stats = newScanStats()
    const batches: ConntrackEntry[][] = []
    for await (const b of decodeConntrackDump(Readable.from([text.slice(0, half), text.slice(half)]), {stats}))
      batches.push(b)
    const all = batches.flat()
    expect(all).toHaveLength(2)
    expect(all[0]).toStrictEqual(CT4_REV_ENTRY)
    expect(all[1]!.type).toBe('nat-forward')
    expect(stats).toMatchObject({entries: 2, skipped: 1, complete: true})
  })

  it('decodeNatDump and decodeAffinityDump', async () => {
    const fe = `[${el(hex('38000000 0a600001 bb01 06 00000000 00'), hex('00000000 02000000 00000000 00000000 00000000'))}]`
    const be = `[${el(hex('00000000 00000000'), hex('0a000014 2b19 0000'))},${el(hex('00000000 01000000'), hex('0a000015 2b19 0000'))}]`
    const r = await decodeNatDump({frontends: [fe], backends: [be]})
    expect(r.frontends).toStrictEqual([
      {
        ip: '10.96.0.1',
        port: 443,
        proto: 'tcp',
        serviceId: 0,
        count: 2,
        localCount: 0,
        flags: [],
        flagBits: 0,
        affinityTimeoutSec: 0,
        backends: [
          {ordinal: 0, ip: '10.0.0.20', port: 6443},
          {ordinal: 1, ip: '10.0.0.21', port: 6443},
        ],
      },
    ])
    expect(r.orphanBackends).toStrictEqual([])
    const aff = await decodeAffinityDump([
      `[${el(hex('01010101 5000 06 00 0a000001 00000000'), hex('05050505 901f 0000 0100000000000000'))}]`,
    ])
    expect(aff.entries[0]!.timestampNs).toBe('1')
  })
})

describe('selectMaps (§2.9)', () => {
  const info = (name: string, type: string, k: number, v: number, extra: Partial<BpfMapInfo> = {}): BpfMapInfo => ({
    id: 1,
    name,
    type,
    bytes_key: k,
    bytes_value: v,
    max_entries: 512000,
    ...extra,
  })

  it('highest suffix per family, confirmed by type and sizes; stale lower versions listed', () => {
    const show = [
      info('cali_v4_ct3', 'hash', 16, 88, {id: 10}),
      info('cali_v4_ct4', 'lru_hash', 16, 88, {id: 20}),
      info('cali_v4_ct_nats', 'lru_hash', 24, 8),
      info('cali_v4_ccq2', 'hash', 16, 16),
      info('cali_v4_nat_fe3', 'lpm_trie', 16, 20, {id: 30, max_entries: 65536}),
      info('cali_v4_nat_be', 'hash', 8, 8, {id: 31}),
      info('cali_v4_nat_aff', 'lru_hash', 16, 16, {id: 32}),
      info('cali_v6_ct4', 'lru_hash', 40, 128, {id: 40}),
    ]
    const sel = selectMaps({show})
    expect(sel.conntrack).toStrictEqual({
      layout: expect.objectContaining({id: 'ct4', name: 'cali_v4_ct4'}),
      path: '/sys/fs/bpf/tc/globals/cali_v4_ct4',
      id: 20,
      maxEntries: 512000,
      confirmed: true,
    })
    expect(sel.natFrontend?.layout.id).toBe('nat-fe3')
    expect(sel.natFrontend?.maxEntries).toBe(65536)
    expect(sel.natBackend?.layout.id).toBe('nat-be')
    expect(sel.natAffinity?.layout.id).toBe('nat-aff')
    expect(sel.stale).toStrictEqual(['cali_v4_ct3'])
    expect(sel.warnings).toStrictEqual([])
    expect(selectMaps({show, ipv6: true}).conntrack?.layout.id).toBe('ct4-v6')
  })

  it('with the ids loaded programs use: the live version wins over a higher stale one (§2.9 step 3)', () => {
    const show = [info('cali_v4_ct3', 'hash', 16, 88, {id: 10}), info('cali_v4_ct4', 'lru_hash', 16, 88, {id: 20})]
    const live = selectMaps({show, liveMapIds: new Set([10, 99])})
    expect(live.conntrack).toMatchObject({layout: {id: 'ct3'}, id: 10, live: true})
    expect(live.stale).toStrictEqual(['cali_v4_ct4'])
    expect(live.warnings).toStrictEqual([
      'cali_v4_ct4: also pinned but used by no loaded BPF program (left over from an upgrade or downgrade); reading cali_v4_ct3, which is in use',
    ])
    const none = selectMaps({show, liveMapIds: new Set()})
    expect(none.conntrack).toMatchObject({layout: {id: 'ct4'}, live: false})
    expect(none.warnings).toStrictEqual([
      'cali_v4_ct4, cali_v4_ct3: no loaded BPF program uses any of them; reading cali_v4_ct4',
    ])
    // One version only: no warning either way.
    expect(selectMaps({show: [show[1]!], liveMapIds: new Set()}).warnings).toStrictEqual([])
  })

  it('liveMapIdsFrom reads map_ids from `bpftool -j prog show`', () => {
    const out = JSON.stringify([
      {id: 737, type: 'socket_filter', name: 'rig_calico_prog', map_ids: [248, 249]},
      {id: 12, type: 'cgroup_skb', name: 'sd_fw_egress'},
      {id: 900, type: 'sched_cls', name: 'calico_tc_main', map_ids: [249, 301]},
    ])
    expect([...liveMapIdsFrom(out)!].sort((a, b) => a - b)).toStrictEqual([248, 249, 301])
    expect(liveMapIdsFrom('[]')).toStrictEqual(new Set())
    expect(liveMapIdsFrom('Error: no BTF')).toBeUndefined()
  })

  it('a candidate with the wrong type or sizes is rejected and the next version used', () => {
    const sel = selectMaps({show: [info('cali_v4_ct4', 'hash', 16, 64), info('cali_v4_ct3', 'hash', 16, 88)]})
    expect(sel.conntrack?.layout.id).toBe('ct3')
    expect(sel.warnings).toStrictEqual(['cali_v4_ct4: expected lru_hash/16/88, found hash/16/64; ignored'])
  })

  it('listing only: by name, unconfirmed; *_old and prefix look-alikes ignored', () => {
    const sel = selectMaps({
      listing: [
        '/sys/fs/bpf/tc/globals/cali_v4_ct2',
        'cali_v4_ct3',
        'cali_v4_ct3_old',
        'cali_v4_ct_nats',
        'cali_v4_nat_fe2',
        'cali_v4_nat_fe',
      ],
    })
    expect(sel.conntrack).toMatchObject({layout: {id: 'ct3'}, confirmed: false})
    expect(sel.natFrontend).toMatchObject({layout: {id: 'nat-fe2'}, confirmed: false})
    expect(sel.stale).toStrictEqual(['cali_v4_ct2'])
    expect(sel.warnings).toStrictEqual(['cali_v4_nat_fe: no known layout for this map version'])
  })

  it('listing + show: prefers the map pinned at the global path among same-named maps', () => {
    const sel = selectMaps({
      listing: ['cali_v4_ct4'],
      show: [
        info('cali_v4_ct4', 'lru_hash', 16, 88, {id: 50}),
        info('cali_v4_ct4', 'lru_hash', 16, 88, {id: 7, pinned: ['/sys/fs/bpf/tc/globals/cali_v4_ct4']}),
      ],
    })
    expect(sel.conntrack?.id).toBe(7)
    expect(sel.warnings).toStrictEqual([])
  })

  it('layoutFromInfo', () => {
    expect(layoutFromInfo(info('x', 'lru_hash', 16, 88))?.id).toBe('ct4')
    expect(layoutFromInfo(info('cali_v4_ct3', 'hash', 16, 88))?.id).toBe('ct3')
    expect(layoutFromInfo(info('x', 'hash', 8, 8))?.id).toBe('nat-be')
    expect(layoutFromInfo(info('x', 'hash', 99, 8))).toBeUndefined()
  })
})
