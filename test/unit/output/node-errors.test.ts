/** Per-node error lines name the node once, although the node runners start their messages with its name. */
import {describe, expect, it} from 'vitest'

import {run as nodeAccess} from '../../../src/lib/checks/node/node-access.js'
import type {CheckContext, NewFinding} from '../../../src/lib/checks/types.js'
import {NodeAccessError} from '../../../src/lib/nodes/types.js'
import {formatNodeError} from '../../../src/lib/output/node-errors.js'

describe('per-node errors', () => {
  it('stderr: `error node-1: the probe failed …`, not `error node-1: node-1: …`', () => {
    expect(formatNodeError('node-1', {message: 'node-1: the probe failed (exit 2): sh: not found', remedy: 'Fix it.'})).toBe(
      'error node-1: the probe failed (exit 2): sh: not found\n  Fix it.\n',
    )
    // Only the node's own prefix goes; other text is kept as it is.
    expect(formatNodeError('node-1', {message: 'node-10: x'})).toBe('error node-1: node-10: x\n')
    expect(formatNodeError('node-1', {message: 'node-1 (local): cannot run ip'})).toBe('error node-1: node-1 (local): cannot run ip\n')
    expect(formatNodeError('node-1', {reason: 'timeout', message: 'node-1: '})).toBe('error node-1: failed (timeout)\n')
  })

  it('check --nodes: the node-access finding (printed beside the node name) does not repeat it', () => {
    const ctx = {nodeAccessErrors: new Map([['node-1', new NodeAccessError('node-1', 'other', 'node-1: the probe failed (exit 2): boom')]])}
    const finding: NewFinding = (status, summary, extra) => ({checkId: 'node-access', status, summary, ...extra}) as never
    expect(nodeAccess(ctx as unknown as CheckContext, finding)).toEqual([
      expect.objectContaining({node: 'node-1', status: 'fail', summary: 'the probe failed (exit 2): boom'}),
    ])
  })
})
