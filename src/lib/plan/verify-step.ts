import {PlanError} from './errors.js'
import type {Plan, Step} from './types.js'

/** `ebpfctl verify` as enable/revert use it: a run's verdict, and a one-line summary of what failed. */
export type VerifyGate = (phase: 'before' | 'after') => Promise<{passed: boolean; summary: string}>

export const VERIFY_SERVICES_STEP = 'verify-services'

/**
 * The last step of `enable --verify`: after BPF is on and kube-proxy is gone, Services must still work (NodePorts from
 * this machine, ClusterIP and NodePort from pods). It writes nothing; when it fails, the runner rolls back every step
 * before it like any failed step.
 */
export function verifyServicesStep(verify: VerifyGate, othersDone: () => boolean): Step {
  return {
    id: VERIFY_SERVICES_STEP,
    title: 'Services work after the switch (ebpfctl verify)',
    describe: () =>
      'Deploy the verify workload (namespace ebpfctl-verify), probe NodePorts from this machine and ClusterIP/NodePort ' +
      'from pods, and remove it again; any failed probe rolls the switch back.',
    changes: () => [],
    alreadyDone: () => othersDone(),
    apply: async () => [],
    async verify() {
      const r = await verify('after')
      if (!r.passed) throw new PlanError(`Services fail after the switch: ${r.summary}`)
    },
    undo: async () => {},
  }
}

/** Appends the verify step to an enable plan (its other steps decide whether there is anything to verify). */
export function withVerifyStep(plan: Plan, verify: VerifyGate | undefined, state: Parameters<Step['alreadyDone']>[0]): Plan {
  if (!verify) return plan
  const others = [...plan.steps]
  return {...plan, steps: [...others, verifyServicesStep(verify, () => others.every((st) => st.alreadyDone(state)))]}
}
