/**
 * A word of the command line as the shell will pass it to the program, for the values completion reads before the
 * cursor (a kubeconfig path, a context): quotes and backslashes removed, a leading `~` or `~/` and `$NAME`/`${NAME}`
 * expanded from the environment. Nothing is run: `$(…)` and backquotes stay as typed (such a value names no file, so
 * it completes nothing), where cobra's scripts `eval` the line at every TAB.
 * The bash and zsh scripts pass words as typed; fish and kubectl pass them unquoted already, where this changes only
 * a value with a literal quote, backslash or `$` in it.
 */
export function shellWordValue(word: string, env: NodeJS.ProcessEnv): string {
  let out = ''
  let i = 0
  if (word === '~' || word.startsWith('~/')) {
    out = env.HOME ?? '~'
    i = 1
  }
  let quote: "'" | '"' | undefined
  while (i < word.length) {
    const c = word[i]!
    if (quote === "'") {
      if (c === "'") quote = undefined
      else out += c
      i++
      continue
    }
    if (c === '\\' && i + 1 < word.length) {
      // Inside double quotes a backslash escapes only $ ` " \ (and a newline); elsewhere any character.
      const next = word[i + 1]!
      out += quote === '"' && !'$`"\\\n'.includes(next) ? c + next : next
      i += 2
      continue
    }
    if (c === '$') {
      const m = /^\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/.exec(word.slice(i))
      if (m) {
        out += env[(m[1] ?? m[2])!] ?? ''
        i += m[0].length
        continue
      }
    }
    if (c === quote) quote = undefined
    else if (!quote && (c === "'" || c === '"')) quote = c
    else out += c
    i++
  }
  return out
}
