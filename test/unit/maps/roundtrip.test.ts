import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {
  decodeConntrackDump,
  decodeCtEntry,
  decodeNatAffinity,
  decodeNatDump,
  ipv4At,
  ipv6At,
  MAP_LAYOUTS,
  scanBpftoolDump,
  type MapLayoutId,
} from '../../../src/lib/maps/index.js'
import {
  ctFlagNames,
  natFlagNames,
  protoFromNumber,
  tcpStateOf,
  type ConntrackEntry,
  type CtLeg,
  type NatFrontend,
} from '../../../src/lib/maps/model.js'
import {
  encodeCtEntry,
  encodeCtKey,
  encodeCtValue,
  encodeNatAffinity,
  encodeNatMaps,
  ipBytes,
  renderBpftoolBatch,
  renderBpftoolDumpChunks,
  renderBpftoolDumpJson,
} from '../../support/map-encoders.js'

const u64 = fc.bigInt({min: 0n, max: (1n << 64n) - 1n})
const u32 = fc.integer({min: 0, max: 0xffffffff})
const u16 = fc.integer({min: 0, max: 0xffff})
const ipv4 = fc.uint8Array({minLength: 4, maxLength: 4}).map((b) => ipv4At(b, 0))
const ipv4NonZero = ipv4.filter((ip) => ip !== '0.0.0.0')
// IPv6 in fd00::/8 so that it never formats as a v4-mapped dotted quad.
const ipv6 = fc.uint8Array({minLength: 15, maxLength: 15}).map((b) => ipv6At(Uint8Array.from([0xfd, ...b]), 0))
const protoNum = fc.oneof(fc.constantFrom(1, 6, 17, 58, 132), fc.integer({min: 0, max: 255}))

function legArb(v2: boolean): fc.Arbitrary<CtLeg> {
  const bools = fc.tuple(
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
  )
  return fc
    .record({bytes: fc.maxSafeNat(), packets: u32, seqno: u32, bits: bools, ifindex: u32})
    .map(({bytes, packets, seqno, bits: [syn, ack, fin, rst, approved, opener, workload], ifindex}) =>
      v2
        ? {seqno, syn, ack, fin, rst, approved, opener, ifindex}
        : {bytes, packets, seqno, syn, ack, fin, rst, approved, opener, workload, ifindex},
    )
}

/** A conntrack entry exactly as the decoder produces it for `layout`. */
function ctEntryArb(layout: MapLayoutId): fc.Arbitrary<ConntrackEntry> {
  const l = MAP_LAYOUTS[layout]
  const ip = l.ipv6 ? ipv6 : ipv4
  const ipNZ = l.ipv6 ? ipv6.filter((x) => x !== '::') : ipv4NonZero
  const v2 = l.valueSize === 64
  const isCt4 = layout === 'ct4' || layout === 'ct4-v6'
  const ep = fc.record({ip, port: u16}, {noNullPrototype: true})
  return fc
    .record({
      proto: protoNum,
      a: ep,
      b: ep,
      typeCode: fc.constantFrom(0, 0, 1, 2, 2, 3),
      flagBits: isCt4 ? u32 : u16,
      lastSeen: u64,
      word0: fc.oneof(fc.constant(0n), u64),
      ab: legArb(v2),
      ba: legArb(v2),
      origDst: fc.option(fc.record({ip: ipNZ, port: u16}, {noNullPrototype: true}), {nil: undefined}),
      origSrcPort: u16,
      tunnelIp: fc.option(ipNZ, {nil: undefined}),
      origSrcIp: fc.option(ipNZ, {nil: undefined}),
      rev: fc.record({proto: protoNum, a: ep, b: ep}),
      natSrcPort: u16,
    })
    .map((r) => {
      const type = (['normal', 'nat-forward', 'nat-reverse', 'unknown'] as const)[r.typeCode]!
      const ba = (r.flagBits & 0x100) !== 0
      const e: ConntrackEntry = {
        proto: protoFromNumber(r.proto),
        a: r.a,
        b: r.b,
        src: ba ? r.b : r.a,
        dst: ba ? r.a : r.b,
        type,
        typeCode: r.typeCode,
        flags: ctFlagNames(r.flagBits),
        flagBits: r.flagBits,
        lastSeenNs: r.lastSeen.toString(),
      }
      if (r.word0 !== 0n) {
        if (isCt4) e.rstSeenNs = r.word0.toString()
        else e.createdNs = r.word0.toString()
      }
      if (type === 'nat-forward') {
        e.natReverseKey = {proto: protoFromNumber(r.rev.proto), a: r.rev.a, b: r.rev.b}
        e.natSrcPort = r.natSrcPort
        return e
      }
      e.legs = {ab: r.ab, ba: r.ba}
      if (type === 'nat-reverse' && r.origDst) e.origDst = r.origDst
      if (r.origSrcPort) e.origSrcPort = r.origSrcPort
      if (r.tunnelIp) e.tunnelIp = r.tunnelIp
      if (r.origSrcIp) e.origSrcIp = r.origSrcIp
      if (e.proto === 'tcp') e.tcpState = tcpStateOf(r.ab, r.ba, r.flagBits)
      return e
    })
}

async function decodeAll(text: string | string[], layout: MapLayoutId): Promise<ConntrackEntry[]> {
  const out: ConntrackEntry[] = []
  for await (const batch of decodeConntrackDump(Array.isArray(text) ? text : [text], {layout})) out.push(...batch)
  return out
}

describe('round trips: model → bytes → bpftool JSON → model', () => {
  for (const layout of ['ct4', 'ct3', 'ct2', 'ct4-v6', 'ct3-v6'] as const) {
    it(`conntrack ${layout}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(ctEntryArb(layout), {maxLength: 8}),
          fc.boolean(),
          fc.boolean(),
          async (entries, pretty, formatted) => {
            const bytes = entries.map((e) => encodeCtEntry(e, layout))
            for (const b of bytes) {
              expect(b.key.length).toBe(MAP_LAYOUTS[layout].keySize)
              expect(b.value.length).toBe(MAP_LAYOUTS[layout].valueSize)
            }
            const decoded = await decodeAll(renderBpftoolDumpJson(bytes, {pretty, formatted}), layout)
            expect(decoded).toStrictEqual(entries)
          },
        ),
        {numRuns: 150},
      )
    })
  }

  it('NAT frontends + backends (fe3, v4 and v6, src ranges, blackholes, holes)', async () => {
    const feArb = (i: number) =>
      fc
        .record({
          v6: fc.boolean(),
          ip4: ipv4,
          ip6: ipv6,
          port: u16,
          proto: protoNum,
          count: fc.integer({min: 0, max: 5}),
          local: u32,
          aff: u32,
          flagBits: u32,
          blackhole: fc.boolean(),
          src: fc.option(fc.tuple(ipv4, fc.integer({min: 1, max: 32})), {nil: undefined}),
          present: fc.array(fc.boolean(), {minLength: 5, maxLength: 5}),
          be4: fc.array(fc.record({ip: ipv4, port: u16}, {noNullPrototype: true}), {minLength: 5, maxLength: 5}),
          be6: fc.array(fc.record({ip: ipv6, port: u16}, {noNullPrototype: true}), {minLength: 5, maxLength: 5}),
        })
        .map((r): NatFrontend => {
          const blackhole = r.blackhole && r.count === 0
          const fe: NatFrontend = {
            ip: r.v6 ? r.ip6 : r.ip4,
            port: r.port,
            proto: protoFromNumber(r.proto),
            serviceId: i,
            count: blackhole ? -1 : r.count,
            localCount: r.local,
            flags: natFlagNames(r.flagBits),
            flagBits: r.flagBits,
            affinityTimeoutSec: r.aff,
            backends: [],
          }
          if (r.src && !r.v6) fe.srcRange = `${r.src[0]}/${r.src[1]}`
          if (blackhole) fe.blackhole = true
          for (let o = 0; o < fe.count; o++) {
            if (r.present[o]) fe.backends.push({ordinal: o, ...(r.v6 ? r.be6[o]! : r.be4[o]!)})
            else {
              fe.missingBackends = (fe.missingBackends ?? 0) + 1
              ;(fe.missingOrdinals ??= []).push(o)
            }
          }
          return fe
        })
    await fc.assert(
      fc.asyncProperty(
        fc.integer({min: 0, max: 6}).chain((n) => fc.tuple(...Array.from({length: n}, (_, i) => feArb(i)))),
        fc.boolean(),
        async (fes, formatted) => {
          const maps = encodeNatMaps(fes)
          const r = await decodeNatDump({
            frontends: [renderBpftoolDumpJson(maps.frontends, {formatted})],
            backends: [renderBpftoolDumpJson(maps.backends, {pretty: true})],
          })
          expect(r.frontends).toStrictEqual(fes)
          expect(r.orphanBackends).toStrictEqual([])
        },
      ),
      {numRuns: 200},
    )
  })

  it('NAT affinity v4 and v6', () => {
    fc.assert(
      fc.property(fc.boolean(), ipv4, ipv6, ipv4, ipv6, u16, protoNum, u64, (v6, c4, c6, s4, s6, port, proto, ts) => {
        const e = {
          clientIp: v6 ? c6 : c4,
          frontend: {ip: v6 ? s6 : s4, port, proto: protoFromNumber(proto)},
          backend: {ip: v6 ? s6 : c4, port: 65535 - port},
          timestampNs: ts.toString(),
        }
        const b = encodeNatAffinity(e)
        expect(b.key.length).toBe(v6 ? 40 : 16)
        expect(b.value.length).toBe(v6 ? 32 : 16)
        expect(decodeNatAffinity(b.key, b.value)).toStrictEqual(e)
      }),
      {numRuns: 300},
    )
  })
})

describe('round trips: bytes → model → bytes', () => {
  for (const layout of ['ct4', 'ct4-v6'] as const) {
    it(`canonical ${layout} values survive decode/encode byte for byte`, () => {
      const l = MAP_LAYOUTS[layout]
      fc.assert(
        fc.property(
          fc.uint8Array({minLength: l.keySize, maxLength: l.keySize}),
          fc.uint8Array({minLength: l.valueSize, maxLength: l.valueSize}),
          fc.constantFrom(0, 1, 2, 5),
          fc.constantFrom(1, 6, 17, 132),
          (key, value, type, proto) => {
            key.fill(0, 0, 4)
            key[0] = proto
            value[16] = type
            value.fill(0, 20, 23) // pad0
            const v6 = l.ipv6
            if (type === 1)
              value.fill(0, v6 ? 66 : 42) // pad2 after nat_sport
            else if (v6) value.fill(0, 124) // tail padding
            if (type === 1)
              value.fill(0, 24, 28).set([proto], 24) // rev key proto u32
            else {
              // leg bitfields carry 7 bits (syn … workload); the rest of the u32 is padding
              for (const o of [40, 64]) {
                value[o] = value[o]! & 0x7f
                value.fill(0, o + 1, o + 4)
              }
              // leg byte counters are numbers: exact below 2^53 (9 PB), which real counters never reach
              for (const o of [24, 48]) {
                value[o + 7] = 0
                value[o + 6] = value[o + 6]! & 0x1f
              }
            }
            if (type !== 2) {
              // orig_ip/orig_port only survive on NAT-reverse entries
              if (type !== 1) value.fill(0, v6 ? 88 : 76, v6 ? 106 : 82)
            } else {
              const ipEnd = v6 ? 104 : 80
              const zeroIp = value.subarray(v6 ? 88 : 76, ipEnd).every((b) => b === 0)
              if (zeroIp) value.fill(0, ipEnd, ipEnd + 2)
            }
            const e = decodeCtEntry(key, value, {layout})
            expect(Buffer.from(encodeCtKey(e)).toString('hex')).toBe(Buffer.from(key).toString('hex'))
            expect(Buffer.from(encodeCtValue(e, layout)).toString('hex')).toBe(Buffer.from(value).toString('hex'))
          },
        ),
        {numRuns: 300},
      )
    })
  }
})

describe('scanner chunking and encoders', () => {
  it('any chunking of a dump yields the same entries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(ctEntryArb('ct4'), {minLength: 1, maxLength: 5}),
        fc.array(fc.integer({min: 1, max: 97}), {minLength: 1, maxLength: 30}),
        async (entries, cuts) => {
          const text = renderBpftoolDumpJson(
            entries.map((e) => encodeCtEntry(e)),
            {pretty: true, formatted: true},
          )
          const chunks: string[] = []
          let i = 0
          let c = 0
          while (i < text.length) {
            const n = cuts[c++ % cuts.length]!
            chunks.push(text.slice(i, i + n))
            i += n
          }
          expect(await decodeAll(chunks, 'ct4')).toStrictEqual(entries)
        },
      ),
      {numRuns: 100},
    )
  })

  it('renderBpftoolDumpChunks is the chunked form of renderBpftoolDumpJson', async () => {
    const e = encodeCtEntry({
      proto: 'tcp',
      a: {ip: '10.0.0.1', port: 1},
      b: {ip: '10.0.0.2', port: 2},
      src: {ip: '10.0.0.1', port: 1},
      dst: {ip: '10.0.0.2', port: 2},
      type: 'normal',
      flags: [],
    })
    const chunks = [...renderBpftoolDumpChunks([e, e], {pretty: true})]
    expect(chunks.join('')).toBe(renderBpftoolDumpJson([e, e], {pretty: true}))
    let n = 0
    await scanBpftoolDump(chunks, () => n++)
    expect(n).toBe(2)
    expect(JSON.parse(chunks.join(''))).toHaveLength(2)
    expect(() => JSON.parse(renderBpftoolDumpJson([e], {formatted: true}))).not.toThrow()
  })

  it('ipBytes', () => {
    expect([...ipBytes('10.0.0.1')]).toStrictEqual([10, 0, 0, 1])
    expect(Buffer.from(ipBytes('fd00:10:244::5')).toString('hex')).toBe('fd000010024400000000000000000005')
    expect(Buffer.from(ipBytes('::')).toString('hex')).toBe('0'.repeat(32))
    expect(Buffer.from(ipBytes('::ffff:10.0.0.1')).toString('hex')).toBe('00000000000000000000ffff0a000001')
    expect(Buffer.from(ipBytes('1::')).toString('hex')).toBe('0001' + '0'.repeat(28))
    expect(() => ipBytes('1.2.3')).toThrow()
  })

  it('renderBpftoolBatch: map create + map update lines in bpftool batch syntax', () => {
    const e = encodeCtEntry(
      {
        proto: 'udp',
        a: {ip: '10.0.0.1', port: 53},
        b: {ip: '10.0.0.2', port: 40000},
        src: {ip: '10.0.0.1', port: 53},
        dst: {ip: '10.0.0.2', port: 40000},
        type: 'normal',
        flags: ['B-A'],
        lastSeenNs: '1',
      },
      'ct4',
    )
    const text = renderBpftoolBatch('ct4', [e], {create: true})
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toBe(
      'map create /sys/fs/bpf/tc/globals/cali_v4_ct4 type lru_hash key 16 value 88 entries 512000 name cali_v4_ct4 flags 0',
    )
    expect(lines[1]).toBe(
      'map update pinned /sys/fs/bpf/tc/globals/cali_v4_ct4 key hex 11 00 00 00 0a 00 00 01 0a 00 00 02 35 00 40 9c value hex ' +
        '00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 ' +
        '00 '.repeat(64).trimEnd(),
    )
    expect(renderBpftoolBatch('nat-fe3', [], {create: true})).toBe(
      'map create /sys/fs/bpf/tc/globals/cali_v4_nat_fe3 type lpm_trie key 16 value 20 entries 65536 name cali_v4_nat_fe3 flags 1\n',
    )
    expect(() => renderBpftoolBatch('ct4', [{key: new Uint8Array(16), value: new Uint8Array(64)}])).toThrow(
      'expected 16/88',
    )
  })
})

describe('renderNatBatch', () => {
  it('creates and fills the frontend and backend maps', async () => {
    const {renderNatBatch} = await import('../../support/map-encoders.js')
    const {parseNatDumpText} = await import('../../../src/lib/maps/nat-text.js')
    const fes = parseNatDumpText('10.96.0.1 port 443 proto 6 id 0 count 1 local 0\n\t0:0\t 10.0.0.20:6443\n').entries
    expect(renderNatBatch(fes, {create: true}).split('\n')).toStrictEqual([
      'map create /sys/fs/bpf/tc/globals/cali_v4_nat_fe3 type lpm_trie key 16 value 20 entries 65536 name cali_v4_nat_fe3 flags 1',
      'map update pinned /sys/fs/bpf/tc/globals/cali_v4_nat_fe3 key hex 38 00 00 00 0a 60 00 01 bb 01 06 00 00 00 00 00 value hex 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
      'map create /sys/fs/bpf/tc/globals/cali_v4_nat_be type hash key 8 value 8 entries 262144 name cali_v4_nat_be flags 1',
      'map update pinned /sys/fs/bpf/tc/globals/cali_v4_nat_be key hex 00 00 00 00 00 00 00 00 value hex 0a 00 00 14 2b 19 00 00',
      '',
    ])
  })
})
