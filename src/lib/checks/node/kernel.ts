import type {NodeObject} from '../../kube/objects.js'
import {type KernelVerdict, kernelVerdict} from '../kernel.js'
import type {CheckContext, Finding, NewFinding} from '../types.js'

export const isWindows = (n: NodeObject) => n.status?.nodeInfo?.operatingSystem?.toLowerCase() === 'windows'

function remedyFor(v: KernelVerdict): string | undefined {
  const exact = v.inferred ? ' For an exact verdict, read /proc/version on the node (ebpfctl check --nodes NAME).' : ''
  if (v.status === 'fail') {
    return (
      `Upgrade the kernel to 5.10 or newer (RHEL-family: 4.18.0-305 or newer) before enabling BPF; otherwise Felix ` +
      `keeps FelixConfiguration at bpfEnabled: true while running iptables.${exact}`
    )
  }
  if (v.status === 'warn') return `Upgrade to a kernel >= ${v.documentedMinimum}, the floor Calico documents and tests.${exact}`
  return undefined
}

function kernelFinding(finding: NewFinding, v: KernelVerdict, kernelText: string, node: string, detail?: string): Finding {
  return finding(v.status, `${kernelText}: ${v.message}`, {
    node,
    detail,
    remedy: remedyFor(v),
    data: {
      release: v.release,
      version: v.version,
      distro: v.distro,
      distroSource: v.distroSource,
      felixMinimum: v.felixMinimum,
      documentedMinimum: v.documentedMinimum,
      felixSupported: v.felixSupported,
      felixError: v.felixError,
      inferred: v.inferred,
    },
  })
}

const verdictsByNodeList = new WeakMap<NodeObject[], ReadonlyMap<string, {verdict: KernelVerdict; kernel: string}>>()

/**
 * Felix's verdict per cluster node from status.nodeInfo, memoised by (kernelVersion, osImage): O(nodes). The kernel
 * and hybrid checks both ask for the same node list: it is worked out once per list (a fresh Map each caller).
 */
export function clusterKernelVerdicts(nodes: NodeObject[]): Map<string, {verdict: KernelVerdict; kernel: string}> {
  let verdicts = verdictsByNodeList.get(nodes)
  if (!verdicts) {
    verdicts = computeKernelVerdicts(nodes)
    verdictsByNodeList.set(nodes, verdicts)
  }
  return new Map(verdicts)
}

function computeKernelVerdicts(nodes: NodeObject[]): Map<string, {verdict: KernelVerdict; kernel: string}> {
  const memo = new Map<string, KernelVerdict>()
  const out = new Map<string, {verdict: KernelVerdict; kernel: string}>()
  for (const n of nodes) {
    if (isWindows(n)) continue
    const kernel = n.status?.nodeInfo?.kernelVersion ?? ''
    const osImage = n.status?.nodeInfo?.osImage
    const key = `${kernel}\u0000${osImage ?? ''}`
    let verdict = memo.get(key)
    if (!verdict) {
      verdict = kernelVerdict({unameRv: kernel, osImage})
      memo.set(key, verdict)
    }
    out.set(n.metadata.name, {verdict, kernel})
  }
  return out
}

export function run(ctx: CheckContext, finding: NewFinding): Finding[] {
  const out: Finding[] = []
  const seen = new Set<string>()
  for (const [node, facts] of ctx.nodeFacts ?? []) {
    seen.add(node)
    if (!facts.procVersion && !facts.unameRv) {
      out.push(finding('skip', 'kernel version could not be read', {node, detail: facts.errors.join('; ') || undefined}))
      continue
    }
    const v = kernelVerdict({procVersion: facts.procVersion, unameRv: facts.unameRv, osImage: facts.osImage})
    const text = facts.unameRv ? `uname -rv: ${facts.unameRv}` : `/proc/version: ${facts.procVersion}`
    out.push(kernelFinding(finding, v, text, node, facts.procVersion ? `/proc/version: ${facts.procVersion}` : undefined))
  }
  if (ctx.cluster) {
    const all = ctx.cluster.state.nodes
    // The whole list (not a filtered copy) when no node was probed, so that hybrid reuses these verdicts.
    const nodes = seen.size > 0 ? all.filter((n) => !seen.has(n.metadata.name)) : all
    const osImages = new Map(nodes.map((n) => [n.metadata.name, n.status?.nodeInfo?.osImage]))
    // One data object and remedy per distinct verdict: 5,000 nodes usually share a handful of kernels.
    const shared = new Map<KernelVerdict, Pick<Finding, 'data' | 'remedy'>>()
    for (const [node, {verdict, kernel}] of clusterKernelVerdicts(nodes)) {
      const os = osImages.get(node)
      let extra = shared.get(verdict)
      if (!extra) {
        const {data, remedy} = kernelFinding(finding, verdict, '', node)
        extra = {data, remedy}
        shared.set(verdict, extra)
      }
      out.push(finding(verdict.status, `kernel ${kernel || '(unknown)'}${os ? ` (${os})` : ''}: ${verdict.message}`, {node, ...extra}))
    }
  }
  return out
}
