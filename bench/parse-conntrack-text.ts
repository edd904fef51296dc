/**
 * Benchmarks for the conntrack parsers and the bpftool decoder.
 *   npx tsx bench/parse-conntrack-text.ts [entries=512000] [rounds=3] [all|text|decoder|pipeline]
 * `pipeline` runs only decode → JSON lines → /dev/null once, in a fresh process, and reports peak RSS (the
 * `conntrack dump --source bpftool -o json` path).
 * Prints lines/s and MB/s for pretty and raw text, and MB/s and entries/s for the bpftool JSON decoder (with and
 * without BTF `formatted` objects), plus the decode + JSON.stringify pipeline that `-o json` would run.
 */
import {spawnSync} from 'node:child_process'
import {closeSync, openSync, readFileSync, writeSync} from 'node:fs'

import {newScanStats} from '../src/lib/maps/bpftool-scanner.js'
import {decodeConntrackDump} from '../src/lib/maps/ct-decode.js'
import {ConntrackTextParser, parseConntrackText} from '../src/lib/maps/ct-text.js'
import {ct4DumpBody, ct4DumpChunks, prettyLines, rawLines} from './ct-data.js'

const N = Number(process.argv[2] ?? 512000)
const ROUNDS = Number(process.argv[3] ?? 3)
const MODE = process.argv[4] ?? 'all'

/** Runs fn, returns [wall ms, CPU ms (user+system, all threads of this process)]. */
function timed(fn: () => void): [number, number] {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  fn()
  const wall = performance.now() - t0
  const c = process.cpuUsage(c0)
  return [wall, (c.user + c.system) / 1000]
}

async function timedAsync(fn: () => Promise<void>): Promise<[number, number]> {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await fn()
  const wall = performance.now() - t0
  const c = process.cpuUsage(c0)
  return [wall, (c.user + c.system) / 1000]
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (n: number) => n.toLocaleString('en-US', {maximumFractionDigits: 0})
const mib = () => (process.memoryUsage().rss / 1048576).toFixed(0)

function report(
  name: string,
  n: number,
  unit: string,
  bytes: number,
  wallMs: number,
  cpuMs: number,
  note: string,
): void {
  const w = wallMs / 1000
  const c = cpuMs / 1000
  console.log(
    `${name.padEnd(30)} ${fmt(n)} ${unit}, ${(bytes / 1e6).toFixed(0)} MB | wall ${wallMs.toFixed(0)} ms: ` +
      `${fmt(n / w)} ${unit}/s ${(bytes / 1e6 / w).toFixed(0)} MB/s | cpu ${cpuMs.toFixed(0)} ms: ${fmt(n / c)} ${unit}/s ` +
      `${(bytes / 1e6 / c).toFixed(0)} MB/s | ${note}${note ? ', ' : ''}rss ${mib()} MiB`,
  )
}

function benchText(name: string, text: string): void {
  const bytes = Buffer.byteLength(text)
  const times: number[] = []
  const cpus: number[] = []
  let entries = 0
  for (let i = 0; i < ROUNDS; i++) {
    let r: ReturnType<typeof parseConntrackText> | undefined
    const [wall, cpu] = timed(() => {
      r = parseConntrackText(text)
    })
    times.push(wall)
    cpus.push(cpu)
    entries = r!.entries.length
    if (r!.unknownLines !== 0) throw new Error(`${name}: ${r!.unknownLines} unknown lines, e.g. ${r!.samples[0]}`)
  }
  report(name, N, 'lines', bytes, median(times), median(cpus), `${entries} entries`)
}

function benchStreamingText(name: string, text: string): void {
  // Callback mode with 64 KiB Buffer chunks: what `conntrack dump --source agent` does with the node's stdout.
  const bytes = Buffer.from(text)
  const times: number[] = []
  const cpus: number[] = []
  let n = 0
  for (let i = 0; i < ROUNDS; i++) {
    n = 0
    const [wall, cpu] = timed(() => {
      const p = new ConntrackTextParser(() => n++)
      for (let o = 0; o < bytes.length; o += 65536) p.write(bytes.subarray(o, o + 65536))
      const r = p.result()
      if (r.unknownLines !== 0) throw new Error(`${name}: ${r.unknownLines} unknown lines, e.g. ${r.samples[0]}`)
    })
    times.push(wall)
    cpus.push(cpu)
  }
  report(name, N, 'lines', bytes.length, median(times), median(cpus), `${n} entries`)
}

async function benchDecoder(btf: boolean, stringify: boolean): Promise<void> {
  const times: number[] = []
  const cpus: number[] = []
  let bytes = 0
  let entries = 0
  let outBytes = 0
  const body = ct4DumpBody(4096, btf)
  for (let i = 0; i < ROUNDS; i++) {
    const chunks = ct4DumpChunks(N, body)
    const stats = newScanStats()
    entries = 0
    outBytes = 0
    const [wall, cpu] = await timedAsync(async () => {
      for await (const batch of decodeConntrackDump(chunks, {layout: 'ct4', stats, nowNs: 2_000_000_000_000n})) {
        entries += batch.length
        if (stringify) for (const e of batch) outBytes += JSON.stringify(e).length + 1
      }
    })
    times.push(wall)
    cpus.push(cpu)
    bytes = stats.bytes
    if (stats.entries !== N || entries !== N) throw new Error(`decoded ${entries}/${stats.entries} of ${N}`)
  }
  const label = `bpftool ct4 ${btf ? 'with BTF' : 'no BTF'}${stringify ? ' + stringify' : ''}`
  report(
    label,
    entries,
    'entries',
    bytes,
    median(times),
    median(cpus),
    stringify ? `${(outBytes / 1e6).toFixed(0)} MB out` : '',
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
  console.log(
    `calibration: trivial byte loop ${(b.length / 1e6 / s).toFixed(0)} MB/s${c ? '' : ''}; load average ${loadAverage()}`,
  )
}

function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  } catch {
    return '?'
  }
}

/** decode → one JSON line per entry → /dev/null, with 1 MiB write batches; peak RSS is the figure of interest. */
async function pipeline(btf: boolean): Promise<void> {
  const body = ct4DumpBody(4096, btf)
  const fd = openSync('/dev/null', 'w')
  let out = ''
  let entries = 0
  let bytes = 0
  const stats = newScanStats()
  const [wall, cpu] = await timedAsync(async () => {
    for await (const batch of decodeConntrackDump(ct4DumpChunks(N, body), {layout: 'ct4', stats})) {
      for (const e of batch) out += JSON.stringify(e) + '\n'
      entries += batch.length
      if (out.length > 1 << 20) {
        bytes += out.length
        writeSync(fd, out)
        out = ''
      }
    }
    writeSync(fd, out)
  })
  closeSync(fd)
  report(
    `pipeline ${btf ? 'BTF' : 'no BTF'} → JSON lines`,
    entries,
    'entries',
    stats.bytes,
    wall,
    cpu,
    `${((bytes + out.length) / 1e6).toFixed(0)} MB out`,
  )
  console.log(`peak rss (process): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
}

/** A full collection between benches, so one bench's garbage (512,000 kept entries) is not collected in the next. */
function collect(): void {
  ;(globalThis as {gc?: () => void}).gc?.()
}

async function main(): Promise<void> {
  if (!(globalThis as {gc?: unknown}).gc) {
    // Re-run with --expose-gc (keeping tsx's loader flags) so collect() works.
    const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], {stdio: 'inherit'})
    process.exit(r.status ?? 1)
  }
  console.log(`node ${process.version}, ${N} entries, median of ${ROUNDS}, mode ${MODE}`)
  calibrate()
  if (MODE === 'pipeline') return pipeline(process.argv[5] !== 'nobtf')
  if (MODE === 'all' || MODE === 'text') {
    let text = prettyLines(N)
    benchStreamingText('pretty, streamed 64 KiB Buffers', text)
    collect()
    benchStreamingText('pretty, streamed, 16M addresses', prettyLines(N, 7, true))
    collect()
    benchText('pretty, whole text, all kept', text)
    collect()
    text = rawLines(N)
    benchText('raw (--raw, ≤ v3.27), whole text', text)
    text = ''
    collect()
  }
  if (MODE === 'all' || MODE === 'decoder') {
    await benchDecoder(false, false)
    await benchDecoder(true, false)
    await benchDecoder(true, true)
  }
  console.log(`peak rss (process): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
}

await main()
