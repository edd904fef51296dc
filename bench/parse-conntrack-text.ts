/**
 * Benchmarks for the conntrack parsers and the bpftool decoder.
 *   npx tsx bench/parse-conntrack-text.ts [entries=512000] [rounds=3]
 * Prints lines/s and MB/s for pretty and raw text, and MB/s and entries/s for the bpftool JSON decoder (with and
 * without BTF `formatted` objects), plus the decode + JSON.stringify pipeline that `-o json` would run.
 */
import {readFileSync} from 'node:fs'

import {decodeConntrackDump, newScanStats} from '../src/lib/maps/bpftool.js'
import {ConntrackTextParser, parseConntrackText} from '../src/lib/maps/agent-text.js'
import {ct4DumpBody, ct4DumpChunks, prettyLines, rawLines} from './ct-data.js'

const N = Number(process.argv[2] ?? 512000)
const ROUNDS = Number(process.argv[3] ?? 3)

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (n: number) => n.toLocaleString('en-US', {maximumFractionDigits: 0})
const mib = () => (process.memoryUsage().rss / 1048576).toFixed(0)

function benchText(name: string, text: string): void {
  const bytes = Buffer.byteLength(text)
  const times: number[] = []
  let entries = 0
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now()
    const r = parseConntrackText(text)
    times.push(performance.now() - t0)
    entries = r.entries.length
    if (r.unknownLines !== 0) throw new Error(`${name}: ${r.unknownLines} unknown lines, e.g. ${r.samples[0]}`)
  }
  const s = median(times) / 1000
  console.log(
    `${name.padEnd(34)} ${fmt(N)} lines  ${(bytes / 1e6).toFixed(1)} MB  ${(s * 1000).toFixed(0)} ms  ` +
      `${fmt(N / s)} lines/s  ${(bytes / 1e6 / s).toFixed(0)} MB/s  (${entries} entries, rss ${mib()} MiB)`,
  )
}

function benchStreamingText(name: string, text: string): void {
  // Callback mode with 64 KiB chunks: what a command streaming kubectl exec stdout would do.
  const times: number[] = []
  let n = 0
  for (let i = 0; i < ROUNDS; i++) {
    n = 0
    const t0 = performance.now()
    const p = new ConntrackTextParser(() => n++)
    for (let o = 0; o < text.length; o += 65536) p.write(text.slice(o, o + 65536))
    p.result()
    times.push(performance.now() - t0)
  }
  const s = median(times) / 1000
  console.log(`${name.padEnd(34)} ${fmt(n)} entries  ${fmt(N / s)} lines/s  ${(Buffer.byteLength(text) / 1e6 / s).toFixed(0)} MB/s`)
}

async function benchDecoder(btf: boolean, stringify: boolean): Promise<void> {
  const times: number[] = []
  let bytes = 0
  let entries = 0
  let outBytes = 0
  const body = ct4DumpBody(4096, btf)
  for (let i = 0; i < ROUNDS; i++) {
    const chunks = ct4DumpChunks(N, body)
    const stats = newScanStats()
    entries = 0
    outBytes = 0
    const t0 = performance.now()
    for await (const batch of decodeConntrackDump(chunks, {layout: 'ct4', stats, nowNs: 2_000_000_000_000n})) {
      entries += batch.length
      if (stringify) for (const e of batch) outBytes += JSON.stringify(e).length + 1
    }
    times.push(performance.now() - t0)
    bytes = stats.bytes
    if (stats.entries !== N || entries !== N) throw new Error(`decoded ${entries}/${stats.entries} of ${N}`)
  }
  const s = median(times) / 1000
  const label = `bpftool ct4 ${btf ? 'with BTF' : 'no BTF'}${stringify ? ' + JSON.stringify' : ''}`
  console.log(
    `${label.padEnd(34)} ${fmt(entries)} entries  ${(bytes / 1e6).toFixed(0)} MB  ${(s * 1000).toFixed(0)} ms  ` +
      `${(bytes / 1e6 / s).toFixed(0)} MB/s  ${fmt(entries / s)} entries/s${stringify ? `  (${(outBytes / 1e6).toFixed(0)} MB out)` : ''}  rss ${mib()} MiB`,
  )
}

/** A trivial byte loop over 64 MiB: how fast this machine is right now (shared CI machines vary a lot). */
function calibrate(): void {
  const b = new Uint8Array(64 * 1048576).fill(0x41)
  const times: number[] = []
  let c = 0
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now()
    for (let i = 0; i < b.length; i++) if (b[i] === 0x22) c++
    times.push(performance.now() - t0)
  }
  const s = median(times) / 1000
  console.log(`calibration: trivial byte loop ${((b.length / 1e6) / s).toFixed(0)} MB/s${c ? '' : ''}; load average ${(loadAverage())}`)
}

function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  } catch {
    return '?'
  }
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${N} entries, median of ${ROUNDS}`)
  calibrate()
  let text = prettyLines(N)
  benchText('pretty text (v3.30+)', text)
  benchStreamingText('pretty text, streamed 64 KiB', text)
  text = rawLines(N)
  benchText('raw text (--raw)', text)
  text = ''
  await benchDecoder(false, false)
  await benchDecoder(true, false)
  await benchDecoder(true, true)
  console.log(`peak rss (process): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
}

await main()
