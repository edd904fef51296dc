import {Flags} from '@oclif/core'

import type {KubeClient} from '../lib/kube/client.js'

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

/** The verify gate --verify asks for, with the plan's timing and interrupt (enable and revert build it the same way). */
export async function verifyGateFromFlags(
  kube: KubeClient,
  flags: {'verify-requests': number; 'verify-image'?: string},
  opts: {timeoutMs: number; pollMs: number; signal: AbortSignal; progress: (line: string) => void},
): Promise<ReturnType<typeof import('../lib/verify/gate.js').verifyGate>> {
  const {verifyGate} = await import('../lib/verify/gate.js')
  return verifyGate(kube, {requests: flags['verify-requests'], image: flags['verify-image'], ...opts})
}
