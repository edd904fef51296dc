import type {Check} from '../types.js'
import {finding} from '../util.js'

/** Nodes that --nodes could not reach: a failure each, so a partial probe is never mistaken for a clean one. */
export const nodeAccessCheck: Check = {
  id: 'node-access',
  title: 'Node access (--nodes)',
  scope: 'node',
  run(ctx) {
    if (!ctx.nodeAccessErrors) return []
    const probed = ctx.nodeFacts?.size ?? 0
    if (ctx.nodeAccessErrors.size === 0) return [finding('node-access', 'pass', `${probed} nodes probed`)]
    return [...ctx.nodeAccessErrors].map(([node, e]) => finding('node-access', 'fail', e.message, {node, remedy: e.remedy}))
  },
}
