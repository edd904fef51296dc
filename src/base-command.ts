import {Command, Flags, type Interfaces} from '@oclif/core'

import {parseDuration} from './lib/duration.js'
import {ExitCode, isUserError} from './lib/errors.js'
import type {KubeClient} from './lib/kube/client.js'
import {configureColor} from './lib/output/color.js'

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
    const {args, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    configureColor({noColor: this.flags['no-color']})
  }

  protected requestTimeoutMs(): number {
    return parseDuration(this.flags['request-timeout'], 'request-timeout')
  }

  /** The cluster the global flags name (client-node and the kube client are loaded only here, on demand). */
  protected async connectCluster(): Promise<KubeClient> {
    const {connect} = await import('./lib/kube/config.js')
    return connect({kubeconfig: this.flags.kubeconfig, context: this.flags.context, timeoutMs: this.requestTimeoutMs()})
  }

  /** Writes to stdout without oclif's formatting; used for rendered tables and JSON. */
  protected out(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : text + '\n')
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if (isUserError(err)) {
      process.stderr.write(`Error: ${err.message}\n`)
      if (err.remedy) process.stderr.write(`  ${err.remedy}\n`)
      this.exit(err.exitCode)
    }
    // oclif's own parse errors (unknown flag, bad option value) are usage errors.
    err.exitCode ??= err.oclif?.exit ?? ExitCode.Usage
    return super.catch(err)
  }
}
