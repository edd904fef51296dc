import {waitClock} from '../duration.js'

/**
 * Progress of long waits: on a TTY one line on stderr that is rewritten in place; otherwise plain timestamped lines,
 * one per change of what is shown (never one per poll).
 */
export interface Progress {
  /** A new activity (ends any current one). */
  start(what: string): void
  /**
   * The current state of the activity ("3/10 pods updated"); with `clock`, how long it has been waiting and its bound,
   * shown as "(41s of 5m)".
   */
  update(detail: string, clock?: WaitClock): void
  /** Ends the activity with a final word. */
  done(result: string): void
  /** A line of its own (step headers, warnings). */
  line(text: string): void
}

export interface WaitClock {
  elapsedMs: number
  timeoutMs: number
}

const clockText = (c: WaitClock | undefined) =>
  c ? ` (${waitClock(c.elapsedMs, c.timeoutMs)})` : ''

export interface ProgressSink {
  write(text: string): void
  isTTY?: boolean
}

const stamp = (now: Date) => now.toISOString().slice(11, 19)

export function createProgress(sink: ProgressSink = process.stderr, clock: () => Date = () => new Date()): Progress {
  let current: string | undefined
  let lastDetail: string | undefined
  const tty = !!sink.isTTY
  const clear = () => {
    if (tty && current !== undefined) sink.write('\r\x1b[2K')
  }
  return {
    start(what) {
      if (tty && current !== undefined) sink.write('\n')
      current = what
      lastDetail = undefined
      if (tty) sink.write(`\r\x1b[2K${what} …`)
      else sink.write(`[${stamp(clock())}] ${what} …\n`)
    },
    update(detail, wait) {
      // A TTY line is rewritten on every poll (the clock moves); plain lines only when the state changes.
      if (detail === lastDetail && !(tty && wait)) return
      lastDetail = detail
      if (tty) sink.write(`\r\x1b[2K${current ?? ''} … ${detail}${clockText(wait)}`)
      else sink.write(`[${stamp(clock())}] ${current ? `${current}: ` : ''}${detail}${clockText(wait)}\n`)
    },
    done(result) {
      if (tty) sink.write(`\r\x1b[2K${current ?? ''} … ${result}\n`)
      else sink.write(`[${stamp(clock())}] ${current ? `${current}: ` : ''}${result}\n`)
      current = undefined
      lastDetail = undefined
    },
    line(text) {
      clear()
      if (tty && current !== undefined) {
        sink.write(`${text}\n`)
        sink.write(`${current} …${lastDetail ? ` ${lastDetail}` : ''}`)
      } else {
        sink.write(tty ? `${text}\n` : `[${stamp(clock())}] ${text}\n`)
      }
    },
  }
}

/** Collects everything in memory (tests, --dry-run, JSON output). */
export function memoryProgress(): Progress & {lines: string[]} {
  const lines: string[] = []
  let current = ''
  let lastDetail: string | undefined
  return {
    lines,
    start: (what) => {
      current = what
      lastDetail = undefined
      lines.push(`${what} …`)
    },
    update: (detail, wait) => {
      if (detail === lastDetail) return
      lastDetail = detail
      lines.push(`${current}: ${detail}${clockText(wait)}`)
    },
    done: (result) => lines.push(`${current}: ${result}`),
    line: (text) => lines.push(text),
  }
}
