import {BTF_PATH} from '../facts.js'
import type {CheckContext, Finding, NewFinding} from '../types.js'
import {overNodeFacts} from '../util.js'

export function run(ctx: CheckContext, finding: NewFinding): Finding[] {
  return overNodeFacts(ctx, finding, (node, facts) =>
    facts.btfVmlinux
      ? [finding('pass', `${BTF_PATH} is present`, {node})]
      : [
          finding('warn', `${BTF_PATH} is missing (kernel built without CONFIG_DEBUG_INFO_BTF)`, {
            node,
            detail: 'Calico runs without kernel BTF, but BTF-dependent features and diagnostics are unavailable.',
            remedy:
              'Use a distribution kernel with CONFIG_DEBUG_INFO_BTF=y (Ubuntu 20.10+, RHEL 8.2+, Debian 11+, ' +
              'AL2023, Bottlerocket).',
          }),
        ],
  )
}
