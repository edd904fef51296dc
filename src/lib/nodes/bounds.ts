/**
 * Byte bounds for everything read from a node or pod (agent and bpftool output over SSH, exec and the local runner),
 * and the words that say which bound was hit. Without them an agent that prints forever grows ebpfctl without limit
 * (4.5 GB RSS was seen); with them a read ends with "output limit reached (N bytes)" or "timed out after Ns".
 */

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

export const OutputLimits = {
  /** Default for streamed dumps (conntrack), which are parsed as they arrive; --max-output-bytes changes it. */
  stream: 1 * GiB,
  /** Output parsed as one document (JSON dumps, `bpftool map show`), per node. */
  parsedWhole: 32 * MiB,
  /** Small reads (crictl ps, stand-alone commands): the default when a caller names none. */
  small: 16 * MiB,
  /** The node probe (uname, /proc files, kernel config). */
  probe: 4 * MiB,
  /** stderr is only ever shown to a user or matched for an error message. */
  stderr: 64 * KiB,
} as const

/** The promise a streaming consumer returned as backpressure, if it returned one. */
export function backpressure(result: unknown): Promise<unknown> | undefined {
  return result instanceof Promise ? result : undefined
}

/** "1.0 GiB", "32 MiB", "4096 bytes". */
export function formatBytes(n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`
  return `${n} bytes`
}

export const outputLimitWording = (limit: number) => `output limit reached (${formatBytes(limit)})`
export const timeoutWording = (ms: number) => `timed out after ${ms % 1000 === 0 ? ms / 1000 : (ms / 1000).toFixed(1)}s`

/**
 * Counts bytes of one output stream against its limit. stdout: `take` says false once the limit is passed (the caller
 * kills the command and reports it). stderr: kept up to the limit, the rest dropped with a note.
 */
export class ByteBudget {
  private bytes = 0
  private readonly parts: Buffer[] = []
  private truncated = false

  constructor(readonly limit: number) {}

  /** Keeps chunk if it fits; false when the limit is exceeded (what fits is kept). */
  take(chunk: Buffer, keep = true): boolean {
    const room = this.limit - this.bytes
    this.bytes += chunk.length
    if (chunk.length <= room) {
      if (keep) this.parts.push(chunk)
      return true
    }
    if (keep && room > 0) this.parts.push(chunk.subarray(0, room))
    this.truncated = true
    return false
  }

  /** Bytes offered so far, kept or not. */
  get used(): number {
    return this.bytes
  }

  get exceeded(): boolean {
    return this.truncated
  }

  text(): string {
    const s = Buffer.concat(this.parts).toString('utf8')
    return this.truncated ? `${s}\n[… stderr cut at ${formatBytes(this.limit)}]\n` : s
  }
}

/** Parses `--max-output-bytes` values: 1048576, 64Ki, 512Mi, 1Gi (also K/M/G, KB/MB/GB as powers of 1024). */
export function parseByteSize(text: string, flag = 'max-output-bytes'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$/i.exec(text)
  if (!m) throw new Error(`--${flag} expects a size like 64Mi or 1Gi, got ${JSON.stringify(text)}`)
  const unit = (m[2] ?? '').toUpperCase().replace(/I?B$|I$/, '')
  const mult = {'': 1, K: KiB, M: MiB, G: GiB, T: 1024 * GiB}[unit] ?? 1
  const n = Math.floor(Number(m[1]) * mult)
  if (n < 1) throw new Error(`--${flag} must be at least 1 byte`)
  return n
}
