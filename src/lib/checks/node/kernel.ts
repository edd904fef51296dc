import type {NodeObject} from '../../kube/calico-types.js'
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

/** Felix's verdict per cluster node from status.nodeInfo, memoised by (kernelVersion, osImage): O(nodes). */
export function clusterKernelVerdicts(nodes: NodeObject[]): Map<string, {verdict: KernelVerdict; kernel: string}> {
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
    const nodes = ctx.cluster.state.nodes.filter((n) => !seen.has(n.metadata.name))
    const osImages = new Map(nodes.map((n) => [n.metadata.name, n.status?.nodeInfo?.osImage]))
    for (const [node, {verdict, kernel}] of clusterKernelVerdicts(nodes)) {
      const os = osImages.get(node)
      out.push(kernelFinding(finding, verdict, `kernel ${kernel || '(unknown)'}${os ? ` (${os})` : ''}`, node))
    }
  }
  return out
}
