/**
 * Counting a node's conntrack map with bpftool for `conntrack stats`, in one remote command and one bpftool process.
 *
 * Per node, most of the cost of a fleet-wide `conntrack stats` is on the node side of each command (an SSH session,
 * the login shell, the remote deadline wrapper, each process started), not the counting: measured on the node rig, a
 * session with the wrapper costs about as much CPU as bpftool's whole 3,000-entry dump, and every process started there
 * costs a few ms more. So the `map show` that picks the map and the dump that is counted run in one `bpftool batch`
 * (CT_COUNT_SCRIPT), and the dump is tallied by signature (ConntrackTally) instead of decoding every entry. When the
 * script's guess of the map differs from what selectMaps picks from the `map show` output (a stale older version that
 * is the live one), or it cannot run, it falls back to the two-command read (streamConntrack), so the numbers and
 * errors are those of that read.
 */
import {BpftoolDumpScanner, ConntrackTally, MAP_LAYOUTS, type MapLayoutId, type ScanStats} from '../maps/index.js'
import type {NodeRunner, NodeTarget} from '../nodes/types.js'
import {type DataplaneReadOptions, DataplaneReadError, limits, notActive, selectionFromShow} from './read-maps.js'

/**
 * `sh -c CT_COUNT_SCRIPT ebpfctl-ct-count PATH…`: one `bpftool -j -f batch` that lists the maps, then dumps the first
 * of PATH… that is pinned (none: the listing alone). The shell execs bpftool, so the node runs one process for both.
 * Nothing from the node is interpolated: the paths are ebpfctl's own arguments (CT_CANDIDATE_PATHS, no blanks), and
 * the batch comes from a here-document on stdin (`/dev/stdin`, which every bpftool with `batch file` opens).
 * The output is bpftool's batch JSON: `[{"command":["map","show"],"output":LISTING},{"command":["map","dump",
 * "pinned",PATH],"output":DUMP}]` (BatchShowDumpSplitter).
 */
export const CT_COUNT_SCRIPT = [
  'd=',
  'for p do',
  '  [ -e "$p" ] && { d="map dump pinned $p"; break; }',
  'done',
  'exec bpftool -j -f batch file /dev/stdin <<EOF',
  'map show',
  '$d',
  'EOF',
].join('\n')

/** How bpftool's batch JSON starts: the listing's command, then its output. */
const BATCH_HEAD = '[{"command":["map","show"],"output":'
/** Between the listing and the dump's path: the listing object's end and the dump's command. */
const BATCH_DUMP_MARK = '},{"command":["map","dump","pinned","'
/** After the dump's path, before the dump. */
const BATCH_DUMP_OUTPUT = '"],"output":'

/** The IPv4 conntrack maps' pinned paths, newest version first (the order selectMaps prefers). */
export const CT_CANDIDATE_PATHS: readonly string[] = Object.values(MAP_LAYOUTS)
  .filter((l) => l.kind === 'ct' && !l.ipv6)
  .sort((a, b) => b.version - a.version)
  .map((l) => `/sys/fs/bpf/tc/globals/${l.name}`)

/** Longest dump command accepted after BATCH_DUMP_MARK (one of CT_CANDIDATE_PATHS and BATCH_DUMP_OUTPUT). */
const DUMP_COMMAND_MAX = 256

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
 * Splits the batch output: the `map show` listing (kept, at most `headLimit` bytes), then the dump (pushed to the
 * scanner as it arrives, never kept). The listing's JSON cannot contain BATCH_DUMP_MARK: its raw quotes could only
 * open or close strings, and no `map show` object has a "command" member.
 */
export class BatchShowDumpSplitter {
  private head = Buffer.alloc(0)
  private headLen = 0
  private searchedTo = 0
  /** The path the dump's command named; undefined until that command has arrived. */
  dumped?: string
  /** Why the output is not what the script prints (not batch JSON, too long a listing, an unknown path). */
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
    const start = Math.min(buf.length, BATCH_HEAD.length)
    if (buf.toString('latin1', 0, start) !== BATCH_HEAD.slice(0, start)) return this.fail('it is not bpftool batch JSON')
    const mark = buf.indexOf(BATCH_DUMP_MARK, Math.max(BATCH_HEAD.length, this.searchedTo - BATCH_DUMP_MARK.length))
    if (mark < 0) {
      this.searchedTo = this.headLen
      if (this.headLen > this.headLimit) this.fail(`the map listing is longer than ${this.headLimit} bytes`)
      return
    }
    if (mark > this.headLimit) return this.fail(`the map listing is longer than ${this.headLimit} bytes`)
    const pathStart = mark + BATCH_DUMP_MARK.length
    const pathEnd = buf.indexOf(BATCH_DUMP_OUTPUT, pathStart)
    if (pathEnd < 0) {
      this.searchedTo = mark
      if (this.headLen - pathStart > DUMP_COMMAND_MAX) this.fail('the dump command in the batch output is too long')
      return
    }
    const path = buf.toString('latin1', pathStart, pathEnd)
    if (!CT_CANDIDATE_PATHS.includes(path)) return this.fail('the dump in the batch output names no conntrack map')
    this.dumped = path
    const rest = Buffer.from(buf.subarray(pathEnd + BATCH_DUMP_OUTPUT.length))
    this.head = this.head.subarray(0, mark)
    this.headLen = mark
    // The dump is followed by `}]`, which the scanner ignores once the dump's array (or error object) has ended.
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

  /**
   * The listing's JSON: between BATCH_HEAD and the dump's command, or, when nothing was dumped, up to the batch's
   * closing `}]`. '' when the output did not even start as batch JSON.
   */
  listing(): string {
    if (this.headLen < BATCH_HEAD.length) return ''
    let end = this.headLen
    if (this.dumped === undefined) {
      const text = this.head.toString('latin1', 0, end).trimEnd()
      end = text.endsWith('}]') ? text.length - 2 : text.length
    }
    return this.head.toString('utf8', BATCH_HEAD.length, end)
  }

  private fail(problem: string): void {
    this.problem = problem
    this.head = Buffer.alloc(0)
    this.headLen = 0
  }
}

/**
 * One remote command: `map show`, then the dump of the conntrack map (one bpftool batch), tallied. Returns undefined
 * when the two-command read must be used instead (the shell or the batch could not run, selectMaps picks another map
 * than the one dumped, or the dump has more distinct signatures than a tally keeps).
 */
export async function countConntrackOneCommand(
  runner: NodeRunner,
  node: NodeTarget,
  opts: DataplaneReadOptions,
  tallyOpts: {maxSignatures?: number} = {},
): Promise<CtCount | undefined> {
  const tally = new ConntrackTally(tallyOpts.maxSignatures)
  const scanner = new BpftoolDumpScanner((k, v) => tally.add(k, v))
  const split = new BatchShowDumpSplitter(limits(opts).whole, scanner)
  const res = await runner.run(node, ['sh', '-c', CT_COUNT_SCRIPT, 'ebpfctl-ct-count', ...CT_CANDIDATE_PATHS], {
    timeoutMs: opts.timeoutMs,
    maxOutputBytes: limits(opts).stream,
    onStdout: (chunk) => split.push(chunk),
  })
  // No dump and a failure: `map show` or bpftool's batch failed, or sh itself is missing; the two-command read says
  // which, as before.
  if (split.dumped === undefined && res.exitCode !== 0) return undefined
  if (split.problem) {
    throw new DataplaneReadError(node.name, 'bpftool-failed', `the conntrack read printed something unexpected: ${split.problem}`)
  }
  const selection = await selectionFromShow(runner, node, opts, {stdout: split.listing(), stderr: res.stderr, exitCode: 0})
  if (!selection.conntrack) throw notActive(node.name, 'no cali_v4_ct* map is pinned')
  if (selection.conntrack.path !== split.dumped) return undefined
  if (res.exitCode !== 0) {
    // bpftool -j prints its errors into the JSON (the scanner keeps them), older versions also on stderr.
    const why = res.stderr.trim().split('\n')[0] || scanner.stats.errors[0] || `exit status ${res.exitCode}`
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
