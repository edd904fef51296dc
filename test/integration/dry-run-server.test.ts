/**
 * `--dry-run=server`: every planned write goes to the API server with dryRun=All, is judged there (validation,
 * admission, RBAC), is reported as it would land, and nothing is persisted.
 */
import {existsSync} from 'node:fs'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {cli} from '../support/cli.js'
import {type TestCluster, startCluster} from '../support/operator-sim.js'

const FAST = ['--poll-interval', '10ms', '--retry-delay', '10ms', '--timeout', '20s']

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})
beforeAll(() => {
  if (!existsSync('dist/commands/enable.js')) throw new Error('run `npm run build` first (these tests run the built CLI)')
})

interface ServerResult {
  object: string
  action: string
  outcome: string
  fields?: {path: string; wouldBe: unknown; asPlanned: boolean}[]
  error?: {code?: number; reason?: string; message: string}
}
const serverResults = (doc: {steps: {serverDryRun?: ServerResult[]}[]}) => doc.steps.flatMap((s) => s.serverDryRun ?? [])

describe('--dry-run=server', () => {
  it('enable: each planned write sent once with dryRun=All, reported as it would land; zero persisted writes', {timeout: 120_000}, async () => {
    cluster = await startCluster('manifest')
    const rvBefore = cluster.server.store.resourceVersion()
    const r = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run=server', '--dsr', '-o', 'json', ...FAST])
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc).toMatchObject({kind: 'EnablePlan', dryRun: 'server', wouldRefuse: false})
    const results = serverResults(doc)
    const sent = cluster.server.writes()
    // One dryRun=All request per planned write, none without it, and the store did not move.
    expect(sent.length).toBeGreaterThan(0)
    expect(sent.map((w) => w.query.get('dryRun'))).toEqual(sent.map(() => 'All'))
    expect(results.filter((x) => x.outcome === 'would-apply')).toHaveLength(sent.length)
    expect(cluster.server.persistedWrites()).toEqual([])
    expect(cluster.server.store.resourceVersion()).toBe(rvBefore)
    // As it would land: the API server's answer carries the planned values.
    expect(results.every((x) => x.fields?.every((f) => f.asPlanned) ?? true)).toBe(true)
    expect(results).toContainEqual(
      expect.objectContaining({
        object: 'felixconfigurations.crd.projectcalico.org default',
        fields: expect.arrayContaining([expect.objectContaining({path: 'spec.bpfEnabled', wouldBe: {present: true, value: true}})]),
      }),
    )

    // The same plan as text: one line per write, "would land".
    const text = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run=server', ...FAST])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/Server dry run \(dryRun=All; nothing persisted\): \d+ write\(s\)/)
    expect(text.stdout).toMatch(/ok {7}felixconfigurations\.crd\.projectcalico\.org default \(patch\) would land: spec\.bpfEnabled = true/)
    expect(cluster.server.persistedWrites()).toEqual([])
  })

  it('a write the API server refuses (admission) is reported with its reason; exit 1, nothing persisted', {timeout: 60_000}, async () => {
    cluster = await startCluster('manifest')
    cluster.server.onRequest((req) =>
      req.method === 'PATCH' && req.resource === 'felixconfigurations' && req.query.get('dryRun') === 'All'
        ? {status: 422, reason: 'Invalid', message: 'admission webhook "validate.projectcalico.org" denied the request: no'}
        : undefined,
    )
    const r = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run=server', ...FAST])
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toMatch(/REFUSED {2}felixconfigurations\.crd\.projectcalico\.org default \(patch\): 422 Invalid .*denied the request/)
    expect(r.stdout).toContain('Dry run: nothing was changed.')
    expect(cluster.server.persistedWrites()).toEqual([])
  })

  it('revert after enable: the undo writes (delete included) are judged, the cluster stays enabled', {timeout: 120_000}, async () => {
    cluster = await startCluster('manifest')
    const enabled = await cli(['enable', '--kubeconfig', cluster.kubeconfig, ...FAST])
    expect(enabled.code, enabled.stderr).toBe(0)
    cluster.server.resetLog()
    const rv = cluster.server.store.resourceVersion()
    const r = await cli(['revert', '--kubeconfig', cluster.kubeconfig, '--dry-run=server', '-o', 'yaml', ...FAST])
    expect(r.code, r.stderr).toBe(0)
    const {parse} = await import('yaml')
    const results = serverResults(parse(r.stdout))
    expect(results.map((x) => x.action)).toContain('delete')
    expect(results.every((x) => x.outcome === 'would-apply')).toBe(true)
    expect(cluster.server.writes().length).toBeGreaterThan(0)
    expect(cluster.server.persistedWrites()).toEqual([])
    expect(cluster.server.store.resourceVersion()).toBe(rv)
  })
})
