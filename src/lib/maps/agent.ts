/**
 * Running Calico's node-side BPF tool: argv construction, version gates and failure diagnosis
 * (calico-bpf.md §0, §7; peers.md §3.2).
 */

/** `calico-node -bpf …` (every release ≤ v3.32.x and v3.33) or `calico component node bpf …` (v3.34.0-0.dev / HEAD). */
export type AgentStyle = 'calico-node' | 'calico'

export interface AgentArgvOptions {
  style: AgentStyle
  /** Subcommand words, e.g. `['conntrack', 'dump']`, `['nat', 'dump']`, `['nat', 'aff']`. */
  cmd: string[]
  /** Positional arguments after the subcommand (e.g. nat dump's `<ip> <port> <proto>`). */
  args?: string[]
  json?: boolean
  ipv6?: boolean
  /** conntrack dump --raw */
  raw?: boolean
  /** nat dump --group-by-service */
  groupByService?: boolean
  /** --log-level (default warn) */
  logLevel?: string
}

/**
 * The argv to run inside the calico-node container. Flags always come AFTER the subcommand: `calico-node` parses its
 * own Go flags first and would fail with `flag provided but not defined: -6` otherwise (§0.1).
 * `agentArgv({style: 'calico-node', cmd: ['conntrack', 'dump'], json: true})` → `['calico-node', '-bpf', 'conntrack', 'dump', '--json']`.
 */
export function agentArgv(opts: AgentArgvOptions): string[] {
  const head = opts.style === 'calico' ? ['calico', 'component', 'node', 'bpf'] : ['calico-node', '-bpf']
  const out = [...head, ...opts.cmd, ...(opts.args ?? [])]
  if (opts.ipv6) out.push('-6')
  if (opts.raw) out.push('--raw')
  if (opts.groupByService) out.push('--group-by-service')
  if (opts.json) out.push('--json')
  if (opts.logLevel) out.push(`--log-level=${opts.logLevel}`)
  return out
}

export interface CalicoVersion {
  major: number
  minor: number
  patch: number
  /** e.g. `0.dev`, `rc1`; '' for a release. */
  pre: string
}

/** Parses `v3.31.5`, `3.32.0`, `v3.34.0-0.dev`, `Version: v3.30.2` …; undefined when there is no x.y.z. */
export function parseCalicoVersion(text: string): CalicoVersion | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?/.exec(text)
  if (!m) return undefined
  return {major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] ?? ''}
}

function atLeast(v: CalicoVersion, major: number, minor: number, patch: number): boolean {
  if (v.major !== major) return v.major > major
  if (v.minor !== minor) return v.minor > minor
  return v.patch >= patch
}

/**
 * Whether the node tool accepts `-j/--json`: v3.31.5+ on the 3.31 line, v3.32.0+ and later (§0.2).
 * Unparseable versions → false (use text). A `-0.dev` pre-release of a new minor counts as that minor.
 */
export function supportsJson(calicoVersion: string): boolean {
  const v = parseCalicoVersion(calicoVersion)
  if (!v) return false
  if (v.major !== 3) return v.major > 3
  if (v.minor === 31) return v.patch >= 5
  return v.minor >= 32
}

/** `calico` (component) style for v3.34.0-0.dev and later, `calico-node` before (§0.1). */
export function agentStyleFor(calicoVersion: string): AgentStyle {
  const v = parseCalicoVersion(calicoVersion)
  return v && atLeast(v, 3, 34, 0) ? 'calico' : 'calico-node'
}

/** `-6` exists from v3.27.0 (§0.2). */
export function supportsIpv6(calicoVersion: string): boolean {
  const v = parseCalicoVersion(calicoVersion)
  return v !== undefined && atLeast(v, 3, 27, 0)
}

/**
 * `nat dump` on ≤ v3.26 loops ~4.29e9 times on a blackhole frontend (LB with loadBalancerSourceRanges), §1.4/§5.
 * True when the version is affected (or unknown).
 */
export function natDumpBlackholeLoopRisk(calicoVersion: string): boolean {
  const v = parseCalicoVersion(calicoVersion)
  return v === undefined || !atLeast(v, 3, 27, 0)
}

export type AgentFailureReason =
  | 'map-missing' // the BPF dataplane is not active (maps not pinned)
  | 'binary-missing' // calico-node (or calico) is not in the image
  | 'container-missing' // kubectl: pod or container not found
  | 'unsupported-flag' // e.g. --json on ≤ v3.31.4, -6 on ≤ v3.26
  | 'unknown-command' // subcommand not in this version (e.g. nat aff on v3.22, conntrack stats < v3.30)
  | 'not-found' // nat dump <ip> <port> <proto>: frontend not in the map
  | 'permission' // operation not permitted / permission denied
  | 'usage' // cobra argument error
  | 'agent-error' // an error/fatal log line we do not classify further
  | 'exit-code' // non-zero exit without a recognisable message

export type AgentDiagnosis =
  | {ok: true; warnings: string[]}
  | {ok: false; reason: AgentFailureReason; message: string; detail: string; warnings: string[]}

const MESSAGES: Record<AgentFailureReason, string> = {
  'map-missing': "the BPF dataplane is not active on this node (Calico's BPF maps are not pinned)",
  'binary-missing': 'the Calico BPF tool is not in this container image (try the other calico-node/calico style)',
  'container-missing': 'the calico-node pod or container was not found',
  'unsupported-flag': 'this Calico version does not support a flag that was passed (e.g. --json before v3.31.5)',
  'unknown-command': 'this Calico version does not have that bpf subcommand',
  'not-found': 'the requested frontend is not in the NAT map',
  permission: 'the BPF tool was not allowed to open the maps (needs a privileged calico-node container)',
  usage: 'the BPF tool rejected its arguments',
  'agent-error': 'the Calico BPF tool reported an error',
  'exit-code': 'the Calico BPF tool failed',
}

function headTail(text: string, n: number): string[] {
  const head: string[] = []
  let pos = 0
  for (let i = 0; i < n && pos < text.length; i++) {
    let nl = text.indexOf('\n', pos)
    if (nl < 0) nl = text.length
    head.push(text.slice(pos, nl))
    pos = nl + 1
  }
  const tail: string[] = []
  let end = text.length
  for (let i = 0; i < n && end > pos; i++) {
    const nl = text.lastIndexOf('\n', end - 1)
    const from = Math.max(nl + 1, pos)
    tail.unshift(text.slice(from, end))
    end = nl < pos ? pos : nl
  }
  return [...head, ...tail]
}

/** Error-level log lines: logrus text (`level=error`), logrus TTY (`ERRO[0000]`), Calico's own (`[ERROR][pid]`). */
const ERROR_LINE = /(?:\blevel=(?:error|fatal|panic)\b|^\s*(?:ERRO|FATA|PANI)\[|\[(?:ERROR|FATAL|PANIC)\]\[)/
const WARN_LINE = /(?:\blevel=warn(?:ing)?\b|^\s*WARN\[|\[WARNING\]\[)/
const ANY_LOG_LINE =
  /(?:\blevel=\w+\b.*\bmsg=|^\s*time="|^\s*(?:INFO|WARN|DEBU|TRAC)\[\d+\]|^\s*\d{4}-\d{2}-\d{2}[ T]\S+\s+\[[A-Z]+\]\[\d+\])/

/**
 * Decides whether an agent run failed, from its output as well as its exit code: the tool exits 0 on most runtime
 * errors and only logs them (§0.3), so any error/fatal log line (or a known message) means failure.
 */
export function diagnoseAgentFailure(
  stdout: string,
  stderr: string,
  exitCode: number | null | undefined,
): AgentDiagnosis {
  const warnings: string[] = []
  const errorLines: string[] = []
  // Lines that are not log lines at all (kubectl/OCI messages, cobra output, plain fmt.Print errors).
  const plainLines: string[] = []
  // stderr in full; stdout (which can be 512,000 data lines) only at its head and tail, where noise lands.
  const outLines = stdout.length > 1 << 16 ? headTail(stdout, 40) : stdout.split('\n')
  for (const raw of [...stderr.split('\n'), ...outLines]) {
    const line = raw.trimEnd()
    if (!line) continue
    if (ERROR_LINE.test(line) || /^Error: /.test(line.trim())) errorLines.push(line.trim())
    else if (WARN_LINE.test(line)) warnings.push(line.trim())
    else if (!ANY_LOG_LINE.test(line)) plainLines.push(line.trim())
  }
  const fail = (reason: AgentFailureReason, detail: string): AgentDiagnosis => ({
    ok: false,
    reason,
    message: MESSAGES[reason],
    detail,
    warnings,
  })
  // Info/warn/debug log lines never decide a failure (a warning may mention a missing optional map).
  const find = (re: RegExp): string | undefined => {
    for (const l of errorLines) if (re.test(l)) return l
    for (const l of plainLines) if (re.test(l)) return l
    return undefined
  }
  let hit: string | undefined
  // Ordered most specific first.
  if (
    (hit = find(
      // The last: a prefix that execs it (nsenter "failed to execute calico-node: No such file…", env "'calico': No such…").
      /executable file not found|exec: "?calico(-node)?"?: not found|no such file or directory: unknown|calico(-node)?: not found|(failed to execute |')calico(-node)?'?: no such file or directory/i,
    ))
  ) {
    return fail('binary-missing', hit)
  }
  if (
    (hit = find(
      /container not found|Error from server \(NotFound\)|pods? "[^"]+" not found|error: unable to upgrade connection: container not found/,
    ))
  ) {
    return fail('container-missing', hit)
  }
  if ((hit = find(/flag provided but not defined|unknown flag:|unknown shorthand flag/)))
    return fail('unsupported-flag', hit)
  if ((hit = find(/unknown command "|Error: unknown command/))) return fail('unknown-command', hit)
  if (
    (hit = find(
      /\/sys\/fs\/bpf\/\S*:? ?no such file or directory|stat \/sys\/fs\/bpf\S*[^\n]*no such file|Failed to get ConntrackMap|failed to access conntrack Map|map not found|no such file or directory/i,
    ))
  ) {
    return fail('map-missing', hit)
  }
  if ((hit = find(/not found in NAT map/))) return fail('not-found', hit)
  if ((hit = find(/operation not permitted|permission denied/i))) return fail('permission', hit)
  if ((hit = find(/^Error: (accepts|requires|invalid argument|unknown protocol)/))) return fail('usage', hit)
  if (errorLines.length > 0) return fail('agent-error', errorLines[0]!)
  if (exitCode !== 0 && exitCode !== null && exitCode !== undefined) {
    const last = stderr.trim().split('\n').pop()?.trim() ?? ''
    return fail('exit-code', last ? `exit code ${exitCode}: ${last}` : `exit code ${exitCode}`)
  }
  return {ok: true, warnings}
}
