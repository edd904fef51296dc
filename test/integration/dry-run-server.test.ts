/**
 * `--dry-run=server`: every planned write goes to the API server with dryRun=All, is judged there (validation,
 * admission, RBAC), is reported as it would land, and nothing is persisted.
 */
import {existsSync} from 'node:fs'

import {execa} from 'execa'

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
/** JUnit read back by a real XML parser (Python's ElementTree): each testcase with its failure/skipped state. */
async function junitCases(xml: string): Promise<{suite: string; name: string; state: string; text: string}[]> {
  const script =
    'import sys, json, xml.etree.ElementTree as E\n' +
    'root = E.parse(sys.stdin).getroot()\n' +
    'out = []\n' +
    'for s in root.iter("testsuite"):\n' +
    '  for c in s.iter("testcase"):\n' +
    '    f = c.find("failure"); k = c.find("skipped")\n' +
    '    out.append({"suite": s.get("name"), "name": c.get("name"), "state": "failure" if f is not None else "skipped" if k is not None else "pass", "text": (f.text or "") if f is not None else ""})\n' +
    'print(json.dumps(out))\n'
  return JSON.parse((await execa('python3', ['-c', script], {input: xml})).stdout)
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

  it('-o junit: a refused write is a failing test case with the server\'s reason; exit 1, nothing persisted', {timeout: 60_000}, async () => {
    cluster = await startCluster('manifest')
    cluster.server.onRequest((req) =>
      req.method === 'PATCH' && req.resource === 'felixconfigurations' && req.query.get('dryRun') === 'All'
        ? {status: 422, reason: 'Invalid', message: 'admission webhook "validate.projectcalico.org" denied the request: no'}
        : undefined,
    )
    const r = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run=server', '--dsr', '-o', 'junit', ...FAST])
    expect(r.code, r.stderr).toBe(1)
    const cases = await junitCases(r.stdout)
    const failures = cases.filter((c) => c.state === 'failure')
    expect(failures.length, r.stdout).toBeGreaterThan(0)
    for (const f of failures) {
      expect(f.name).toMatch(/^felixconfigurations\.crd\.projectcalico\.org default \(patch\): refused by the API server/)
      expect(f.text).toMatch(/422 Invalid: .*denied the request/)
    }
    expect(cases.find((c) => c.suite === 'preflight')?.state).toBe('pass')
    expect(cases.filter((c) => c.suite.startsWith('step-') && c.state === 'pass').length).toBeGreaterThan(0)
    expect(cluster.server.persistedWrites()).toEqual([])
  })

  it('-o junit: every write accepted → no failure, exit 0; revert --dry-run too; without --dry-run a usage error before any request', {timeout: 120_000}, async () => {
    cluster = await startCluster('manifest')
    const ok = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run=server', '-o', 'junit', ...FAST])
    expect(ok.code, ok.stderr).toBe(0)
    const cases = await junitCases(ok.stdout)
    expect(cases.filter((c) => c.state === 'failure')).toEqual([])
    expect(cases.some((c) => c.suite.startsWith('step-') && /would land/.test(c.name))).toBe(true)
    const back = await cli(['revert', '--kubeconfig', cluster.kubeconfig, '--dry-run', '-o', 'junit', ...FAST])
    expect(back.code, back.stderr).toBe(0)
    expect(await junitCases(back.stdout)).toBeInstanceOf(Array)
    const requestsBefore = cluster.server.log.length
    const real = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '-o', 'junit', ...FAST])
    expect(real.code).toBe(2)
    expect(real.stderr).toMatch(/-o junit needs --dry-run/)
    expect(real.stderr.trim().split('\n').length).toBeLessThanOrEqual(2)
    expect(cluster.server.log.length).toBe(requestsBefore)
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
