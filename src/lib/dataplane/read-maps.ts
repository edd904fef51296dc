import {once} from 'node:events'
import {PassThrough} from 'node:stream'

import {
  type AgentStyle,
  type BpfMapInfo,
  type ConntrackEntry,
  type MapSelection,
  type NatFrontend,
  ConntrackTextParser,
  agentArgv,
  agentStyleFor,
  decodeConntrackDump,
  decodeNatDump,
  diagnoseAgentFailure,
  liveMapIdsFrom,
  newScanStats,
  parseConntrackJson,
  parseNatDumpJson,
  parseNatDumpText,
  selectMaps,
  supportsJson,
} from '../maps/index.js'
import {OutputLimits, backpressure} from '../nodes/bounds.js'
import {type NodeRunner, type NodeTarget, NodeAccessError} from '../nodes/types.js'

/**
 * Reading a node's Calico BPF maps through a NodeRunner, from either source:
 * - agent: Calico's own tool in the calico-node container (`calico-node -bpf …`, or `calico component node bpf …`);
 * - bpftool: the pinned maps read directly, decoded here; works where calico-node itself is broken.
 */
export type DumpSource = 'agent' | 'bpftool' | 'auto'
export type ReadSource = 'agent-json' | 'agent-text' | 'bpftool'

export interface DataplaneReadOptions {
  source: DumpSource
  timeoutMs: number
  /** Calico version from the cluster: picks the agent's command style and whether it has --json. */
  calicoVersion?: string
  /** Argv prefix that reaches the calico-node container over SSH, e.g. ['crictl', 'exec', '<id>']. */
  agentPrefix?: string[]
  /** Over SSH, find the calico-node container with `crictl ps --name calico-node -q` and exec into it. */
  agentCrictl?: boolean
  /** Whether the agent is reachable at all with this transport (exec: yes; ssh: only with a prefix). */
  agentReachable: boolean
  /** Bytes a streamed dump may print per node (--max-output-bytes; default OutputLimits.stream). */
  maxOutputBytes?: number
}

/** Per-node byte bounds: streamed dumps get the --max-output-bytes budget, output parsed whole at most 32 MiB. */
export function limits(opts: DataplaneReadOptions): {stream: number; whole: number} {
  const stream = opts.maxOutputBytes ?? OutputLimits.stream
  return {stream, whole: Math.min(stream, OutputLimits.parsedWhole)}
}

/** The node answered, but its dataplane could not be read; `reason` says why, in words a user can act on. */
export class DataplaneReadError extends Error {
  constructor(
    readonly node: string,
    readonly reason: string,
    message: string,
    readonly remedy?: string,
  ) {
    super(message)
    this.name = 'DataplaneReadError'
  }
}

export interface NatRead {
  source: ReadSource
  frontends: NatFrontend[]
  unknownLines: number
  warnings: string[]
}

export interface ConntrackReadSummary {
  source: ReadSource
  entries: number
  unknownLines: number
  warnings: string[]
  mapSize?: number
}

export const notActive = (node: string, detail: string) =>
  new DataplaneReadError(
    node,
    'map-missing',
    `the BPF dataplane is not active on this node (${detail})`,
    'Enable BPF (ebpfctl enable) or check the calico-node log for "not supported by the kernel".',
  )

async function agentPrefixFor(runner: NodeRunner, node: NodeTarget, opts: DataplaneReadOptions): Promise<string[]> {
  if (opts.agentPrefix?.length) return opts.agentPrefix
  if (!opts.agentCrictl) return []
  const ps = await runner.run(node, ['crictl', 'ps', '--name', 'calico-node', '-q'], {timeoutMs: opts.timeoutMs})
  const id = ps.stdout.trim().split('\n')[0]?.trim()
  if (ps.exitCode !== 0 || !id) {
    throw new DataplaneReadError(node.name, 'container-missing', 'no running calico-node container found with crictl', 'Check calico-node on this node, or use --source bpftool.')
  }
  return ['crictl', 'exec', id]
}

/** Where Calico v3.33+ images put their one binary (`calico component node bpf …`); older ones have `calico-node`. */
export const CALICO_BINARY = '/usr/bin/calico'

/**
 * The agent's command styles to try, most likely first. Chosen by what the container has (`test -x /usr/bin/calico`:
 * v3.33 ships only `calico`, whatever its version says), not by version number; the version only orders the two when
 * the probe itself cannot run. The other style is always tried when the first binary is missing.
 */
async function agentStyles(runner: NodeRunner, node: NodeTarget, prefix: string[], opts: DataplaneReadOptions): Promise<AgentStyle[]> {
  const probe = await runner.run(node, [...prefix, 'test', '-x', CALICO_BINARY], {timeoutMs: opts.timeoutMs})
  if (probe.exitCode === 0) return ['calico', 'calico-node']
  if (probe.exitCode === 1) return ['calico-node', 'calico']
  return opts.calicoVersion && agentStyleFor(opts.calicoVersion) === 'calico' ? ['calico', 'calico-node'] : ['calico-node', 'calico']
}

/**
 * A user-given --agent-cmd that could not run: its own program named in the error, or exit 126/127 when the error is
 * not about Calico's binary (that one is missing in some images, and the other command style is tried).
 */
function agentCmdFailure(
  node: NodeTarget,
  opts: DataplaneReadOptions,
  res: {stderr: string; exitCode: number | null},
  reason: string,
): DataplaneReadError | undefined {
  const prefix = opts.agentPrefix
  if (!prefix?.length) return undefined
  const first = res.stderr.trim().split('\n')[0]?.trim() ?? ''
  const program = prefix[0]!
  const namesProgram = first.includes(program) && !first.includes('/sys/fs/bpf')
  const calicoMissing = reason === 'binary-missing' && /calico(-node)?\b/.test(first)
  if (!namesProgram && (calicoMissing || (res.exitCode !== 126 && res.exitCode !== 127))) return undefined
  return new DataplaneReadError(
    node.name,
    'agent-cmd-failed',
    `--agent-cmd "${prefix.join(' ')}" failed (exit ${res.exitCode}): ${first || 'no error output'}`,
    'Fix --agent-cmd (it must run the rest of the command inside the calico-node container), or use --source bpftool.',
  )
}

/** Runs one agent subcommand, trying the other command style and text output when the image calls for it. */
export async function runAgent(
  runner: NodeRunner,
  node: NodeTarget,
  cmd: string[],
  opts: DataplaneReadOptions,
  onStdout?: (chunk: Buffer) => unknown,
): Promise<{stdout: string; json: boolean}> {
  const prefix = await agentPrefixFor(runner, node, opts)
  const styles = await agentStyles(runner, node, prefix, opts)
  const jsonFirst = opts.calicoVersion ? supportsJson(opts.calicoVersion) : true
  let lastFailure = ''
  for (const style of styles) {
    for (const json of jsonFirst ? [true, false] : [false]) {
      // Streaming only makes sense for text; JSON is one document and is parsed whole.
      const stream = !json && onStdout
      const res = await runner.run(node, [...prefix, ...agentArgv({style, cmd, json})], {
        timeoutMs: opts.timeoutMs,
        onStdout: stream ? onStdout : undefined,
        maxOutputBytes: stream ? limits(opts).stream : limits(opts).whole,
      })
      const diagnosis = diagnoseAgentFailure(stream ? '' : res.stdout, res.stderr, res.exitCode)
      if (diagnosis.ok) return {stdout: res.stdout, json}
      const cmdFailure = agentCmdFailure(node, opts, res, diagnosis.reason)
      if (cmdFailure) throw cmdFailure
      lastFailure = `${diagnosis.message}: ${diagnosis.detail}`
      if (diagnosis.reason === 'map-missing') throw notActive(node.name, diagnosis.detail)
      if (diagnosis.reason === 'unsupported-flag' && json) continue
      if (diagnosis.reason === 'binary-missing') break
      throw new DataplaneReadError(node.name, diagnosis.reason, lastFailure)
    }
  }
  throw new DataplaneReadError(node.name, 'agent-failed', lastFailure || 'the Calico BPF tool could not be run')
}

async function showMaps(runner: NodeRunner, node: NodeTarget, opts: DataplaneReadOptions): Promise<MapSelection> {
  const res = await runner.run(node, ['bpftool', '-j', '-f', 'map', 'show'], {
    timeoutMs: opts.timeoutMs,
    maxOutputBytes: limits(opts).whole,
  })
  return selectionFromShow(runner, node, opts, res)
}

/** Calico's maps from the output of `bpftool -j -f map show` (asks `bpftool prog show` when two versions are pinned). */
export async function selectionFromShow(
  runner: NodeRunner,
  node: NodeTarget,
  opts: DataplaneReadOptions,
  res: {stdout: string; stderr: string; exitCode: number},
): Promise<MapSelection> {
  if (res.exitCode !== 0) {
    const why = res.stderr.trim().split('\n')[0] ?? `exit ${res.exitCode}`
    throw new DataplaneReadError(
      node.name,
      /not found|No such file/.test(why) && !/\/sys\/fs\/bpf/.test(why) ? 'bpftool-missing' : 'bpftool-failed',
      `bpftool failed on this node: ${why}`,
      'Install bpftool on the node (Debian/Ubuntu: apt-get install bpftool) or use --source agent.',
    )
  }
  let show: BpfMapInfo[]
  try {
    show = JSON.parse(res.stdout) as BpfMapInfo[]
  } catch {
    throw new DataplaneReadError(node.name, 'bpftool-failed', 'bpftool printed something that is not JSON')
  }
  // Only Calico's pinned global maps count; bpftool lists every map on the host.
  const pinned = show.filter((m) => (m.pinned ?? []).some((p) => p.startsWith('/sys/fs/bpf/tc/globals/')))
  const input = {show: pinned, listing: pinned.flatMap((m) => (m.pinned ?? []).map((p) => p.split('/').pop()!))}
  const sel = selectMaps(input)
  if (sel.stale.length === 0) return sel
  // Two versions of a map are pinned (a stale one lingers after an upgrade): ask which one the loaded programs use.
  const progs = await runner.run(node, ['bpftool', '-j', 'prog', 'show'], {
    timeoutMs: opts.timeoutMs,
    maxOutputBytes: limits(opts).whole,
  })
  const liveMapIds = progs.exitCode === 0 ? liveMapIdsFrom(progs.stdout) : undefined
  if (!liveMapIds) {
    sel.warnings.push(`bpftool prog show failed, so ${sel.stale.join(', ')} may be the live map instead`)
    return sel
  }
  return selectMaps({...input, liveMapIds})
}

async function* chunksOf(
  runner: NodeRunner,
  node: NodeTarget,
  argv: string[],
  timeoutMs: number,
  maxOutputBytes: number,
): AsyncGenerator<Buffer> {
  const pipe = new PassThrough()
  let stderr = ''
  let exitCode = 0
  const done = runner
    // Backpressure: when the decoder falls behind, the runner stops reading until the pipe drains.
    .run(node, argv, {timeoutMs, maxOutputBytes, onStdout: (chunk) => (pipe.write(chunk) ? undefined : once(pipe, 'drain'))})
    .then((r) => {
      stderr = r.stderr
      exitCode = r.exitCode
      pipe.end()
    })
    .catch((err: unknown) => {
      pipe.destroy(err as Error)
    })
  for await (const chunk of pipe) yield chunk as Buffer
  await done
  if (exitCode !== 0) {
    throw new DataplaneReadError(node.name, 'bpftool-failed', `bpftool ${argv.slice(1).join(' ')} failed: ${stderr.trim().split('\n')[0] ?? ''}`)
  }
}

/** True when no line of the output starts a JSON document (the tool answered in text). */
export function noJsonIn(stdout: string): boolean {
  return !/^\s*(?:[[{]|null\b)/m.test(stdout)
}

/**
 * Output with no entry and lines we could not read is not "no entries": it is a read we did not understand, and saying
 * "No NAT entries matched" (exit 0) would be a wrong answer.
 */
function assertUnderstood(
  node: NodeTarget,
  what: string,
  parsed: {unknownLines: number; samples: string[]; errors: string[]; truncatedLastLine?: boolean},
): void {
  if (parsed.unknownLines === 0 && parsed.errors.length === 0 && !parsed.truncatedLastLine) return
  const sample = parsed.samples[0] ?? parsed.errors[0] ?? ''
  throw new DataplaneReadError(
    node.name,
    'not-understood',
    `the Calico BPF tool's ${what} output was not understood (${parsed.unknownLines} unreadable line(s), no entry)` +
      (sample ? `: ${JSON.stringify(sample.slice(0, 120))}` : ''),
    'Read the maps directly with --source bpftool, and report the output format with the Calico version.',
  )
}

export function wantAgent(opts: DataplaneReadOptions): boolean {
  if (opts.source === 'agent') return true
  if (opts.source === 'bpftool') return false
  return opts.agentReachable || Boolean(opts.agentPrefix?.length) || Boolean(opts.agentCrictl)
}

/** `auto`: the agent first; if it cannot run (not if the maps are simply missing), the pinned maps with bpftool. */
export async function withFallback<T>(opts: DataplaneReadOptions, agent: () => Promise<T>, bpftool: () => Promise<T>): Promise<T> {
  if (!wantAgent(opts)) return bpftool()
  if (opts.source === 'agent') return agent()
  try {
    return await agent()
  } catch (err) {
    if (err instanceof NodeAccessError) throw err
    // The maps are missing, or the user's own --agent-cmd failed: bpftool would hide what is wrong.
    if (err instanceof DataplaneReadError && (err.reason === 'map-missing' || err.reason === 'agent-cmd-failed')) throw err
    try {
      return await bpftool()
    } catch (fallbackErr) {
      // Both ways failed: say why the agent failed too, or an image without bpftool hides the agent's real problem.
      if (!(fallbackErr instanceof DataplaneReadError)) throw fallbackErr
      const agentWhy = (err as Error).message.split('\n')[0]!.slice(0, 300)
      throw new DataplaneReadError(
        fallbackErr.node,
        fallbackErr.reason,
        `${fallbackErr.message} (tried after the Calico BPF tool failed: ${agentWhy})`,
        fallbackErr.remedy,
      )
    }
  }
}

export async function readNat(runner: NodeRunner, node: NodeTarget, opts: DataplaneReadOptions): Promise<NatRead> {
  return withFallback<NatRead>(
    opts,
    async () => {
      const ran = await runAgent(runner, node, ['nat', 'dump'], opts)
      // JSON was asked for, but a tool that ignores --json answers in text: read it as text.
      const json = ran.json && !noJsonIn(ran.stdout)
      const parsed = json ? parseNatDumpJson(ran.stdout) : parseNatDumpText(ran.stdout)
      if (parsed.entries.length === 0) assertUnderstood(node, 'NAT', parsed)
      return {
        source: json ? 'agent-json' : 'agent-text',
        frontends: parsed.entries,
        unknownLines: parsed.unknownLines,
        warnings: parsed.errors,
      } satisfies NatRead
    },
    async () => {
      const maps = await showMaps(runner, node, opts)
      if (!maps.natFrontend || !maps.natBackend) throw notActive(node.name, 'no cali_v4_nat_fe*/cali_v4_nat_be map is pinned')
      const dump = (path: string) => chunksOf(runner, node, ['bpftool', '-j', 'map', 'dump', 'pinned', path], opts.timeoutMs, limits(opts).whole)
      const nat = await decodeNatDump({
        frontends: dump(maps.natFrontend.path),
        backends: dump(maps.natBackend.path),
        frontendLayout: maps.natFrontend.layout.id,
      })
      const warnings = [...maps.warnings, ...nat.frontendStats.errors, ...nat.backendStats.errors]
      if (nat.orphanBackends.length) warnings.push(`${nat.orphanBackends.length} backend entries belong to no frontend`)
      return {source: 'bpftool', frontends: nat.frontends, unknownLines: 0, warnings} satisfies NatRead
    },
  )
}

/** Streams conntrack entries in batches to `onEntries`; memory stays bounded for Calico's 512,000-entry maps. */
export async function streamConntrack(
  runner: NodeRunner,
  node: NodeTarget,
  opts: DataplaneReadOptions,
  /** May return a promise (the consumer's backpressure): reading pauses until it settles. */
  onEntries: (entries: ConntrackEntry[]) => unknown,
): Promise<ConntrackReadSummary> {
  return withFallback<ConntrackReadSummary>(
    opts,
    async () => {
      let batch: ConntrackEntry[] = []
      let count = 0
      let wait: Promise<unknown> | undefined
      const parser = new ConntrackTextParser((e) => {
        batch.push(e)
        count++
        if (batch.length >= 1024) {
          wait = backpressure(onEntries(batch)) ?? wait
          batch = []
        }
      })
      const {stdout, json} = await runAgent(runner, node, ['conntrack', 'dump'], opts, (chunk) => {
        parser.write(chunk)
        const pending = wait
        wait = undefined
        return pending
      })
      if (json && !noJsonIn(stdout)) {
        const parsed = parseConntrackJson(stdout)
        if (parsed.entries.length === 0) assertUnderstood(node, 'conntrack', parsed)
        await onEntries(parsed.entries)
        return {source: 'agent-json', entries: parsed.entries.length, unknownLines: parsed.unknownLines, warnings: parsed.errors}
      }
      if (json) parser.write(Buffer.from(stdout)) // text after all: it was not streamed
      parser.end()
      if (batch.length) await onEntries(batch)
      const result = parser.result()
      if (count === 0) assertUnderstood(node, 'conntrack', result)
      return {source: 'agent-text', entries: count, unknownLines: result.unknownLines, warnings: result.errors}
    },
    async () => {
      const maps = await showMaps(runner, node, opts)
      if (!maps.conntrack) throw notActive(node.name, 'no cali_v4_ct* map is pinned')
      const stats = newScanStats()
      let count = 0
      const dump = chunksOf(
        runner,
        node,
        ['bpftool', '-j', 'map', 'dump', 'pinned', maps.conntrack.path],
        opts.timeoutMs,
        limits(opts).stream,
      )
      for await (const batch of decodeConntrackDump(dump, {layout: maps.conntrack.layout.id, stats})) {
        count += batch.length
        await onEntries(batch)
      }
      return {
        source: 'bpftool',
        entries: count,
        unknownLines: stats.skipped,
        warnings: [...maps.warnings, ...stats.errors],
        mapSize: maps.conntrack.maxEntries,
      }
    },
  )
}
