/** The local transport: runs argv on this machine (execa, no shell), for `ebpfctl check` without a cluster. */
import {constants} from 'node:os'

import {execa} from 'execa'

import {type NodeRunner, type NodeTarget, type RunOptions, type RunResult, NodeAccessError} from './types.js'

const osSignals = constants.signals as Record<string, number>

export interface LocalRunnerOptions {
  /** Environment for the commands (merged with process.env, as execa does). */
  env?: Record<string, string>
}

export class LocalRunner implements NodeRunner {
  readonly via = 'local' as const
  private readonly opts: LocalRunnerOptions

  constructor(opts: LocalRunnerOptions = {}) {
    this.opts = opts
  }

  async run(node: NodeTarget, argv: string[], opts: RunOptions): Promise<RunResult> {
    const [file, ...args] = argv
    if (!file) throw new NodeAccessError(node.name, 'other', `${node.name}: empty command`, {via: 'local'})
    const sub = execa(file, args, {
      reject: false,
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
      stripFinalNewline: false,
      encoding: 'utf8',
      stdin: 'ignore',
      buffer: {stdout: !opts.onStdout, stderr: true},
      env: this.opts.env,
    })
    if (opts.onStdout) sub.stdout?.on('data', (d: Buffer) => opts.onStdout!(Buffer.isBuffer(d) ? d : Buffer.from(d)))
    const r = await sub
    if (r.timedOut) {
      throw new NodeAccessError(
        node.name,
        'timeout',
        `${node.name} (local): ${file} did not finish within ${opts.timeoutMs} ms`,
        {
          via: 'local',
          target: 'local',
        },
      )
    }
    if (r.exitCode === undefined && r.code === 'ENOENT') {
      // The shell convention for "command not found", so callers treat it like a remote `sh` would.
      return {stdout: '', stderr: `${file}: command not found\n`, exitCode: 127}
    }
    if (r.exitCode === undefined && !r.signal) {
      throw new NodeAccessError(node.name, 'other', `${node.name} (local): cannot run ${file}: ${r.shortMessage}`, {
        via: 'local',
        target: 'local',
        cause: r,
      })
    }
    const signal = r.signal ? (r.signal as string) : undefined
    const exitCode = r.exitCode ?? (signal ? 128 + (osSignals[signal] ?? 0) : -1)
    return {stdout: opts.onStdout ? '' : String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode}
  }

  async close(): Promise<void> {}
}
