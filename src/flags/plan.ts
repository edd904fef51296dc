import {Flags} from '@oclif/core'

import {parseDuration} from '../lib/duration.js'

/** Flags shared by the commands that run a plan against the cluster (enable, revert). */
export const planFlags = {
  'dry-run': Flags.boolean({
    description: 'Print the numbered plan and every object change as a diff; change nothing.',
  }),
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
