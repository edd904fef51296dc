import type {CheckContext, CheckStatus, Finding, FindingExtra, NewFinding, NodeFacts} from './types.js'

/** Builds a Finding; extras (node, detail, remedy, data) are copied only when defined. */
export function finding(checkId: string, status: CheckStatus, summary: string, extra: FindingExtra = {}): Finding {
  const f: Finding = {checkId, status, summary}
  if (extra.node !== undefined) f.node = extra.node
  if (extra.detail !== undefined) f.detail = extra.detail
  if (extra.remedy !== undefined) f.remedy = extra.remedy
  if (extra.data !== undefined) f.data = extra.data
  return f
}

/**
 * Runs fn over each node's facts. Without any facts: nothing in local mode (there always are), and one 'skip' for
 * the cluster (these facts cannot be read through the Kubernetes API) in cluster mode.
 */
export function overNodeFacts(
  ctx: CheckContext,
  finding: NewFinding,
  fn: (node: string, facts: NodeFacts) => Finding[],
): Finding[] {
  if (!ctx.nodeFacts || ctx.nodeFacts.size === 0) {
    if (!ctx.cluster) return []
    return [
      finding('skip', 'needs node access: not visible through the Kubernetes API', {
        remedy: 'Run ebpfctl check on the node, or pass --nodes all to read it from every node.',
      }),
    ]
  }
  const out: Finding[] = []
  for (const [node, facts] of ctx.nodeFacts) out.push(...fn(node, facts))
  return out
}

/** Whether FelixConfiguration default (or a FELIX_BPFENABLED env override) turns BPF on. */
export function bpfEnabledInCluster(ctx: CheckContext): boolean | undefined {
  const install = ctx.cluster?.install
  if (!install) return undefined
  if (install.felixBpfEnabledEnv) return install.felixBpfEnabledEnv.enabled === true
  return install.felixDefault?.spec?.bpfEnabled === true
}

export {nameList} from '../output/name-list.js'

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`
