import {architectureVerdict} from '../kernel.js'
import type {CheckContext, Finding, NewFinding} from '../types.js'
import {isWindows} from './kernel.js'

export function run(ctx: CheckContext, finding: NewFinding): Finding[] {
  const out: Finding[] = []
  const seen = new Set<string>()
  for (const [node, facts] of ctx.nodeFacts ?? []) {
    seen.add(node)
    const v = architectureVerdict(facts.machine, facts.endianness)
    out.push(finding(v.status, v.message, {node, data: {arch: v.arch, endianness: v.endianness}}))
  }
  const memo = new Map<string, ReturnType<typeof architectureVerdict>>()
  for (const n of ctx.cluster?.state.nodes ?? []) {
    if (seen.has(n.metadata.name) || isWindows(n)) continue
    const arch = n.status?.nodeInfo?.architecture ?? ''
    let v = memo.get(arch)
    if (!v) memo.set(arch, (v = architectureVerdict(arch)))
    out.push(finding(v.status, v.message, {node: n.metadata.name, data: {arch: v.arch, endianness: v.endianness}}))
  }
  return out
}
