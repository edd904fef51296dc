import {CALICO_PIN_DIR} from '../facts.js'
import type {Check} from '../types.js'
import {bpfEnabledInCluster, finding, overNodeFacts} from '../util.js'

export const calicoMapsCheck: Check = {
  id: 'calico-maps',
  title: "Calico's BPF maps are pinned",
  scope: 'node',
  run(ctx) {
    const bpfOn = bpfEnabledInCluster(ctx)
    return overNodeFacts(ctx, 'calico-maps', (node, facts) => {
      const data = {pinDir: CALICO_PIN_DIR, maps: facts.calicoMaps.length}
      if (facts.calicoMaps.length > 0) {
        return [finding('calico-maps', 'pass', `${facts.calicoMaps.length} Calico maps pinned in ${CALICO_PIN_DIR} (BPF dataplane active)`, {node, data})]
      }
      if (bpfOn) {
        return [
          finding('calico-maps', 'fail', `BPF is enabled but no Calico maps are pinned in ${CALICO_PIN_DIR}`, {
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
      return [finding('calico-maps', 'skip', `no Calico maps pinned in ${CALICO_PIN_DIR} (the BPF dataplane is not active here)`, {node, data})]
    })
  },
}
