import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {decodeCtEntry} from '../../../src/lib/maps/ct-decode.js'
import {ConntrackTally} from '../../../src/lib/maps/ct-tally.js'
import type {MapLayoutId} from '../../../src/lib/maps/map-layouts.js'
import {conntrackStats} from '../../../src/lib/maps/stats.js'
import {ctEntries} from '../../support/ct-entries.js'
import {encodeCtEntry} from '../../support/map-encoders.js'

/** A leg's flag byte: syn 1, ack 2, fin 4, rst 8 and higher bits the stats ignore. */
const leg = fc.oneof({weight: 4, arbitrary: fc.constantFrom(3, 7, 0x13)}, {weight: 1, arbitrary: fc.nat(255)})

describe('ConntrackTally', () => {
  it('gives exactly the stats of decoding every entry (random bytes, every layout)', () => {
    const layouts: [MapLayoutId, number, number][] = [
      ['ct4', 16, 88],
      ['ct3', 16, 88],
      ['ct2', 16, 64],
      ['ct4-v6', 40, 128],
    ]
    for (const [layout, keySize, valueSize] of layouts) {
      const entry = fc.record({
        key: fc.uint8Array({minLength: keySize, maxLength: keySize}),
        value: fc.uint8Array({minLength: valueSize, maxLength: valueSize}),
        proto: fc.constantFrom(6, 6, 17, 1),
        // The bytes the stats read, from small sets so that entries often share all but one of them.
        type: fc.constantFrom(0, 0, 1, 2, 200),
        flags: fc.constantFrom(0, 2, 0xfd),
        legAb: leg,
        legBa: leg,
      })
      fc.assert(
        fc.property(fc.array(entry, {maxLength: 80}), fc.option(fc.nat(600_000), {nil: undefined}), (list, mapSize) => {
          const tally = new ConntrackTally()
          const decoded = []
          for (const e of list) {
            const key = Uint8Array.from(e.key)
            key[0] = e.proto
            const value = Uint8Array.from(e.value)
            const legs = valueSize === 64 ? [28, 40] : [40, 64]
            value[16] = e.type
            value[17] = e.flags
            value[legs[0]!] = e.legAb
            value[legs[1]!] = e.legBa
            tally.add(key, value)
            decoded.push(decodeCtEntry(key, value, {layout}))
          }
          expect(tally.skipped).toBe(0)
          expect(tally.result({mapSize}, {layout})).toEqual(conntrackStats(decoded, {mapSize}))
        }),
        {numRuns: 150},
      )
    }
  })

  it('counts the bench data like the full decoder (NAT pairs, TCP states, UDP)', () => {
    const entries = ctEntries(3000).map((e) => encodeCtEntry(e))
    const tally = new ConntrackTally()
    for (const b of entries) tally.add(b.key, b.value)
    const full = conntrackStats(entries.map((b) => decodeCtEntry(b.key, b.value, {layout: 'ct4'})), {mapSize: 65536})
    expect(tally.result({mapSize: 65536}, {layout: 'ct4'})).toEqual(full)
    expect(tally.entries).toBe(3000)
  })

  it('skips elements whose value fits no conntrack layout, as the decoder does', () => {
    const tally = new ConntrackTally()
    tally.add(new Uint8Array(16), new Uint8Array(87))
    tally.add(new Uint8Array(0), new Uint8Array(88))
    tally.add(new Uint8Array(16), new Uint8Array(88))
    expect(tally.skipped).toBe(2)
    expect(tally.entries).toBe(1)
  })

  it('keeps only the first 40 bytes of a hostile long key, with the same stats', () => {
    const key = new Uint8Array(4000)
    key[0] = 6
    const value = new Uint8Array(128)
    value[40] = 3
    value[64] = 3
    const tally = new ConntrackTally()
    tally.add(key, value)
    tally.add(key, value)
    expect(tally.result()).toEqual(conntrackStats([decodeCtEntry(key, value), decodeCtEntry(key, value)]))
    expect(tally.result().tcpStates.ESTABLISHED).toBe(2)
  })

  it('keeps memory bounded when every element differs (hostile map)', () => {
    const tally = new ConntrackTally()
    const value = new Uint8Array(88)
    const key = new Uint8Array(16)
    let n = 0
    for (let a = 0; a < 256 && !tally.overflow; a++)
      for (let b = 0; b < 256; b++)
        for (let c = 0; c < 4; c++) {
          key[0] = a
          value[16] = b
          value[17] = c
          tally.add(key, value)
          n++
        }
    expect(tally.overflow).toBe(true)
    expect(tally.entries + tally.skipped).toBe(n)
    expect(tally.entries).toBe(1 << 16)
  })
})
