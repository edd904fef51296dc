import {FELIX_BPF_ACTIVE, FELIX_BPF_FALLBACK} from '../../felix-log.js'
import type {CheckContext, Finding, NewFinding} from '../types.js'

/**
 * What Felix itself said on each node, from the calico-node log (read through the API with `check --nodes` when BPF
 * is enabled): the proof that BPF really runs there, or that Felix silently fell back to iptables.
 */
export function run(ctx: CheckContext, finding: NewFinding): Finding[] {
  const out = []
  for (const [node, facts] of ctx.nodeFacts ?? []) {
    const seen = facts.felixDataplane
    if (seen === undefined) continue
    if (seen === 'bpf') {
      out.push(finding('pass', `Felix logged "${FELIX_BPF_ACTIVE}"`, {node}))
    } else if (seen === 'fallen-back') {
      out.push(
        finding('fail', `Felix fell back to iptables: "${FELIX_BPF_FALLBACK}"`, {
          node,
          detail: 'FelixConfiguration says bpfEnabled, but this node runs the iptables/nftables dataplane.',
          remedy: 'Upgrade the kernel of this node (see the kernel check), or keep kube-proxy running until it is fixed.',
        }),
      )
    } else {
      out.push(
        finding('warn', 'no BPF start-up line in the calico-node log (Felix may still be starting, or the log was rotated)', {
          node,
          remedy: 'Run the check again in a minute, or look at the calico-node log of this node.',
        }),
      )
    }
  }
  return out
}
