import {architectureVerdict} from '../kernel.js'
import type {Check, Finding} from '../types.js'
import {finding} from '../util.js'
import {isWindows} from './kernel.js'

export const archCheck: Check = {
  id: 'arch',
  title: 'Architecture is little-endian',
  scope: 'node',
  run(ctx) {
    const out: Finding[] = []
    const seen = new Set<string>()
    for (const [node, facts] of ctx.nodeFacts ?? []) {
      seen.add(node)
      const v = architectureVerdict(facts.machine, facts.endianness)
      out.push(finding('arch', v.status, v.message, {node, data: {arch: v.arch, endianness: v.endianness}}))
    }
    const memo = new Map<string, ReturnType<typeof architectureVerdict>>()
    for (const n of ctx.cluster?.state.nodes ?? []) {
      if (seen.has(n.metadata.name) || isWindows(n)) continue
      const arch = n.status?.nodeInfo?.architecture ?? ''
      let v = memo.get(arch)
      if (!v) memo.set(arch, (v = architectureVerdict(arch)))
      out.push(finding('arch', v.status, v.message, {node: n.metadata.name, data: {arch: v.arch, endianness: v.endianness}}))
    }
    return out
  },
}
