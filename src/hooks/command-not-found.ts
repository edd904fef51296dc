import type {Hook} from '@oclif/core'

import {ExitCode} from '../lib/errors.js'

/**
 * An unknown command: one line naming it and the closest command (`did you mean \`nat dump\`?`), and a one-line
 * usage, instead of oclif's "command nat:dupm not found". Exit 2 (usage error).
 */
const hook: Hook<'command_not_found'> = async function ({config, id}) {
  const [{closest, unexpectedArgumentMessage, usageLine}, {sanitizeForTerminal}] = await Promise.all([
    import('../lib/cli/suggest.js'),
    import('../lib/output/terminal.js'),
  ])
  const typed = id.replaceAll(':', ' ')
  const visible = config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' '))
  // `status extra`: a real command followed by words it does not take is a stray argument, not an unknown command.
  const words = typed.split(' ')
  const known = words.map((_, i) => words.slice(0, i).join(' ')).findLast((prefix) => prefix && visible.includes(prefix))
  const guess = known ? undefined : closest(typed, visible)
  const lines = known
    ? [`Error: ${unexpectedArgumentMessage(words.slice(known.split(' ').length), known)}`, usageLine(config.bin, known)]
    : [`Error: unknown command "${typed}"${guess ? `; did you mean \`${guess}\`?` : ''}`, usageLine(config.bin, guess)]
  process.stderr.write(sanitizeForTerminal(lines.join('\n') + '\n'))
  process.exitCode = ExitCode.Usage
}

export default hook
