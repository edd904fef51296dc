import {withoutNodePrefix} from '../../output/node-errors.js'
import type {CheckContext, Finding, NewFinding} from '../types.js'

/** Nodes that --nodes could not reach: a failure each, so a partial probe is never mistaken for a clean one. */
export function run(ctx: CheckContext, finding: NewFinding): Finding[] {
  if (!ctx.nodeAccessErrors) return []
  const probed = ctx.nodeFacts?.size ?? 0
  if (ctx.nodeAccessErrors.size === 0) return [finding('pass', `${probed} nodes probed`)]
  return [...ctx.nodeAccessErrors].map(([node, e]) => finding('fail', withoutNodePrefix(node, e.message), {node, remedy: e.remedy}))
}
