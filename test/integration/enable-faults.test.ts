/**
 * Fault injection at every write enable (and revert) makes: count the writes of a clean run, then for k = 1..K fail
 * the k-th write (500, dropped connection, no answer) and check that the cluster ends fully enabled or exactly as it
 * started on every field enable touches — and that kube-proxy was never disabled while BPF was off.
 */
import {describe, expect, it} from 'vitest'

import {type EnableOptions, enableSession, revertSession} from '../../src/lib/plan/index.js'
import type {FaultAction} from '../support/fake-apiserver/index.js'
import {
  type ClusterKind,
  type TestCluster,
  startCluster,
  touchedFields,
  watchInvariant,
} from '../support/operator-sim.js'

const timing = {pollMs: 5, timeoutMs: 3000, retryDelayMs: 5, retries: 4}
const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const FAULTS: [string, FaultAction][] = [
  ['500', {status: 500, reason: 'InternalError', message: 'injected'}],
  ['drop', 'drop'],
  ['hang', 'hang'],
]

const setups: {name: string; kind: ClusterKind; opts: Partial<EnableOptions>}[] = [
  {name: 'operator', kind: 'operator', opts: {dsr: true}},
  {name: 'operator + bootstrap', kind: 'operator', opts: {bootstrap: true, kubeProxy: 'operator', dsr: true}},
  {name: 'manifest', kind: 'manifest', opts: {dsr: true}},
]

const start = (kind: ClusterKind) =>
  startCluster(kind, {
    nodes: 3,
    kubeProxySelector: {'kubernetes.io/os': 'linux', 'team/pool': 'blue'},
    felix: {bpfExternalServiceMode: 'Tunnel'},
    requestTimeoutMs: 600,
  })

const enable = (c: TestCluster, opts: Partial<EnableOptions>) =>
  enableSession({
    kube: c.kube,
    options: {kubeProxy: 'disable', kubeconfigServer: c.kube.server, ...opts},
    timing,
    preflight: async () => [],
  })

/** The restart annotation is a timestamp: equal when both are set. */
function normalize(fields: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(fields).replace(
      /"kubectl\.kubernetes\.io\/restartedAt":"[^"]*"/g,
      '"kubectl.kubernetes.io/restartedAt":"T"',
    ),
  )
}

function failKthWrite(c: TestCluster, k: number, action: FaultAction): {fired: boolean} {
  let n = 0
  const state = {fired: false}
  c.server.onRequest((r) => {
    if (!WRITE.has(r.method) || r.subresource === 'exec' || r.path.endsWith('/selfsubjectaccessreviews')) return undefined
    n++
    if (n !== k) return undefined
    state.fired = true
    return action
  })
  return state
}

describe('fault injection: enable', () => {
  for (const setup of setups) {
    it(`${setup.name}: every write, every fault`, {timeout: 300_000}, async () => {
      const clean = await start(setup.kind)
      const initial = normalize(touchedFields(clean.server.store, clean.calicoNamespace))
      expect((await enable(clean, setup.opts)).result?.outcome).toBe('done')
      const K = clean.server.writes().length
      const enabled = normalize(touchedFields(clean.server.store, clean.calicoNamespace))
      await clean.close()
      expect(K).toBeGreaterThanOrEqual(8)
      const outcomes: Record<string, number> = {}
      for (const [fault, action] of FAULTS) {
        for (let k = 1; k <= K; k++) {
          const c = await start(setup.kind)
          try {
            const inv = watchInvariant(c.server)
            const hit = failKthWrite(c, k, action)
            const report = await enable(c, setup.opts)
            c.server.onRequest(undefined)
            const label = `${setup.name}, ${fault} on write ${k}/${K}`
            expect(hit.fired, label).toBe(true)
            const after = normalize(touchedFields(c.server.store, c.calicoNamespace))
            const outcome = report.result?.outcome ?? 'none'
            outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
            if (outcome === 'done') expect(after, label).toEqual(enabled)
            else {
              expect(outcome, `${label}: ${report.result?.rollbackError}`).toBe('rolled-back')
              expect(after, label).toEqual(initial)
            }
            expect(inv.violated, label).toBe(false)
          } finally {
            await c.close()
          }
        }
      }
      // Most faults must have exercised the rollback.
      expect(outcomes['rolled-back']).toBeGreaterThan(K)
    })
  }
})

describe('fault injection: revert', () => {
  for (const setup of setups) {
    it(`${setup.name}: every write, every fault`, {timeout: 300_000}, async () => {
      const clean = await start(setup.kind)
      const initial = normalize(touchedFields(clean.server.store, clean.calicoNamespace))
      expect((await enable(clean, setup.opts)).result?.outcome).toBe('done')
      clean.server.resetLog()
      expect((await revertSession({kube: clean.kube, timing})).result?.outcome).toBe('done')
      const K = clean.server.writes().length
      expect(normalize(touchedFields(clean.server.store, clean.calicoNamespace))).toEqual(initial)
      await clean.close()
      for (const [fault, action] of FAULTS) {
        for (let k = 1; k <= K; k++) {
          const c = await start(setup.kind)
          try {
            expect((await enable(c, setup.opts)).result?.outcome).toBe('done')
            const inv = watchInvariant(c.server)
            const hit = failKthWrite(c, k, action)
            const report = await revertSession({kube: c.kube, timing})
            c.server.onRequest(undefined)
            const label = `${setup.name}, ${fault} on revert write ${k}/${K}`
            expect(hit.fired, label).toBe(true)
            // Revert retries every write (it is an undo): one fault never stops it.
            expect(report.result?.outcome, `${label}: ${report.result?.error}`).toBe('done')
            expect(normalize(touchedFields(c.server.store, c.calicoNamespace)), label).toEqual(initial)
            expect(inv.violated, label).toBe(false)
          } finally {
            await c.close()
          }
        }
      }
    })
  }
})
