import {Command, Flags, type Interfaces} from '@oclif/core'

import {setCliName} from './lib/cli/name.js'
import {parseDuration} from './lib/duration.js'
import {ExitCode, isUserError} from './lib/errors.js'
import type {KubeClient} from './lib/kube/client.js'
import {configureColor} from './lib/output/color.js'
import {sanitizeForTerminal} from './lib/output/terminal.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** Global flags shared by every command, kubectl-style, and the single place user errors are printed. */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    kubeconfig: Flags.string({
      description: 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).',
      helpGroup: 'GLOBAL',
    }),
    context: Flags.string({description: 'The kubeconfig context to use.', helpGroup: 'GLOBAL'}),
    'request-timeout': Flags.string({
      default: '10s',
      description: 'How long to wait for each API request before giving up (e.g. 10s, 1m).',
      helpGroup: 'GLOBAL',
    }),
    'no-color': Flags.boolean({description: 'Never colour output (NO_COLOR is honoured too).', helpGroup: 'GLOBAL'}),
  }

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>

  public override async init(): Promise<void> {
    await super.init()
    setCliName(this.config.bin)
    // kubectl's `--dry-run` without a value means client; oclif option flags always take one.
    if (this.ctor.flags?.['dry-run']) this.argv = this.argv.map((a) => (a === '--dry-run' ? '--dry-run=client' : a))
    const {args, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    await configureColor({noColor: this.flags['no-color']})
  }

  protected requestTimeoutMs(): number {
    return parseDuration(this.flags['request-timeout'], 'request-timeout')
  }

  /** The cluster the global flags name (client-node and the kube client are loaded only here, on demand). */
  protected async connectCluster(): Promise<KubeClient> {
    const {connect} = await import('./lib/kube/connect.js')
    return connect({kubeconfig: this.flags.kubeconfig, context: this.flags.context, timeoutMs: this.requestTimeoutMs()})
  }

  /**
   * Human output to stdout (tables, messages). Everything human-readable goes through here or err(), the one place
   * control characters from outside (node strings, versions, ConfigMap values) are made visible (output/terminal.ts).
   */
  protected out(text: string): void {
    process.stdout.write(sanitizeForTerminal(text.endsWith('\n') ? text : text + '\n'))
  }

  /** Human output to stderr (per-node errors, warnings), sanitized like out(). */
  protected err(text: string): void {
    process.stderr.write(sanitizeForTerminal(text.endsWith('\n') ? text : text + '\n'))
  }

  /** A sanitizing stderr for progress lines (keeps their own "rewrite this line"). */
  protected progressSink(): {write(text: string): void; isTTY?: boolean} {
    return {isTTY: process.stderr.isTTY, write: (t) => process.stderr.write(sanitizeForTerminal(t, {lineRewrite: true}))}
  }

  /**
   * A machine document (JSON, YAML, JUnit) exactly as rendered: its own escaping keeps it valid and terminal-safe
   * (jsonDocument, xmlSafe), and sanitizing would change its data.
   */
  protected outDocument(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : text + '\n')
  }

  /** out/err/outDocument as one object, for the helpers in src/flags that print a command's results. */
  protected printers(): {out(text: string): void; err(text: string): void; outDocument(text: string): void} {
    return {out: (t) => this.out(t), err: (t) => this.err(t), outDocument: (t) => this.outDocument(t)}
  }

  protected override async catch(
    err: Error & {exitCode?: number; oclif?: {exit?: number}; parse?: unknown; flags?: string[]},
  ): Promise<unknown> {
    if (isUserError(err)) {
      this.err(`Error: ${err.message}`)
      if (err.remedy) this.err(`  ${err.remedy}`)
      this.exit(err.exitCode)
    }
    if (err.parse !== undefined && err.constructor.name !== 'ExitError') {
      // oclif's parse errors (unknown flag, bad option value, unexpected argument): one line, a suggestion, and a
      // one-line usage instead of the whole help.
      const {unexpectedArgumentMessage, unknownFlagMessage, usageLine} = await import('./lib/cli/suggest.js')
      const stray = (err as {args?: unknown}).args
      const message =
        err.constructor.name === 'NonExistentFlagsError' && err.flags
          ? unknownFlagMessage(err.flags, {...(this.ctor as typeof BaseCommand).baseFlags, ...this.ctor.flags})
          : err.constructor.name === 'UnexpectedArgsError' && Array.isArray(stray) && this.id
            ? unexpectedArgumentMessage(stray.map(String), this.id)
            : err.message.replace(/\nSee more help with --help$/, '')
      this.err(`Error: ${message}`)
      this.err(usageLine(this.config.bin, this.id))
      this.exit(ExitCode.Usage)
    }
    // oclif's own parse errors (unknown flag, bad option value) are usage errors.
    err.exitCode ??= err.oclif?.exit ?? ExitCode.Usage
    err.message = sanitizeForTerminal(err.message)
    return super.catch(err)
  }
}
