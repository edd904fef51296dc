import {Flags} from '@oclif/core'

/** enable/revert --verify: run `ebpfctl verify` before and after (see the verify command for what it does). */
export const verifyGateFlags = {
  verify: Flags.boolean({
    description: 'Run `ebpfctl verify` before and after (enable: a failure after the switch rolls it back).',
    helpGroup: 'VERIFY',
  }),
  'verify-requests': Flags.integer({
    default: 1000,
    min: 0,
    max: 1_000_000,
    description: 'With --verify: new connections per node for the latency figures.',
    helpGroup: 'VERIFY',
  }),
  'verify-image': Flags.string({description: 'With --verify: the agnhost image (air-gapped clusters).', helpGroup: 'VERIFY'}),
}
