/**
 * Colour for human output. A few SGR codes written by hand rather than chalk: chalk 5 ignores NO_COLOR anyway, and
 * importing it (with supports-color) cost ~20 ms of every start-up. Colour is on only on a TTY, never with NO_COLOR,
 * --no-color, FORCE_COLOR=0 or TERM=dumb.
 */
let enabled = detect(process.stdout)

function detect(stream: NodeJS.WriteStream, noColor = false): boolean {
  if (noColor || process.env.NO_COLOR || !stream.isTTY) return false
  if (process.env.FORCE_COLOR === '0' || process.env.TERM === 'dumb') return false
  return true
}

/** Applies NO_COLOR, --no-color and non-TTY stdout once at start-up. */
export function configureColor(opts: {noColor?: boolean; stream?: NodeJS.WriteStream} = {}): void {
  enabled = detect(opts.stream ?? process.stdout, opts.noColor)
}

const sgr = (open: number, close: number) => (s: string) => (enabled ? `\u001B[${open}m${s}\u001B[${close}m` : s)

export const paint = {
  pass: sgr(32, 39),
  warn: sgr(33, 39),
  fail: sgr(31, 39),
  skip: sgr(90, 39),
  dim: sgr(2, 22),
  bold: sgr(1, 22),
}
