/**
 * Counting a node's conntrack map with bpftool for `conntrack stats`, in one remote command.
 *
 * Per node, most of the cost of a fleet-wide `conntrack stats` is on the node side of each command (an SSH session,
 * the login shell, the remote deadline wrapper), not the counting: measured on the node rig, a session with the
 * wrapper costs about as much CPU as bpftool's whole 3,000-entry dump. So the `map show` that picks the map and the
 * dump that is counted run in one shell (CT_COUNT_SCRIPT), and the dump is tallied by signature (ConntrackTally)
 * instead of decoding every entry. When the shell's guess of the map differs from what selectMaps picks from the
 * `map show` output (a stale older version that is the live one), or the shell cannot run, it falls back to the
 * two-command read (streamConntrack), so the numbers and errors are those of that read.
 */
import {BpftoolDumpScanner, ConntrackTally, MAP_LAYOUTS, type MapLayoutId, type ScanStats} from '../maps/index.js'
import type {NodeRunner, NodeTarget} from '../nodes/types.js'
import {type DataplaneReadOptions, DataplaneReadError, limits, notActive, selectionFromShow} from './read-maps.js'

/** Starts the line before the dump; `\n#` cannot occur inside bpftool's JSON (strings escape newlines). */
export const CT_DUMP_MARK = '#ebpfctl-ct-dump'

/**
 * `sh -c CT_COUNT_SCRIPT ebpfctl-ct-count PATH…`: the map listing, then a marker line naming the first of PATH… that
 * is pinned, then bpftool's dump of it. Nothing is interpolated: the paths are arguments.
 */
export const CT_COUNT_SCRIPT = [
  'bpftool -j -f map show || exit',
  'for p do',
  '  [ -e "$p" ] || continue',
  `  printf '\\n${CT_DUMP_MARK} %s\\n' "$p"`,
  '  exec bpftool -j map dump pinned "$p"',
  'done',
].join('\n')

/** The IPv4 conntrack maps' pinned paths, newest version first (the order selectMaps prefers). */
export const CT_CANDIDATE_PATHS: readonly string[] = Object.values(MAP_LAYOUTS)
  .filter((l) => l.kind === 'ct' && !l.ipv6)
  .sort((a, b) => b.version - a.version)
  .map((l) => `/sys/fs/bpf/tc/globals/${l.name}`)

/** Longest marker line accepted (the marker, a space, one of CT_CANDIDATE_PATHS). */
const MARK_LINE_MAX = 256

export interface CtCount {
  tally: ConntrackTally
  /** The dumped map's layout, to decode the tally with. */
  layout: MapLayoutId
  /** The map's max_entries, from `map show`. */
  mapSize?: number
  scan: ScanStats
  warnings: string[]
}

/**
 * Splits the script's output: the `map show` JSON before the marker line (kept, at most `headLimit` bytes), the dump
 * after it (pushed to the scanner as it arrives, never kept).
 */
export class ShowThenDumpSplitter {
  private head = Buffer.alloc(0)
  private headLen = 0
  private searchedTo = 0
  /** The path the marker line named; undefined until the line is complete. */
  dumped?: string
  /** Why the output is not what the script prints (too long a listing or marker line, an unknown path). */
  problem?: string

  constructor(
    private readonly headLimit: number,
    private readonly scanner: BpftoolDumpScanner,
  ) {}

  push(chunk: Buffer): void {
    if (this.problem) return
    if (this.dumped !== undefined) {
      this.scan(chunk)
      return
    }
    if (this.headLen + chunk.length > this.head.length) {
      // Grow by doubling: a listing that arrives in many small chunks is copied O(n) times in total, not O(n²).
      const grown = Buffer.alloc(Math.max(this.head.length * 2, this.headLen + chunk.length, 4096))
      this.head.copy(grown, 0, 0, this.headLen)
      this.head = grown
    }
    chunk.copy(this.head, this.headLen)
    this.headLen += chunk.length
    const buf = this.head.subarray(0, this.headLen)
    const mark = buf.indexOf(`\n${CT_DUMP_MARK} `, Math.max(0, this.searchedTo - CT_DUMP_MARK.length - 2))
    if (mark < 0) {
      this.searchedTo = this.headLen
      if (this.headLen > this.headLimit) this.fail(`the map listing is longer than ${this.headLimit} bytes`)
      return
    }
    const lineStart = mark + 1
    const lineEnd = buf.indexOf(10, lineStart)
    if (lineEnd < 0) {
      this.searchedTo = mark
      if (this.headLen - lineStart > MARK_LINE_MAX) this.fail('the marker line before the dump is too long')
      return
    }
    if (mark > this.headLimit) return this.fail(`the map listing is longer than ${this.headLimit} bytes`)
    const path = buf.toString('latin1', lineStart + CT_DUMP_MARK.length + 1, lineEnd)
    if (!CT_CANDIDATE_PATHS.includes(path)) return this.fail('the marker line before the dump names no conntrack map')
    this.dumped = path
    const rest = Buffer.from(buf.subarray(lineEnd + 1))
    this.head = this.head.subarray(0, mark)
    this.headLen = mark
    if (rest.length > 0) this.scan(rest)
  }

  /** Runs inside the runner's stdout handler, where a throw would escape: a scanner failure becomes `problem`. */
  private scan(chunk: Buffer): void {
    try {
      this.scanner.push(chunk)
    } catch (err) {
      this.fail(`the dump could not be scanned: ${(err as Error).message}`)
    }
  }

  /** The listing: everything before the marker line (or all output when there was none). */
  listing(): string {
    return this.head.toString('utf8', 0, this.headLen)
  }

  private fail(problem: string): void {
    this.problem = problem
    this.head = Buffer.alloc(0)
    this.headLen = 0
  }
}

/**
 * One remote command: `map show`, then the dump of the conntrack map, tallied. Returns undefined when the two-command
 * read must be used instead (the shell could not run, selectMaps picks another map than the one dumped, or the dump
 * has more distinct signatures than a tally keeps).
 */
export async function countConntrackOneCommand(
  runner: NodeRunner,
  node: NodeTarget,
  opts: DataplaneReadOptions,
  tallyOpts: {maxSignatures?: number} = {},
): Promise<CtCount | undefined> {
  const tally = new ConntrackTally(tallyOpts.maxSignatures)
  const scanner = new BpftoolDumpScanner((k, v) => tally.add(k, v))
  const split = new ShowThenDumpSplitter(limits(opts).whole, scanner)
  const res = await runner.run(node, ['sh', '-c', CT_COUNT_SCRIPT, 'ebpfctl-ct-count', ...CT_CANDIDATE_PATHS], {
    timeoutMs: opts.timeoutMs,
    maxOutputBytes: limits(opts).stream,
    onStdout: (chunk) => split.push(chunk),
  })
  if (split.problem) {
    throw new DataplaneReadError(node.name, 'bpftool-failed', `the conntrack read printed something unexpected: ${split.problem}`)
  }
  // No dump and a failure: `map show` failed, or sh itself is missing; the two-command read says which, as before.
  if (split.dumped === undefined && res.exitCode !== 0) return undefined
  const selection = await selectionFromShow(runner, node, opts, {stdout: split.listing(), stderr: res.stderr, exitCode: 0})
  if (!selection.conntrack) throw notActive(node.name, 'no cali_v4_ct* map is pinned')
  if (selection.conntrack.path !== split.dumped) return undefined
  if (res.exitCode !== 0) {
    const why = res.stderr.trim().split('\n')[0] ?? ''
    throw new DataplaneReadError(node.name, 'bpftool-failed', `bpftool -j map dump pinned ${split.dumped} failed: ${why}`)
  }
  const scan = scanner.end()
  // Too many distinct signatures for a conntrack map: the tally is partial; decode every entry instead.
  if (tally.overflow) return undefined
  return {
    tally,
    layout: selection.conntrack.layout.id,
    mapSize: selection.conntrack.maxEntries,
    scan,
    warnings: [...selection.warnings, ...scan.errors],
  }
}
