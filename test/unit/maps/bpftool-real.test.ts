import {createReadStream, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {
  type BpfMapInfo,
  decodeConntrackDump,
  decodeNatDump,
  newScanStats,
  selectMaps,
} from '../../../src/lib/maps/index.js'
import {type ConntrackEntry, type NatFrontend, natFlagNames} from '../../../src/lib/maps/model.js'

const dir = fileURLToPath(new URL('../../fixtures/bpf/bpftool/', import.meta.url))
const json = <T>(name: string): T => JSON.parse(readFileSync(dir + name, 'utf8')) as T
const byKey = (e: ConntrackEntry) => `${e.proto}|${e.a.ip}:${e.a.port}|${e.b.ip}:${e.b.port}`

async function decode(name: string, layout: 'ct4' | 'ct4-v6'): Promise<ConntrackEntry[]> {
  const out: ConntrackEntry[] = []
  const stats = newScanStats()
  for await (const b of decodeConntrackDump(createReadStream(dir + name, {highWaterMark: 1000}), {layout, stats})) {
    out.push(...b)
  }
  expect(stats.skipped).toBe(0)
  expect(stats.complete).toBe(true)
  return out
}

describe('real bpftool v7.1.0 output (maps filled from our encoders, dumped by the kernel + bpftool)', () => {
  it('cali_v4_ct4: every entry decodes back to its input (hash order aside)', async () => {
    const want = json<ConntrackEntry[]>('ct4.input.json')
    const got = await decode('bpftool-ct4.json', 'ct4')
    expect(got).toHaveLength(17)
    expect([...got].sort((x, y) => byKey(x).localeCompare(byKey(y)))).toStrictEqual(
      [...want].sort((x, y) => byKey(x).localeCompare(byKey(y))),
    )
  })

  it('cali_v6_ct4 (pretty): the IPv6 entry decodes back to its input', async () => {
    expect(await decode('bpftool-ct4-v6.pretty.json', 'ct4-v6')).toStrictEqual(
      json<ConntrackEntry[]>('ct4v6.input.json'),
    )
  })

  it('NAT fe3 + be, v4 and v6: frontends (incl. src-range and blackhole LPM keys) with their backends', async () => {
    const input = json<NatFrontend[]>('nat.input.json')
    const v4 = await decodeNatDump({
      frontends: createReadStream(dir + 'bpftool-nat-fe3.json'),
      backends: createReadStream(dir + 'bpftool-nat-be.pretty.json'),
    })
    const v6 = await decodeNatDump({
      frontends: createReadStream(dir + 'bpftool-nat-fe3-v6.json'),
      backends: createReadStream(dir + 'bpftool-nat-be-v6.json'),
    })
    // What the decoder adds or derives compared with text: raw flag bits, affinity timeout, and holes in place of
    // `truncated` (a frontend whose backends are absent from the map has missing ordinals).
    const asDecoded = (fe: NatFrontend): NatFrontend => {
      const out: NatFrontend = {...fe, flagBits: 0, affinityTimeoutSec: 0}
      delete out.truncated
      out.flagBits = fe.flags.reduce(
        (bits, f) => bits | (1 << ['external-local', 'internal-local', 'nat-exclude', 'maglev'].indexOf(f)),
        0,
      )
      expect(natFlagNames(out.flagBits)).toStrictEqual(fe.flags)
      if (fe.truncated) {
        const have = new Set(fe.backends.map((b) => b.ordinal))
        const missing = Array.from({length: fe.count}, (_, i) => i).filter((i) => !have.has(i))
        out.missingBackends = missing.length
        out.missingOrdinals = missing
      }
      return out
    }
    const key = (f: NatFrontend) => `${f.ip}|${f.port}|${f.proto}|${f.srcRange ?? ''}`
    const sort = (l: NatFrontend[]) => [...l].sort((x, y) => key(x).localeCompare(key(y)))
    expect(sort([...v4.frontends, ...v6.frontends])).toStrictEqual(sort(input.map(asDecoded)))
    expect(v4.frontends.find((f) => f.ip === '172.18.0.3')).toMatchObject({count: 2, missingOrdinals: [0, 1]})
    expect(v4.orphanBackends).toStrictEqual([])
    expect(v4.frontendStats.entries).toBe(8)
    expect(v4.backendStats.entries).toBe(4)
  })

  it("selectMaps on real `map show` + listing; a missing pin yields bpftool's error object", async () => {
    const show = json<BpfMapInfo[]>('bpftool-map-show.json')
    const listing = readFileSync(dir + 'bpftool-globals-listing.txt', 'utf8')
      .trim()
      .split('\n')
    const v4 = selectMaps({show, listing})
    expect([
      v4.conntrack?.layout.id,
      v4.natFrontend?.layout.id,
      v4.natBackend?.layout.id,
      v4.natAffinity,
    ]).toStrictEqual(['ct4', 'nat-fe3', 'nat-be', undefined])
    expect(v4.conntrack).toMatchObject({confirmed: true, maxEntries: 1024, path: '/sys/fs/bpf/tc/globals/cali_v4_ct4'})
    expect(v4.warnings).toStrictEqual([])
    const v6 = selectMaps({show, listing, ipv6: true})
    expect([v6.conntrack?.layout.id, v6.natFrontend?.layout.id, v6.natBackend?.layout.id]).toStrictEqual([
      'ct4-v6',
      'nat-fe3-v6',
      'nat-be-v6',
    ])
    const stats = newScanStats()
    for await (const b of decodeConntrackDump(createReadStream(dir + 'bpftool-missing-map.json'), {stats})) {
      expect(b).toStrictEqual([])
    }
    expect(stats).toMatchObject({
      entries: 0,
      complete: false,
      errors: ['bpf obj get (/sys/fs/bpf/tc/globals/cali_v4_ct3): No such file or directory'],
    })
  })
})
