import {CALICO_PIN_DIR} from '../facts.js'
import type {CheckContext, Finding, NewFinding} from '../types.js'
import {bpfEnabledInCluster, overNodeFacts} from '../util.js'

export function run(ctx: CheckContext, finding: NewFinding): Finding[] {
  const bpfOn = bpfEnabledInCluster(ctx)
  return overNodeFacts(ctx, finding, (node, facts) => {
    const data = {pinDir: CALICO_PIN_DIR, maps: facts.calicoMaps.length}
    if (facts.calicoMaps.length > 0) {
      return [finding('pass', `${facts.calicoMaps.length} Calico maps pinned in ${CALICO_PIN_DIR} (BPF dataplane active)`, {node, data})]
    }
    if (bpfOn) {
      return [
        finding('fail', `BPF is enabled but no Calico maps are pinned in ${CALICO_PIN_DIR}`, {
          node,
          data,
          detail:
            'Felix has not started the BPF dataplane here: it may have fallen back to iptables (unsupported ' +
            'kernel) or not be running.',
          remedy:
            'Look for "BPF dataplane mode enabled but not supported by the kernel" in the calico-node log of this ' +
            'node.',
        }),
      ]
    }
    return [finding('skip', `no Calico maps pinned in ${CALICO_PIN_DIR} (the BPF dataplane is not active here)`, {node, data})]
  })
}
