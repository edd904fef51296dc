/**
 * A single transient fault on any write enable makes — 500, 429 with Retry-After, a reset connection — is retried by
 * the API client: enable finishes, with no rollback. (Before, any one 500 rolled back both dataplane switches.)
 */
import {describe, expect, it} from 'vitest'

import {enableSession} from '../../src/lib/plan/index.js'
import type {FaultAction} from '../support/fake-apiserver/index.js'
import {type TestCluster, startCluster, touchedFields, watchInvariant} from '../support/operator-sim.js'

const timing = {pollMs: 5, timeoutMs: 3000, retryDelayMs: 5, retries: 4}
const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const FAULTS: [string, FaultAction][] = [
  ['500', {status: 500, reason: 'InternalError', message: 'injected'}],
  ['429', {status: 429, retryAfter: '0'}],
  ['reset', 'drop'],
]

const enable = (c: TestCluster) =>
  enableSession({
    kube: c.kube,
    options: {kubeProxy: 'disable', kubeconfigServer: c.kube.server, dsr: true},
    timing,
    preflight: async () => [],
  })

const normalize = (fields: Record<string, unknown>) =>
  JSON.parse(JSON.stringify(fields).replace(/"kubectl\.kubernetes\.io\/restartedAt":"[^"]*"/g, '"restartedAt":"T"'))

/** Faults only the k-th write, once. */
function faultKthWriteOnce(c: TestCluster, k: number, action: FaultAction): {fired: boolean} {
  let n = 0
  const state = {fired: false}
  c.server.onRequest((r) => {
    if (!WRITE.has(r.method) || r.subresource === 'exec' || r.path.endsWith('/selfsubjectaccessreviews')) return undefined
    if (++n !== k) return undefined
    state.fired = true
    return action
  })
  return state
}

describe('transient faults on enable writes', () => {
  for (const kind of ['operator', 'manifest'] as const) {
    it(`${kind}: one 500 / 429 / reset on each write → enabled, nothing undone`, {timeout: 300_000}, async () => {
      const clean = await startCluster(kind, {nodes: 2, requestTimeoutMs: 2000})
      expect((await enable(clean)).result?.outcome).toBe('done')
      const K = clean.server.writes().length
      const enabled = normalize(touchedFields(clean.server.store, clean.calicoNamespace))
      await clean.close()
      for (const [fault, action] of FAULTS) {
        for (let k = 1; k <= K; k++) {
          const c = await startCluster(kind, {nodes: 2, requestTimeoutMs: 2000})
          try {
            const inv = watchInvariant(c.server)
            const hit = faultKthWriteOnce(c, k, action)
            const report = await enable(c)
            const label = `${kind}, ${fault} on write ${k}/${K}`
            expect(hit.fired, label).toBe(true)
            expect(report.result?.outcome, `${label}: ${report.result?.error}`).toBe('done')
            expect(report.result?.steps.some((s) => s.status === 'undone'), label).toBe(false)
            expect(normalize(touchedFields(c.server.store, c.calicoNamespace)), label).toEqual(enabled)
            expect(inv.violated, label).toBe(false)
          } finally {
            await c.close()
          }
        }
      }
    })
  }
})
