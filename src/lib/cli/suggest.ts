/**
 * "Did you mean …?" for mistyped flags and commands (kubectl/git style): the closest candidate by edit distance
 * (fastest-levenshtein), accepted only when it is close enough to be the likely intent.
 */
import {distance} from 'fastest-levenshtein'

/** The closest candidate, or undefined when none is within max(2, a third of the input's length) edits. */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(input.length / 3))
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    // A unique prefix of at least 3 characters is as good as a typo (`stat` → `status`).
    const d = input.length >= 3 && c.startsWith(input) ? 1 : distance(input, c)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return bestDistance <= limit ? best : undefined
}

/** The one-line usage shown after a usage error, instead of the full help. */
export function usageLine(bin: string, commandId: string | undefined): string {
  const command = commandId ? `${bin} ${commandId.replaceAll(':', ' ')}` : bin
  return commandId
    ? `Usage: ${command} [flags]   (all flags: ${command} --help)`
    : `Usage: ${bin} COMMAND [flags]   (commands: ${bin} --help)`
}

/** `unexpected argument "extra" for \`status\`` (the same words whether oclif or the command-not-found hook saw it). */
export function unexpectedArgumentMessage(args: string[], commandId: string): string {
  return `unexpected argument${args.length === 1 ? '' : 's'} "${args.join(' ')}" for \`${commandId.replaceAll(':', ' ')}\``
}

interface FlagSpec {
  char?: string
}

/**
 * The message for an unknown flag: `unknown flag --ouput; did you mean --output?`. `flags` are the command's flag
 * definitions by name (global ones included).
 */
export function unknownFlagMessage(typed: string[], flags: Record<string, FlagSpec>): string {
  const names = Object.entries(flags).flatMap(([name, f]) => [`--${name}`, ...(f.char ? [`-${f.char}`] : [])])
  const parts = typed.map((t) => {
    const bare = t.split('=')[0]!
    const guess = closest(bare, bare.startsWith('--') ? names.filter((n) => n.startsWith('--')) : names)
    return guess ? `${bare}; did you mean ${guess}?` : bare
  })
  return `unknown flag${typed.length === 1 ? '' : 's'} ${parts.join(', ')}`
}
