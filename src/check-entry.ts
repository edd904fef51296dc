// The local check's own entry (bin/run.js → dist/chunks/check-local.cjs, see scripts/bundle.mjs): oclif and the check
// command in one CommonJS file, so that `ebpfctl check` on this machine starts without Node's ES-module loader and
// without the ~20 files the full CLI reads for it. The same oclif Config (package.json, manifest), the same parser,
// flags, errors and exit codes as `ebpfctl check` through dist/cli.js; only the command lookup is skipped, as the
// command is this one. Anything but a check of this machine goes back to the full CLI before it does anything.
// Help (`ebpfctl`, `ebpfctl --help`, `ebpfctl COMMAND --help`) is rendered here too, by oclif's own run(): it comes from
// the manifest and loads no command.
import {Config, flush, handle, run} from '@oclif/core'

import Check from './commands/check.js'

/** Thrown when the parsed flags ask for a cluster or nodes: the caller runs the full CLI instead. */
class NotLocal extends Error {}

class LocalCheck extends Check {
  // oclif names a command run this way after its class; this is `check`.
  static override id = 'check'

  override async run(): Promise<void> {
    if (Check.targetMode(this.flags) !== 'local') throw new NotLocal('not a local check')
    return super.run()
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (err instanceof NotLocal) throw err
    return super.catch(err)
  }
}

/**
 * Runs `ebpfctl check ARGV` against this machine as execute() would (flush, then oclif's error handler); returns false,
 * having done nothing, when the flags ask for a cluster or nodes.
 */
export async function runLocalCheck(argv: string[], root: string): Promise<boolean> {
  try {
    const config = await Config.load(root)
    await LocalCheck.run(argv, config)
    flush()
  } catch (error) {
    if (error instanceof NotLocal) return false
    await handle(error as Error)
  }
  return true
}

/** Thrown instead of running a command: the caller runs the full CLI instead. */
class NotHelp extends Error {}

/**
 * Runs `ebpfctl ARGV` as execute() would (oclif's run(), flush, then oclif's error handler) when oclif answers it
 * without a command: help (from the manifest), a topic's help, --version. Returns false, having run nothing, when
 * oclif would run a command: the command modules are ES modules of the full CLI, on its own copy of oclif.
 */
export async function runHelp(argv: string[], root: string): Promise<boolean> {
  const {runCommand} = Config.prototype
  Config.prototype.runCommand = async function () {
    throw new NotHelp('not help')
  }
  try {
    await run(argv, root)
    flush()
  } catch (error) {
    if (error instanceof NotHelp) return false
    await handle(error as Error)
  } finally {
    Config.prototype.runCommand = runCommand
  }
  return true
}
