/**
 * An interactive program on a pseudo-terminal (pty-run.py: python3's pty module, no native module), for tests that
 * press keys — TAB in a real shell. Waits are for output markers with a timeout, never sleeps; the whole session is
 * bounded by a deadline after which pty-run.py kills the program.
 */
import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process'
import {join} from 'node:path'
import {stripVTControlCharacters} from 'node:util'

const runner = join(import.meta.dirname, 'pty-run.py')

export interface PtyOptions {
  env: NodeJS.ProcessEnv
  cwd?: string
  /** Terminal size: wide, so a completion listing stays on a few lines. */
  cols?: number
  rows?: number
  /** The program is killed after this long, whatever the test does (default 3 min). */
  deadlineMs?: number
}

export class Pty {
  private raw = ''
  private exit: number | null | undefined
  private waiters = new Set<() => void>()
  private readonly child: ChildProcessWithoutNullStreams

  constructor(command: string, args: string[], opts: PtyOptions) {
    const deadline = String((opts.deadlineMs ?? 180_000) / 1000)
    this.child = spawn('python3', [runner, String(opts.cols ?? 200), String(opts.rows ?? 50), deadline, '--', command, ...args], {
      env: opts.env,
      cwd: opts.cwd,
    })
    const onData = (b: Buffer) => {
      this.raw += b.toString('utf8')
      for (const w of this.waiters) w()
    }
    this.child.stdout.on('data', onData)
    this.child.stderr.on('data', onData)
    // python3 missing: say so on the "screen", where a failed wait shows it.
    this.child.on('error', (err) => {
      onData(Buffer.from(`\npty: cannot start python3 (${err.message})\n`))
      this.exit = null
      for (const w of this.waiters) w()
    })
    this.child.on('exit', (code) => {
      this.exit = code
      for (const w of this.waiters) w()
    })
  }

  /** Everything the terminal showed so far, escape sequences removed (what a reader of the screen's text sees). */
  get text(): string {
    return stripVTControlCharacters(this.raw).replace(/\r/g, '')
  }

  /** A position in `text`: wait for output after it (so a marker echoed earlier does not count). */
  mark(): number {
    return this.text.length
  }

  /** Keys, as typed: '\t' is TAB, '\x15' Ctrl-U, '\r' Enter. */
  send(keys: string): void {
    this.child.stdin.write(keys)
  }

  /** The first match of `pattern` in the text after `from`; fails after timeoutMs with the screen's last lines. */
  waitFor(pattern: RegExp, opts: {from?: number; timeoutMs?: number} = {}): Promise<RegExpExecArray> {
    const from = opts.from ?? 0
    const timeoutMs = opts.timeoutMs ?? 60_000
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(this.text.slice(from))
        if (m) return done(() => resolve(m))
        if (this.exit !== undefined) return done(() => reject(this.failure(`exited (${this.exit}) before ${pattern} appeared`)))
      }
      const timer = setTimeout(() => done(() => reject(this.failure(`no ${pattern} within ${timeoutMs} ms`))), timeoutMs)
      const done = (settle: () => void) => {
        clearTimeout(timer)
        this.waiters.delete(check)
        settle()
      }
      this.waiters.add(check)
      check()
    })
  }

  private failure(what: string): Error {
    const tail = this.text.split('\n').slice(-15).join('\n')
    return new Error(`terminal: ${what}; its last lines:\n${tail}`)
  }

  /** Closes the terminal (the program gets SIGHUP, then SIGKILL). */
  async close(): Promise<void> {
    if (this.exit !== undefined) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.stdin.end()
    await exited
  }
}
