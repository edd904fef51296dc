/**
 * Colour for human output, with chalk. Colour is on only on a TTY, never with NO_COLOR, --no-color, FORCE_COLOR=0 or
 * TERM=dumb (ebpfctl decides; chalk's own detection would ignore NO_COLOR). chalk is imported only when colour is on,
 * so piped and CI runs, and start-up, never pay for it.
 */
import type {ChalkInstance} from 'chalk'

let enabled = false
let chalk: ChalkInstance | undefined

function detect(stream: NodeJS.WriteStream, noColor = false): boolean {
  if (noColor || process.env.NO_COLOR || !stream.isTTY) return false
  if (process.env.FORCE_COLOR === '0' || process.env.TERM === 'dumb') return false
  return true
}

/** Applies NO_COLOR, --no-color and non-TTY stdout once at start-up (and loads chalk when colour is on). */
export async function configureColor(opts: {noColor?: boolean; stream?: NodeJS.WriteStream} = {}): Promise<void> {
  const on = detect(opts.stream ?? process.stdout, opts.noColor)
  if (on && !chalk) {
    const {Chalk} = await import('chalk')
    // Level 1 (16 colours): exactly the SGR codes the terminal sanitizer lets through (output/terminal.ts OWN_SGR).
    chalk = new Chalk({level: 1})
  }
  enabled = on
}

const style = (pick: (c: ChalkInstance) => (s: string) => string) => (s: string) => (enabled && chalk ? pick(chalk)(s) : s)

/** The one palette: check verdicts, and status/dumps use the same colours for the same meanings. */
export const paint = {
  pass: style((c) => c.green),
  warn: style((c) => c.yellow),
  fail: style((c) => c.red),
  skip: style((c) => c.gray),
  dim: style((c) => c.dim),
  bold: style((c) => c.bold),
}
