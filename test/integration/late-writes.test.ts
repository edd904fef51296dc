/**
 * Writes that land after ebpfctl gave up on them, state-based undo, the rollback's final re-read, and the lock that
 * keeps two enable/revert runs from interleaving (issue 8 §2).
 */
import {afterEach, describe, expect, it} from 'vitest'

import {type EnableOptions, enableSession, memoryProgress, revertSession, runError} from '../../src/lib/plan/index.js'
import {LOCK_LEASE} from '../../src/lib/plan/lock.js'
import {type TestCluster, kubeProxyOffWithoutBpf, startCluster, touchedFields, watchInvariant} from '../support/operator-sim.js'

const timing = {pollMs: 5, timeoutMs: 3000, retryDelayMs: 5, retries: 4}
let cluster: TestCluster | undefined
afterEach(async () => {
  cluster?.server.onRequest(undefined)
  await cluster?.close()
  cluster = undefined
})

// The late-write tests scale "the client gives up after 15 s" down to 600 ms; the lock tests need no hanging request,
// so their client waits as long as a user's would (a loaded CI machine can take over 600 ms to answer).
const start = (kind: 'operator' | 'manifest' = 'operator', requestTimeoutMs = 600) =>
  startCluster(kind, {kubeProxySelector: {'kubernetes.io/os': 'linux'}, requestTimeoutMs})

const enable = (c: TestCluster, o: Partial<EnableOptions> = {}, extra: {lockTimeoutMs?: number} = {}) => {
  const progress = memoryProgress()
  const run = enableSession({
    kube: c.kube,
    options: {kubeProxy: 'disable', kubeconfigServer: c.kube.server, dsr: true, ...o},
    timing: {...timing, ...extra},
    preflight: async () => [],
    progress,
    lock: {pollMs: 20},
  })
  return {run, progress}
}

const isKubeProxyPatch = (r: {method: string; resource?: string; name?: string}) =>
  r.method === 'PATCH' && r.resource === 'daemonsets' && r.name === 'kube-proxy'
const isCreateOf = (r: {method: string; resource?: string; body?: string}, name: string) =>
  r.method === 'POST' && r.resource === 'configmaps' && !!r.body && JSON.parse(r.body).metadata?.name === name
const kubeProxySelector = (c: TestCluster) =>
  c.server.store.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')?.spec?.template?.spec?.nodeSelector

describe('late writes', () => {
  it('a kube-proxy patch that lands after the client gave up never leaves kube-proxy off with BPF off', async () => {
    cluster = await start()
    const c = cluster
    const initial = touchedFields(c.server.store, c.calicoNamespace)
    const inv = watchInvariant(c.server)
    // "15 s late" scaled to the test: the client gives up after 600 ms, the patch lands 1.5 s after it arrived,
    // when the rollback has long finished.
    let fired = false
    c.server.onRequest((r) => {
      if (!isKubeProxyPatch(r) || fired || !r.body?.includes('non-calico')) return undefined
      fired = true
      return {late: 'hang', landAfterMs: 1500}
    })
    const {run, progress} = enable(c)
    const report = await run
    expect(report.result?.outcome, report.result?.rollbackError).toBe('rolled-back')
    expect(runError(report.result!, c.calicoNamespace)?.message).toMatch(/restored/)
    expect(progress.lines.join('\n')).toMatch(/re-read \d+ changed object\(s\): every field is as before this run/)
    await c.server.settled()
    const late = c.server.log.find((r) => r.fault?.startsWith('late'))
    expect(late?.fault).toMatch(/refused when it landed \(409\)/)
    expect(kubeProxySelector(c)).toEqual({'kubernetes.io/os': 'linux'})
    expect(kubeProxyOffWithoutBpf(c.server.store)).toBe(false)
    expect(inv.violated).toBe(false)
    expect(touchedFields(c.server.store, c.calicoNamespace)).toEqual(initial)
  })

  for (const target of ['kubernetes-services-endpoint', 'ebpfctl-state'])
  it(`a create whose answer was lost (${target}) takes the name itself, so the lost request can never land later`, async () => {
    cluster = await start()
    const c = cluster
    let fired = false
    c.server.onRequest((r) => {
      if (!isCreateOf(r, target) || fired) return undefined
      fired = true
      return {late: 'hang', landAfterMs: 1500}
    })
    const {run} = enable(c)
    const report = await run
    // The create is settled (claimed), not rolled back: nothing left in doubt.
    expect(report.result?.outcome, report.result?.error).toBe('done')
    await c.server.settled()
    const late = c.server.log.find((r) => r.fault?.startsWith('late'))
    expect(late?.fault).toMatch(/refused when it landed \(409\)/)
    const ns = target === 'ebpfctl-state' ? c.calicoNamespace : 'tigera-operator'
    expect(c.server.store.get('v1', 'ConfigMap', target, ns)?.data).toBeTruthy()
  })

  it('a write whose answer was lost but which did land is taken as done (the live object is the truth)', async () => {
    cluster = await start()
    const c = cluster
    let fired = false
    c.server.onRequest((r) => {
      if (!isKubeProxyPatch(r) || fired || !r.body?.includes('non-calico')) return undefined
      fired = true
      return {late: 'drop', landAfterMs: 0}
    })
    const report = await enable(c).run
    expect(report.result?.outcome, report.result?.error).toBe('done')
    expect(kubeProxySelector(c)?.['non-calico']).toBe('true')
  })

  // Found by the fault proxy on the real apiserver (test/e2e/real-faults.test.ts): the client's retry of a patch that
  // had landed conflicts, the step re-reads and finds its fields already there — its "before" values must stay the
  // ones read before the write, or the record says before = after and revert cannot undo (or refuses the record).
  for (const [kind, what, match] of [
    ['operator', 'the kube-proxy selector patch', (r: any) => isKubeProxyPatch(r) && r.body?.includes('non-calico')],
    ['manifest', 'the calico-node restart annotation (a map added whole)', (r: any) => r.method === 'PATCH' && r.resource === 'daemonsets' && r.name === 'calico-node'],
  ] as const)
  it(`${kind}: ${what} lands, its answer is lost, the retry conflicts: the record keeps the values from before, revert restores them`, async () => {
    cluster = await start(kind)
    const c = cluster
    const initial = touchedFields(c.server.store, c.calicoNamespace)
    let fired = false
    c.server.onRequest((r) => {
      if (fired || !match(r)) return undefined
      fired = true
      return {late: 'drop', landAfterMs: 0}
    })
    const report = await enable(c).run
    expect(fired).toBe(true)
    expect(report.result?.outcome, report.result?.error).toBe('done')
    c.server.onRequest(undefined)
    const back = await revertSession({kube: c.kube, timing})
    expect(back.result?.outcome, back.result?.error).toBe('done')
    expect(touchedFields(c.server.store, c.calicoNamespace)).toEqual(initial)
  })

  for (const [fault, action] of [
    ['500', {status: 500}],
    ['403', {status: 403}],
  ] as const) {
    it(`state-based undo: a persistent ${fault} on the DSR patch restores BPF and kube-proxy both`, async () => {
      cluster = await start()
      const c = cluster
      const initial = touchedFields(c.server.store, c.calicoNamespace)
      const inv = watchInvariant(c.server)
      c.server.onRequest((r) =>
        r.method === 'PATCH' && r.resource === 'felixconfigurations' && r.body?.includes('bpfExternalServiceMode')
          ? action
          : undefined,
      )
      const report = await enable(c).run
      expect(report.result?.outcome, report.result?.rollbackError).toBe('rolled-back')
      expect(report.result?.steps.find((s) => s.id === 'dsr')?.status).toBe('undone')
      expect(report.result?.steps.find((s) => s.id === 'bpf-on')?.status).toBe('undone')
      expect(touchedFields(c.server.store, c.calicoNamespace)).toEqual(initial)
      expect(inv.violated).toBe(false)
    })
  }

  it('a failed undo does not stop the rollback, BPF stays on while kube-proxy is off, and the report says what is live', async () => {
    cluster = await start()
    const c = cluster
    const inv = watchInvariant(c.server)
    // DSR fails; then every attempt to bring kube-proxy back is refused.
    c.server.onRequest((r) => {
      if (r.method === 'PATCH' && r.resource === 'felixconfigurations' && r.body?.includes('bpfExternalServiceMode'))
        return {status: 500}
      if (isKubeProxyPatch(r) && r.body?.includes('"non-calico":null')) return {status: 500}
      return undefined
    })
    const report = await enable(c).run
    expect(report.result?.outcome).toBe('rollback-incomplete')
    const steps = Object.fromEntries(report.result!.steps.map((s) => [s.id, s.status]))
    expect(steps).toMatchObject({dsr: 'undone', 'kube-proxy': 'undo-failed', 'bpf-on': 'undo-failed'})
    // The API address step before BPF was still undone: the rollback went on past the failures.
    expect(steps['api-address']).toBe('undone')
    expect(report.result?.rollbackError).toMatch(/refusing to turn BPF off/)
    expect(report.result?.rollbackError).toMatch(/not restored: .*kube-proxy.*non-calico.* is "true" \(before this run: \(absent\)\)/)
    expect(runError(report.result!, c.calicoNamespace)?.message).toMatch(/rollback did not finish/)
    expect(kubeProxySelector(c)?.['non-calico']).toBe('true')
    expect(inv.violated).toBe(false)
  })
})

describe('the lock (Lease kube-system/ebpfctl-lock)', () => {
  const leaseOf = (c: TestCluster) => c.server.store.get('coordination.k8s.io/v1', 'Lease', LOCK_LEASE.name, LOCK_LEASE.namespace)
  const seedLease = (c: TestCluster, holder: string, renewedMsAgo: number) => {
    const at = new Date(Date.now() - renewedMsAgo).toISOString().replace('Z', '000Z')
    c.server.store.seed([
      {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {name: LOCK_LEASE.name, namespace: LOCK_LEASE.namespace},
        spec: {holderIdentity: holder, leaseDurationSeconds: 30, acquireTime: at, renewTime: at},
      },
    ])
  }

  it('two enable runs at once: the second waits, then refuses naming the holder; with a longer wait it runs after', async () => {
    cluster = await start('operator', 30_000)
    const c = cluster
    // Hold the first run in its kube-proxy step for a while.
    c.server.onRequest((r) => (isKubeProxyPatch(r) && r.body?.includes('non-calico') ? {delayMs: 500} : undefined))
    const first = enable(c)
    while (!leaseOf(c)) await new Promise((r) => setTimeout(r, 5))
    const holder = leaseOf(c).spec.holderIdentity as string
    expect(holder).toMatch(/^.+@.+ pid \d+ run [0-9a-f]+$/)
    const refused = enable(c, {}, {lockTimeoutMs: 100})
    await expect(refused.run).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining(`another ebpfctl run holds the lock: "${holder}"`),
    })
    expect(refused.progress.lines.join("\n")).toMatch(/waiting for the lock held by "[^"]+" \(Lease [^)]+\) … \(\d+s of 0s\)/)
    const waiting = enable(c, {}, {lockTimeoutMs: 10_000})
    expect((await first.run).result?.outcome).toBe('done')
    const second = await waiting.run
    expect(second.result?.outcome).toBe('nothing-to-do')
    // The lock is released at the end.
    expect(leaseOf(c)).toBeUndefined()
  })

  it('a stale lock (not renewed for its lease duration) is taken over, and says so', async () => {
    cluster = await start('operator', 30_000)
    const c = cluster
    seedLease(c, 'alice@old-laptop pid 4242 run abc123', 60_000)
    const {run, progress} = enable(c, {}, {lockTimeoutMs: 100})
    expect((await run).result?.outcome).toBe('done')
    expect(progress.lines.join('\n')).toMatch(/took over the stale lock .*"alice@old-laptop pid 4242 run abc123"/)
  })

  it('a live lock refuses enable and revert (exit 2), before any write', async () => {
    cluster = await start('operator', 30_000)
    const c = cluster
    seedLease(c, 'bob@ci pid 7 run 0a0b0c', 1000)
    c.server.resetLog()
    await expect(enable(c, {}, {lockTimeoutMs: 50}).run).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/holds the lock: "bob@ci pid 7 run 0a0b0c"/),
    })
    await expect(
      revertSession({kube: c.kube, timing: {...timing, lockTimeoutMs: 50}, lock: {pollMs: 20}}),
    ).rejects.toThrow(/holds the lock: "bob@ci pid 7 run 0a0b0c"/)
    expect(c.server.writes()).toEqual([])
  })
})
