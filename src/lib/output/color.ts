import chalk from 'chalk'

/**
 * chalk 5 ignores NO_COLOR, so apply it (and --no-color, and non-TTY stdout) ourselves once at start-up.
 */
export function configureColor(opts: {noColor?: boolean; stream?: NodeJS.WriteStream} = {}): void {
  const stream = opts.stream ?? process.stdout
  if (opts.noColor || process.env.NO_COLOR || !stream.isTTY) chalk.level = 0
}

export const paint = {
  pass: (s: string) => chalk.green(s),
  warn: (s: string) => chalk.yellow(s),
  fail: (s: string) => chalk.red(s),
  skip: (s: string) => chalk.gray(s),
  dim: (s: string) => chalk.dim(s),
  bold: (s: string) => chalk.bold(s),
}
