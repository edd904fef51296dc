import {createWriteStream} from 'node:fs'
import {encodeCtEntry, hexBytes} from '../test/support/map-encoders.js'
import {ctEntry, rng} from './ct-data.js'
const out = createWriteStream('/tmp/big/ct.batch')
out.write('map create /sys/fs/bpf/tc/globals/cali_v4_ct4 type lru_hash key 16 value 88 entries 563200 name cali_v4_ct4 flags 0\n')
const r = rng(7); const seen = new Set<string>(); let n = 0
while (n < 512000) {
  const b = encodeCtEntry(ctEntry(r)); const k = hexBytes(b.key); if (seen.has(k)) continue; seen.add(k); n++
  if (!out.write(`map update pinned /sys/fs/bpf/tc/globals/cali_v4_ct4 key hex ${k} value hex ${hexBytes(b.value)}\n`)) await new Promise((res) => out.once('drain', res))
}
out.end()
