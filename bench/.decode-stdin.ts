import {decodeConntrackDump, newScanStats} from '../src/lib/maps/bpftool.js'
const stats = newScanStats(); let n = 0; const json = process.argv[2] === 'json'
let buf = ''
for await (const b of decodeConntrackDump(process.stdin, {layout: 'ct4', stats})) {
  n += b.length
  if (json) { for (const e of b) buf += JSON.stringify(e) + '\n'; if (buf.length > 1 << 20) { process.stdout.write(buf); buf = '' } }
}
if (json) process.stdout.write(buf)
process.stderr.write(`decoded ${n} entries, ${stats.bytes} bytes, skipped ${stats.skipped}, maxrss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`)
