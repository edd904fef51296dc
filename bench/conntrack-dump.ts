/**
 * `ebpfctl conntrack dump --source bpftool -o json` over a real 512,000-entry cali_v4_ct4 map, against
 * `bpftool -j map dump pinned` of the same map alone. Both run inside a rig node's mount namespace (real bpffs, real
 * pinned map filled with bpftool in Calico's layout). Prints wall medians (hyperfine), their ratio (target ≤ 1.5×),
 * and ebpfctl's peak RSS (GNU time; target ≤ 256 MiB). Run as root: npx tsx bench/conntrack-dump.ts [entries]
 */
import {createWriteStream, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {execa} from 'execa'

import {MAP_LAYOUTS} from '../src/lib/maps/index.js'
import {encodeCtEntry, hexBytes} from '../test/support/map-encoders.js'
import {startRig} from '../test/support/node-rig/index.js'
import {ctEntry, rng} from './ct-data.js'

const total = Number(process.argv[2] ?? 512_000)
const root = join(import.meta.dirname, '..')
const layout = MAP_LAYOUTS.ct4
const path = `/sys/fs/bpf/tc/globals/${layout.name}`

async function writeBatch(file: string): Promise<void> {
  const out = createWriteStream(file)
  const r = rng(7)
  const seen = new Set<string>()
  let written = 0
  while (written < total) {
    const e = ctEntry(r)
    const bytes = encodeCtEntry(e)
    const k = hexBytes(bytes.key)
    if (seen.has(k)) continue
    seen.add(k)
    written++
    const line = `map update pinned ${path} key hex ${k} value hex ${hexBytes(bytes.value)}\n`
    if (!out.write(line)) await new Promise<void>((res) => out.once('drain', () => res()))
  }
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())))
}

const rig = await startRig({nodes: [{name: 'bench-node', maps: []}]})
try {
  const node = rig.nodes[0]!
  const batch = join(rig.dir, 'ct4.batch')
  console.log(`generating ${total} distinct ct4 entries…`)
  await writeBatch(batch)
  // A little headroom over the entry count: an LRU map evicts before it is completely full.
  const maxEntries = Math.ceil(total * 1.1)
  const mk = await rig.runInNode(node.name, ['bpftool', 'map', 'create', path, 'type', 'lru_hash', 'key', '16', 'value', '88', 'entries', String(maxEntries), 'name', layout.name, 'flags', '0'])
  if (mk.exitCode !== 0) throw new Error(mk.stderr)
  const t0 = Date.now()
  const fill = await rig.runInNode(node.name, ['bpftool', 'batch', 'file', batch], {timeoutMs: 600_000})
  if (fill.exitCode !== 0) throw new Error(fill.stderr.slice(0, 500))
  console.log(`filled with bpftool batch in ${((Date.now() - t0) / 1000).toFixed(1)} s`)

  const ns = ['nsenter', '-t', String(node.pid), '-m', '-p', '--']
  const bpftool = `${ns.join(' ')} bpftool -j map dump pinned ${path}`
  const ebpfctl = `${ns.join(' ')} env NO_COLOR=1 KUBECONFIG=/nonexistent node ${root}/bin/run.js conntrack dump --via local --source bpftool -o json`
  const count = await execa('sh', ['-c', `${ebpfctl} | grep -c '^{"proto"'`], {reject: false})
  console.log(`ebpfctl decoded ${count.stdout.trim()} entries (expected ${total})`)
  const json = join(rig.dir, 'hyperfine.json')
  await execa('hyperfine', ['-N', '--warmup', '1', '--runs', '5', '--export-json', json, '--output', 'null', '-n', 'bpftool', bpftool, '-n', 'ebpfctl', ebpfctl], {stdio: 'inherit'})
  const results = (JSON.parse(readFileSync(json, 'utf8')) as {results: {command: string; median: number}[]}).results
  const med = Object.fromEntries(results.map((r) => [r.command, r.median]))
  const rss = await execa('sh', ['-c', `/usr/bin/time -f %M ${ebpfctl} > /dev/null`], {reject: false})
  const peakKiB = Number(rss.stderr.trim().split('\n').pop())
  console.log('')
  console.log(`bpftool -j map dump (alone): median ${med.bpftool!.toFixed(2)} s`)
  console.log(`ebpfctl conntrack dump -o json: median ${med.ebpfctl!.toFixed(2)} s`)
  console.log(`ratio: ${(med.ebpfctl! / med.bpftool!).toFixed(2)}x (target <= 1.5x)`)
  console.log(`ebpfctl peak RSS: ${(peakKiB / 1024).toFixed(0)} MiB (target <= 256 MiB)`)
} finally {
  await rig.stop()
}
