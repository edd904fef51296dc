/** The local transport: runs argv on this machine (execa, no shell), for `ebpfctl check` without a cluster. */
import {constants} from 'node:os'

import {execa} from 'execa'

import {ByteBudget, OutputLimits, backpressure, timeoutWording} from './bounds.js'
import {
  type NodeRunner,
  type NodeTarget,
  type RunOptions,
  type RunResult,
  NodeAccessError,
  outputLimitError,
} from './types.js'

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
    const where = `${node.name} (local): ${file}`
    const limit = opts.maxOutputBytes ?? OutputLimits.small
    const out = new ByteBudget(limit)
    const errs = new ByteBudget(OutputLimits.stderr)
    const sub = execa(file, args, {
      reject: false,
      killSignal: 'SIGKILL',
      stripFinalNewline: false,
      stdin: 'ignore',
      // Our own budgets instead of execa's buffers, so endless output is stopped rather than collected.
      buffer: false,
      env: this.opts.env,
    })
    let stopped: NodeAccessError | undefined
    let stop!: (err: NodeAccessError) => void
    // Our own deadline, not execa's `timeout`: that one waits for the pipes to close, which a grandchild that inherited
    // them (`sh -c 'sleep 1000 &'`) keeps open for as long as it runs.
    const abandoned = new Promise<never>((_, reject) => {
      stop = (err) => {
        if (stopped) return
        stopped = err
        sub.kill('SIGKILL')
        sub.stdout?.destroy()
        sub.stderr?.destroy()
        reject(err)
      }
    })
    abandoned.catch(() => {})
    const timer = setTimeout(
      () => stop(new NodeAccessError(node.name, 'timeout', `${where} ${timeoutWording(opts.timeoutMs)}`, {via: 'local', target: 'local'})),
      opts.timeoutMs,
    )
    sub.stdout?.on('data', (d: Buffer) => {
      if (stopped) return
      if (!out.take(d, !opts.onStdout)) return stop(outputLimitError(node.name, where, limit, 'local', 'local'))
      const wait = backpressure(opts.onStdout?.(d))
      if (wait) {
        sub.stdout?.pause()
        wait.then(
          () => sub.stdout?.resume(),
          () => sub.stdout?.resume(),
        )
      }
    })
    sub.stderr?.on('data', (d: Buffer) => errs.take(d))
    let r: Awaited<typeof sub>
    try {
      r = await Promise.race([sub, abandoned])
    } finally {
      clearTimeout(timer)
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
    return {stdout: opts.onStdout ? '' : out.text(), stderr: errs.text(), exitCode}
  }

  async close(): Promise<void> {}
}
