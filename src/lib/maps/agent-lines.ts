/**
 * The lines of the agent's text output and the tokens in them: splitting into lines, accounting for lines not
 * understood, addresses (ip:port) and Go durations.
 *
 * Recognises the non-data lines that surround real `calico-node -bpf` output (peers.md §5): log lines in every
 * format Calico used, kubectl's messages, grep separators, shell prompts and echoed commands.
 */

import type {ParseResult} from './model.js'

export type NoiseKind = 'noise' | 'error'

const CALICO_LOG = /^\s*\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?\s+\[([A-Z]+)\]\[\d+\]\s/
const LOGRUS_TEXT = /^\s*time="[^"]*"\s+level=(\w+)|^\s*level=(\w+)\s+msg=/
const LOGRUS_TTY = /^\s*(INFO|WARN|ERRO|FATA|DEBU|TRAC|PANI)\[\d+\]/
// `user@host:dir$ `, `[user@host dir]# ` (bash on RHEL/UBI images, which calico-node is built on: projectcalico/calico#9675),
// `$ `, `# `, `> `, PowerShell.
const PROMPT = /^\s*(?:[^\s@]+@[^\s:@]+:[^#$]*[#$]\s|\[[^\]\s@]+@[^\]]*\][#$](?:\s|$)|[$#>]\s|PS [^>]*>\s)/
const COMMAND =
  /^\s*(?:sudo\s+)?(?:kubect\w*|oc|calico-node|calico|calicoctl|bpftool|crictl|docker|nerdctl|ssh|watch|grep)\s/
const KUBECTL_MSG =
  /^\s*(?:Defaulted container "|Unable to use a TTY|If you don't see a command prompt|warning: couldn't attach)/
const GREP_SEP = /^\s*--\s*$/
const CONFIG_FILE = /^\s*Using config file: /
const ERROR_PREFIX = /^\s*(?:Error: |error: |command terminated with exit code \d+)/

/**
 * `'error'` for error-level log lines and `Error:` lines, `'noise'` for other recognised non-data lines,
 * undefined for anything else (a data line or an unknown line).
 */
export function classifyNoise(line: string): NoiseKind | undefined {
  let m = CALICO_LOG.exec(line)
  if (m) return m[1] === 'ERROR' || m[1] === 'FATAL' || m[1] === 'PANIC' ? 'error' : 'noise'
  m = LOGRUS_TEXT.exec(line)
  if (m) {
    const level = (m[1] ?? m[2] ?? '').toLowerCase()
    return level === 'error' || level === 'fatal' || level === 'panic' ? 'error' : 'noise'
  }
  m = LOGRUS_TTY.exec(line)
  if (m) return m[1] === 'ERRO' || m[1] === 'FATA' || m[1] === 'PANI' ? 'error' : 'noise'
  if (ERROR_PREFIX.test(line)) return 'error'
  if (GREP_SEP.test(line) || KUBECTL_MSG.test(line) || CONFIG_FILE.test(line)) return 'noise'
  if (PROMPT.test(line) || COMMAND.test(line)) return 'noise'
  return undefined
}

/** Accumulates unknown lines, noise and errors while a parser walks its input. */
export class LineAccounting {
  unknownLines = 0
  noiseLines = 0
  samples: string[] = []
  errors: string[] = []
  truncatedLastLine = false
  constructor(private readonly maxSamples = 5) {}

  /** The parse result for `entries` with this accounting. */
  result<T>(entries: T[]): ParseResult<T> {
    return {
      entries,
      unknownLines: this.unknownLines,
      samples: this.samples,
      errors: this.errors,
      noiseLines: this.noiseLines,
      truncatedLastLine: this.truncatedLastLine,
    }
  }

  /** Classifies a line no data pattern matched. `isLast` with `cutOff` marks a final line without its newline. */
  other(line: string, cutOff: boolean): void {
    const kind = classifyNoise(line)
    if (kind === 'error') {
      this.noiseLines++
      this.errors.push(line.trim())
      return
    }
    if (kind === 'noise') {
      this.noiseLines++
      return
    }
    if (cutOff) {
      this.truncatedLastLine = true
      if (this.samples.length < this.maxSamples) this.samples.push(line)
      return
    }
    this.unknownLines++
    if (this.samples.length < this.maxSamples) this.samples.push(line)
  }
}

/**
 * Splits text into lines (LF or CRLF) and tells whether the last line was cut off (no final newline).
 * Calls `fn(line, cutOff)` for each non-blank line.
 */
export function forEachLine(text: string, fn: (line: string, cutOff: boolean) => void): void {
  const endsWithNewline = text.length === 0 || text.endsWith('\n')
  let start = 0
  const n = text.length
  while (start < n) {
    let end = text.indexOf('\n', start)
    const last = end === -1
    if (last) end = n
    let line = text.slice(start, end)
    if (line.endsWith('\r')) line = line.slice(0, -1)
    start = end + 1
    if (line.length === 0) continue
    const c0 = line.charCodeAt(0)
    if ((c0 === 32 || c0 === 9) && /^\s*$/.test(line)) continue
    fn(line, last && !endsWithNewline)
  }
}

/**
 * `1.2.3.4:80`, `[fd00::1]:80`, `fd00:10:244::3:40000` (v6 without brackets: split on the last colon),
 * and v3.27.0's `1.2.3.4 : 80`. Undefined if there is no valid port.
 */
export function parseHostPort(text: string): {ip: string; port: number} | undefined {
  let s = text
  let ipStart = 0
  let ipEnd: number
  let portStart: number
  if (s.charCodeAt(0) === 91 /* [ */) {
    const close = s.indexOf(']')
    if (close < 0 || s.charCodeAt(close + 1) !== 58) return undefined
    ipStart = 1
    ipEnd = close
    portStart = close + 2
  } else {
    if (s.includes(' ')) {
      s = s.trim().replace(/\s+:\s+/, ':')
    }
    const colon = s.lastIndexOf(':')
    if (colon <= 0) return undefined
    ipEnd = colon
    portStart = colon + 1
  }
  const n = s.length
  if (portStart >= n || n - portStart > 5) return undefined
  let port = 0
  for (let i = portStart; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return undefined
    port = port * 10 + (c - 48)
  }
  if (port > 65535 || ipEnd <= ipStart) return undefined
  for (let i = ipStart; i < ipEnd; i++) {
    const c = s.charCodeAt(i)
    // 0-9 . : a-f A-F
    if (!((c >= 48 && c <= 58) || c === 46 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return undefined
  }
  return {ip: s.slice(ipStart, ipEnd), port}
}

const DURATION_UNITS: Record<string, number> = {h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, μs: 1e-6, ns: 1e-9}
const DURATION_UNITS_NS: Record<string, bigint> = {
  h: 3_600_000_000_000n,
  m: 60_000_000_000n,
  s: 1_000_000_000n,
  ms: 1_000_000n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ns: 1n,
}
const DURATION_PART = /(\d+)(?:\.(\d+))?(h|ms|m|s|us|µs|μs|ns)/y

/** Go `time.Duration.String()` text (`1h2m3.456789012s`, `493.47131ms`, `0s`, `-1.5s`) → seconds; undefined if invalid. */
export function parseGoDuration(text: string): number | undefined {
  const n = text.length
  if (n === 0) return undefined
  // Fast path for the common `12.345s` / `493.47131ms` shapes: digits, one optional dot, then `s` or `ms`.
  const last = text.charCodeAt(n - 1)
  if (last === 115 /* s */) {
    const ms = n >= 3 && text.charCodeAt(n - 2) === 109 /* m */
    const end = ms ? n - 2 : n - 1
    let ok = end > 0
    let dot = false
    for (let i = 0; i < end && ok; i++) {
      const c = text.charCodeAt(i)
      if (c === 46 && !dot && i > 0) dot = true
      else if (c < 48 || c > 57) ok = false
    }
    if (ok) {
      const v = Number(text.slice(0, end))
      return ms ? Math.round(v * 1e6) / 1e9 : v
    }
  }
  let neg = false
  let i = 0
  if (text.charCodeAt(0) === 45) {
    neg = true
    i = 1
  }
  let total = 0
  DURATION_PART.lastIndex = i
  while (DURATION_PART.lastIndex < n) {
    const m = DURATION_PART.exec(text)
    if (!m) return undefined
    const value = m[2] === undefined ? Number(m[1]) : Number(`${m[1]}.${m[2]}`)
    total += value * DURATION_UNITS[m[3]!]!
  }
  if (DURATION_PART.lastIndex !== n) return undefined
  // Round to the nanosecond to undo float noise from unit scaling.
  total = Math.round(total * 1e9) / 1e9
  return neg ? -total : total
}

/** Go duration text → exact nanoseconds as a decimal string; undefined if invalid. */
export function goDurationToNs(text: string): string | undefined {
  const re = new RegExp(DURATION_PART.source, 'y')
  let i = 0
  let neg = false
  if (text.startsWith('-')) {
    neg = true
    i = 1
  }
  re.lastIndex = i
  let total = 0n
  if (text.length <= i) return undefined
  while (re.lastIndex < text.length) {
    const m = re.exec(text)
    if (!m) return undefined
    const unit = DURATION_UNITS_NS[m[3]!]!
    total += BigInt(m[1]!) * unit
    if (m[2] !== undefined) {
      const frac = m[2]
      total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length)
    }
  }
  return (neg ? -total : total).toString()
}
