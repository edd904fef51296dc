import {describe, expect, it} from 'vitest'

import {runOnNodes} from '../../../src/lib/nodes/fanout.js'
import {NodeAccessError} from '../../../src/lib/nodes/types.js'

const nodes = Array.from({length: 10}, (_, i) => ({name: `n${i}`}))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('runOnNodes', () => {
  it('returns results in input order whatever the completion order', async () => {
    const rs = await runOnNodes(nodes, async (n) => {
      await sleep(50 - Number(n.name.slice(1)) * 5)
      return n.name.toUpperCase()
    })
    expect(rs.map((r) => (r.ok ? r.value : r.error.message))).toEqual(nodes.map((n) => n.name.toUpperCase()))
  })

  it('bounds concurrency', async () => {
    let active = 0
    let peak = 0
    await runOnNodes(
      nodes,
      async () => {
        active++
        peak = Math.max(peak, active)
        await sleep(10)
        active--
      },
      {concurrency: 3},
    )
    expect(peak).toBe(3)
  })

  it('turns failures into per-node results: NodeAccessError kept, others wrapped, sync throws caught', async () => {
    const rs = await runOnNodes(nodes.slice(0, 4), async (n) => {
      if (n.name === 'n1') throw new NodeAccessError('n1', 'unreachable', 'n1: ECONNREFUSED')
      if (n.name === 'n2') throw new Error('boom')
      if (n.name === 'n3') return (null as unknown as {x: number}).x
      return 1
    })
    expect(rs[0]).toMatchObject({ok: true, value: 1})
    expect(rs[1]).toMatchObject({ok: false, error: {node: 'n1', reason: 'unreachable'}})
    expect(rs[2]).toMatchObject({ok: false, error: {node: 'n2', reason: 'other', message: 'n2: boom'}})
    expect(rs[3]).toMatchObject({ok: false, error: {node: 'n3', reason: 'other'}})
    expect(rs.every((r) => r.ok || r.error instanceof NodeAccessError)).toBe(true)
  })

  it('a node that never answers times out on its own while the rest complete', async () => {
    const t = Date.now()
    const rs = await runOnNodes(
      nodes.slice(0, 3),
      (n) => (n.name === 'n1' ? new Promise<number>(() => {}) : Promise.resolve(7)),
      {
        perNodeTimeoutMs: 100,
      },
    )
    expect(Date.now() - t).toBeLessThan(1000)
    expect(rs.map((r) => r.ok)).toEqual([true, false, true])
    expect(rs[1]).toMatchObject({ok: false, error: {node: 'n1', reason: 'timeout'}})
  })

  it('handles no nodes', async () => {
    expect(await runOnNodes([], async () => 1)).toEqual([])
  })
})
