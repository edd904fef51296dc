import {BTF_PATH} from '../facts.js'
import type {Check} from '../types.js'
import {finding, overNodeFacts} from '../util.js'

export const btfCheck: Check = {
  id: 'btf',
  title: 'Kernel BTF (/sys/kernel/btf/vmlinux)',
  scope: 'node',
  run(ctx) {
    return overNodeFacts(ctx, 'btf', (node, facts) =>
      facts.btfVmlinux
        ? [finding('btf', 'pass', `${BTF_PATH} is present`, {node})]
        : [
            finding('btf', 'warn', `${BTF_PATH} is missing (kernel built without CONFIG_DEBUG_INFO_BTF)`, {
              node,
              detail: 'Calico runs without kernel BTF, but BTF-dependent features and diagnostics are unavailable.',
              remedy:
                'Use a distribution kernel with CONFIG_DEBUG_INFO_BTF=y (Ubuntu 20.10+, RHEL 8.2+, Debian 11+, ' +
                'AL2023, Bottlerocket).',
            }),
          ],
    )
  },
}
