/**
 * POSIX shell quoting for the remote command line. SSH sends one string that the remote user's login shell parses, so
 * every argv element is wrapped in single quotes, inside which no character is special (words made only of
 * [A-Za-z0-9_@%+:,./-] are left bare; `=` is always quoted so a first word is never an assignment); a single quote is
 * written as '\'' (close, escaped quote, reopen). The empty string becomes ''. NUL cannot be passed in an argv at all.
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte')
  if (arg !== '' && /^[A-Za-z0-9_@%+:,./-]+$/.test(arg)) return arg
  return `'${arg.replaceAll("'", `'\\''`)}'`
}

/** The command line for argv, for `sh -c`-style remote execution. */
export function shellJoin(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty argv')
  return argv.map(shellQuote).join(' ')
}
