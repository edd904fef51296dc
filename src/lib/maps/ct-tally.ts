/**
 * Conntrack stats straight from bpftool key/value bytes, without building a ConntrackEntry per map element.
 *
 * The stats read only an entry's protocol, type and TCP state. Those come from a handful of bytes: key[0] (protocol),
 * value[16] (type), value[17] (flags; tcpStateOf reads CT_FLAG_FWD_DSR, bit 1) and the low nibble (syn, ack, fin,
 * rst) of each leg's flag word, plus the value's length (which picks the layout). Elements with the same signature
 * are counted once; one representative of each is decoded with decodeCtEntry at the end, so the numbers are exactly
 * what decoding every entry would give (test/unit/maps/ct-tally.test.ts checks that property).
 */
import {type CtDecodeOptions, decodeCtEntry} from './ct-decode.js'
import type {ConntrackStats} from './model.js'
import {ConntrackStatsAccumulator, type CtStatsOptions} from './stats.js'

/** Offsets of the two legs' flag words in the value, by value length (ct2: 64 bytes; ct3/ct4: 88; v6: 128). */
function legFlagOffsets(valueLength: number): readonly [number, number] | undefined {
  if (valueLength === 64) return [28, 40]
  if (valueLength === 88 || valueLength === 128) return [40, 64]
  return undefined
}

/** Distinct signatures kept (at most ~170 bytes each) before giving up; a real map has a few dozen. See `overflow`. */
export const MAX_CT_SIGNATURES = 1 << 16

export class ConntrackTally {
  /** signature → [count, key copy, value copy] */
  private readonly groups = new Map<number, {count: number; key: Uint8Array; value: Uint8Array}>()
  /** Elements whose value matches no conntrack layout (decodeCtEntry would reject them). */
  skipped = 0
  /** More distinct signatures than maxSignatures: the input is not a conntrack map; the result is partial. */
  overflow = false

  constructor(private readonly maxSignatures = MAX_CT_SIGNATURES) {}

  add(key: Uint8Array, value: Uint8Array): void {
    const legs = legFlagOffsets(value.length)
    if (!legs || key.length === 0) {
      this.skipped++
      return
    }
    // 8 + 8 + 8 + 4 + 4 bits, plus the key-length class (v6 keys are 40 bytes): below 2^53, exact as a number.
    const sig =
      (key[0]! | (value[16]! << 8) | (value[17]! << 16) | ((value[legs[0]]! & 15) << 24)) +
      (value[legs[1]]! & 15) * 2 ** 28 +
      value.length * 2 ** 32 +
      (key.length >= 40 ? 2 ** 40 : 0)
    const g = this.groups.get(sig)
    if (g) {
      g.count++
      return
    }
    if (this.groups.size >= this.maxSignatures) {
      this.overflow = true
      this.skipped++
      return
    }
    // decodeCtEntry reads at most the first 40 key bytes (and only whether there are 40): a hostile long key costs no more.
    this.groups.set(sig, {count: 1, key: key.slice(0, 40), value: value.slice()})
  }

  /** Entries tallied (not counting skipped ones). */
  get entries(): number {
    let n = 0
    for (const g of this.groups.values()) n += g.count
    return n
  }

  /** Adds the tallied entries to `acc`, each group decoded once with `decode` (the map's layout). */
  addTo(acc: ConntrackStatsAccumulator, decode: CtDecodeOptions = {}): void {
    for (const g of this.groups.values()) {
      let entry
      try {
        entry = decodeCtEntry(g.key, g.value, decode)
      } catch {
        // As decodeConntrackDump does with an element it cannot decode: skipped, not counted.
        continue
      }
      acc.add(entry, g.count)
    }
  }

  result(opts: CtStatsOptions = {}, decode: CtDecodeOptions = {}): ConntrackStats {
    const acc = new ConntrackStatsAccumulator(opts)
    this.addTo(acc, decode)
    return acc.result()
  }
}
