import type {CheckContext, Finding, NewFinding} from '../types.js'
import {overNodeFacts} from '../util.js'

export function run(ctx: CheckContext, finding: NewFinding): Finding[] {
  return overNodeFacts(ctx, finding, (node, facts) => {
    if (facts.cgroup2Mount) {
      return [finding('pass', `cgroup2 is mounted at ${facts.cgroup2Mount}`, {node, data: {mount: facts.cgroup2Mount}})]
    }
    if (facts.filesystems && !facts.filesystems.includes('cgroup2')) {
      return [
        finding('fail', 'the kernel does not support cgroup2 (not in /proc/filesystems)', {
          node,
          detail: "Calico's connect-time load balancer attaches to a cgroup v2 hierarchy.",
          remedy: 'Use a kernel built with cgroup v2 support (any kernel >= 5.10 from a mainstream distribution).',
        }),
      ]
    }
    return [
      finding('warn', 'no cgroup2 filesystem is mounted (cgroup v1 host)', {
        node,
        detail:
          "calico-node's init container mounts cgroup2 at Calico's own path when BPF is enabled; hostNetwork pods in a " +
          'private cgroup namespace may still miss connect-time load balancing.',
        remedy: 'Prefer a cgroup v2 host (systemd.unified_cgroup_hierarchy=1).',
      }),
    ]
  })
}
