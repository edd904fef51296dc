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

const start = (kind: ClusterKind, requestTimeoutMs = 600) =>
  startCluster(kind, {
    nodes: 3,
    kubeProxySelector: {'kubernetes.io/os': 'linux', 'team/pool': 'blue'},
    felix: {bpfExternalServiceMode: 'Tunnel'},
    requestTimeoutMs,
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

/**
 * Faults the k-th write and every retry of it (same method and path, up to the client's 5 attempts): a single
 * transient fault is retried by the client (enable-transient.test.ts), so only a persistent one reaches the plan.
 */
function failKthWrite(c: TestCluster, k: number, action: FaultAction, attempts = 5): {fired: boolean} {
  let n = 0
  let target: string | undefined
  // A hang uses up the request's whole --request-timeout budget: the client does not retry it.
  let left = action === 'hang' ? 1 : attempts
  const state = {fired: false}
  c.server.onRequest((r) => {
    if (!WRITE.has(r.method) || r.subresource === 'exec' || r.path.endsWith('/selfsubjectaccessreviews')) return undefined
    n++
    if (n === k) target = `${r.method} ${r.path}`
    if (target !== `${r.method} ${r.path}` || left <= 0) return undefined
    left--
    state.fired = true
    return action
  })
  return state
}

/** A request that writes (exec and SelfSubjectAccessReviews excluded, as in server.writes()): the unit the sweeps count. */
const isWrite = (r: {method: string; path: string; subresource?: string}) =>
  WRITE.has(r.method) && r.subresource !== 'exec' && !r.path.endsWith('/selfsubjectaccessreviews')

/** A write path: method, resource and object (the Lease, the record, every object a step writes). */
const pathOf = (r: {method: string; resource?: string; namespace?: string; name?: string}) =>
  `${r.method} ${r.resource}${r.namespace ? ` ${r.namespace}` : ''}${r.name ? `/${r.name}` : ''}`

/** Fails every request on one write path, for the whole run. */
function failPath(c: TestCluster, path: string, action: FaultAction): {fired: boolean} {
  const state = {fired: false}
  c.server.onRequest((r) => {
    if (!isWrite(r) || pathOf(r) !== path) return undefined
    state.fired = true
    return action
  })
  return state
}

/** Runs enable under a fault; a run refused before its first write (the lock) counts as "nothing changed". */
async function enableUnderFault(c: TestCluster, opts: Partial<EnableOptions>) {
  try {
    return {outcome: (await enable(c, opts)).result?.outcome ?? 'none', error: ''}
  } catch (err) {
    return {outcome: 'refused', error: (err as Error).message}
  }
}

/** The promise: fully enabled, or every touched field as at the start; and kube-proxy never off while BPF is off. */
function expectEnabledOrInitial(
  label: string,
  run: {outcome: string; error: string},
  after: Record<string, unknown>,
  ends: {initial: Record<string, unknown>; enabled: Record<string, unknown>},
) {
  if (run.outcome === 'done' || run.outcome === 'nothing-to-do') expect(after, label).toEqual(ends.enabled)
  else {
    expect(['rolled-back', 'refused'], `${label}: ${run.outcome} ${run.error}`).toContain(run.outcome)
    expect(after, label).toEqual(ends.initial)
  }
}

async function cleanRun(setup: (typeof setups)[number]) {
  const clean = await start(setup.kind, 1500)
  const initial = normalize(touchedFields(clean.server.store, clean.calicoNamespace))
  expect((await enable(clean, setup.opts)).result?.outcome).toBe('done')
  const writes = clean.server.writes()
  const enabled = normalize(touchedFields(clean.server.store, clean.calicoNamespace))
  await clean.close()
  return {initial, enabled, writes}
}

/**
 * One run of a sweep: fault the k-th write of a clean run, enable, and check the promise (enabled or as at the start,
 * kube-proxy never off while BPF is off). Returns the run's outcome.
 */
async function sweepRun(
  setup: (typeof setups)[number],
  clean: Awaited<ReturnType<typeof cleanRun>>,
  k: number,
  fault: string,
  action: FaultAction,
  opts: {requestTimeoutMs?: number; attempts?: number; settle?: boolean} = {},
): Promise<string> {
  const c = await start(setup.kind, opts.requestTimeoutMs)
  try {
    const inv = watchInvariant(c.server)
    const hit = failKthWrite(c, k, action, opts.attempts)
    const run = await enableUnderFault(c, setup.opts)
    if (opts.settle) await c.server.settled()
    c.server.onRequest(undefined)
    const label = `${setup.name}, ${fault} on write ${k}/${clean.writes.length} (${pathOf(clean.writes[k - 1]!)})`
    expect(hit.fired, label).toBe(true)
    const after = normalize(touchedFields(c.server.store, c.calicoNamespace))
    expectEnabledOrInitial(label, run, after, clean)
    expect(inv.violated, label).toBe(false)
    return run.outcome
  } finally {
    await c.close()
  }
}

describe('fault injection: enable', () => {
  for (const setup of setups) {
    it(`${setup.name}: every write, every fault`, {timeout: 300_000}, async () => {
      const clean = await cleanRun(setup)
      const K = clean.writes.length
      expect(K).toBeGreaterThanOrEqual(8)
      const outcomes: Record<string, number> = {}
      for (const [fault, action] of FAULTS) {
        for (let k = 1; k <= K; k++) {
          const outcome = await sweepRun(setup, clean, k, fault, action)
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
        }
      }
      // Many faults must have exercised the rollback (the client now retries a single transient error, and a fault on
      // the lock's Lease refuses the run before its first change, so not every one does).
      expect(outcomes['rolled-back']).toBeGreaterThan(K / 2)
    })

    it(`${setup.name}: every write lands late, after its answer was lost`, {timeout: 300_000}, async () => {
      const clean = await cleanRun(setup)
      const K = clean.writes.length
      // The client gives up after 1.5 s (roomy: a loaded CI machine must not time out other requests); the write
      // lands while the run settles it or rolls back (drop), or after the run has ended (hang).
      const LATE: [string, FaultAction][] = [
        ['late drop 300ms', {late: 'drop', landAfterMs: 300}],
        ['late hang 4s', {late: 'hang', landAfterMs: 4000}],
      ]
      const outcomes: Record<string, number> = {}
      for (const [fault, action] of LATE) {
        for (let k = 1; k <= K; k++) {
          // A create is taken back by creating it again (a lost create cannot be fenced): its first attempt is lost
          // here. When every attempt of a create is lost, nothing can stop one landing later; that stays out.
          const creates = clean.writes[k - 1]!.method === 'POST'
          const outcome = await sweepRun(setup, clean, k, fault, action, {
            requestTimeoutMs: 1500,
            attempts: creates ? 1 : undefined,
            settle: true,
          })
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
        }
      }
      expect(outcomes['rolled-back']).toBeGreaterThan(0)
    })

    it(`${setup.name}: a persistent 500 or 403 on each write path`, {timeout: 300_000}, async () => {
      const {initial, enabled, writes} = await cleanRun(setup)
      const paths = [...new Set(writes.map(pathOf))]
      const PERSISTENT: [string, FaultAction][] = [
        ['500', {status: 500, reason: 'InternalError', message: 'injected'}],
        ['403', {status: 403}],
      ]
      for (const [fault, action] of PERSISTENT) {
        for (const path of paths) {
          const c = await start(setup.kind, 1500)
          try {
            const inv = watchInvariant(c.server)
            const hit = failPath(c, path, action)
            const run = await enableUnderFault(c, setup.opts)
            c.server.onRequest(undefined)
            const label = `${setup.name}, persistent ${fault} on ${path}`
            expect(hit.fired, label).toBe(true)
            const after = normalize(touchedFields(c.server.store, c.calicoNamespace))
            expectEnabledOrInitial(label, run, after, {initial, enabled})
            expect(inv.violated, label).toBe(false)
          } finally {
            await c.close()
          }
        }
      }
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

describe('the in-cluster record never blocks enable’s rollback', () => {
  // Rollback undoes what this run wrote from memory: a record someone rewrote meanwhile (malformed, or naming other
  // objects) is neither read nor trusted by it.
  const rewrites: [string, string][] = [
    ['malformed', '{"version":1,"entries":[{"stepId":"api-address","run":"x","state":"applied","changes":"x"}]}'],
    [
      'foreign',
      JSON.stringify({
        version: 1,
        entries: [
          {
            stepId: 'dsr',
            run: 'x',
            state: 'applied',
            at: 'x',
            changes: [
              {
                resource: {group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false},
                name: 'kube-system',
                action: 'create',
                patchType: 'merge',
                fields: [],
              },
            ],
          },
        ],
      }),
    ],
  ]
  for (const [name, text] of rewrites) {
    it(`${name} record written mid-run, then the last step fails: rolled back in full`, async () => {
      const c = await start('operator')
      try {
        const initial = normalize(touchedFields(c.server.store, c.calicoNamespace))
        const inv = watchInvariant(c.server)
        c.server.onRequest((r) => {
          if (r.method !== 'PATCH' || r.resource !== 'felixconfigurations' || !/DSR/i.test(r.body ?? '')) return undefined
          const cm = c.server.store.get('v1', 'ConfigMap', 'ebpfctl-state', c.calicoNamespace)
          delete cm.metadata.resourceVersion
          c.server.store.put({...cm, data: {'record.json': text}})
          return {status: 500, reason: 'InternalError', message: 'injected'}
        })
        const report = await enable(c, {bootstrap: true, kubeProxy: 'operator', dsr: true})
        c.server.onRequest(undefined)
        expect(report.result?.outcome, report.result?.rollbackError).toBe('rolled-back')
        expect(normalize(touchedFields(c.server.store, c.calicoNamespace))).toEqual(initial)
        expect(c.server.store.get('v1', 'Namespace', 'kube-system')).toBeDefined()
        expect(inv.violated).toBe(false)
      } finally {
        await c.close()
      }
    })
  }
})
