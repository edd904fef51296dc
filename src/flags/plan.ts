import {Flags} from '@oclif/core'

import {parseDuration} from '../lib/duration.js'
import {UserError} from '../lib/errors.js'
import {TABLE_FORMATS, outputFlag} from './output.js'

/** Flags shared by the commands that run a plan against the cluster (enable, revert). */
export const planFlags = {
  // A bare --dry-run means --dry-run=client (BaseCommand rewrites it before parsing, as kubectl does).
  'dry-run': Flags.option({
    description:
      'client (also a bare --dry-run): print the numbered plan and every object change as a diff; server: also send ' +
      'every planned write to the API server with dryRun=All (validation, admission webhooks, RBAC) and show how ' +
      'each would land. Nothing is changed either way.',
    options: ['client', 'server'] as const,
  })(),
  output: outputFlag(
    [...TABLE_FORMATS, 'junit'] as const,
    'Output format: table (wide is the same), json or yaml (the plan, or the result), junit (a dry run\'s preflight, ' +
      'permissions and each planned write as test cases, for CI).',
  ),
  timeout: Flags.string({
    default: '5m',
    description: 'Bound on each wait (rollouts, Felix restarts, kube-proxy pods).',
  }),
  'lock-timeout': Flags.string({
    default: '5s',
    description:
      'How long to wait while another enable/revert holds the lock (Lease kube-system/ebpfctl-lock) before refusing.',
  }),
  'poll-interval': Flags.string({default: '2s', description: 'Interval between polls of a wait.', hidden: true}),
  'retry-delay': Flags.string({
    default: '500ms',
    description: 'Base delay between retries of a write.',
    hidden: true,
  }),
}

export function timingFrom(flags: {
  timeout: string
  'poll-interval': string
  'retry-delay': string
  'lock-timeout': string
}) {
  return {
    lockTimeoutMs: parseDuration(flags['lock-timeout'], 'lock-timeout'),
    timeoutMs: parseDuration(flags.timeout, 'timeout'),
    pollMs: parseDuration(flags['poll-interval'], 'poll-interval'),
    retryDelayMs: parseDuration(flags['retry-delay'], 'retry-delay'),
  }
}

/** `-o junit` describes a dry run's findings; a real run's result is a document (json/yaml) or the table. */
export function requireDryRunForJunit(flags: {output: string; 'dry-run'?: string}): void {
  if (flags.output === 'junit' && flags['dry-run'] === undefined)
    throw new UserError('-o junit needs --dry-run (it reports the plan\'s findings, not a run\'s result)', {
      remedy: 'Add --dry-run (or --dry-run=server), or use -o json for the result of a real run.',
    })
}
