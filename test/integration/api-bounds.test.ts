/**
 * Hostile API responses against the built CLI: an endless list, an object declared 1.9 GB, endless calico-node logs
 * (with and without the server honouring limitBytes). Each ends with a bounded, one-line error naming the bound —
 * never an unbounded read (before: 1.9 GB bodies and 1.18 GB RSS on 300 MB log lines). Peak RSS is checked loosely
 * here; bench/api-bounds.ts prints the figures.
 */
import {existsSync} from 'node:fs'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {type TestCluster, startCluster} from '../support/operator-sim.js'
import {runCliMeasured} from '../support/peak-rss.js'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})
beforeAll(() => {
  if (!existsSync('dist/commands/enable.js')) throw new Error('run `npm run build` first (these tests run the built CLI)')
})

/** Loose: far below what an unbounded read reaches, with room for a loaded CI machine. */
const RSS_CEILING_MIB = 400

describe('bounded API reads (built CLI)', () => {
  it('an endless node list: exit 2, "more than 64 MiB for a list page"', {timeout: 120_000}, async () => {
    cluster = await startCluster('manifest')
    cluster.server.onRequest((r) => (r.verb === 'list' && r.resource === 'nodes' ? {endless: 'json'} : undefined))
    const r = await runCliMeasured(['check', '--kubeconfig', cluster.kubeconfig, '--request-timeout', '60s'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('more than 64 MiB for a list page (list nodes); stopped reading at the byte bound')
    expect(r.peakRssMiB).toBeLessThan(RSS_CEILING_MIB)
  })

  it('an object declared 1.9 GB: refused before reading it', {timeout: 120_000}, async () => {
    cluster = await startCluster('manifest')
    cluster.server.onRequest((r) =>
      r.verb === 'get' && r.resource === 'configmaps' && r.name === 'kube-proxy' ? {declaredBytes: 1_900_000_000} : undefined,
    )
    const r = await runCliMeasured(['check', '--kubeconfig', cluster.kubeconfig])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('more than 16 MiB for the object (get configmaps "kube-proxy")')
    expect(r.peakRssMiB).toBeLessThan(RSS_CEILING_MIB)
  })

  for (const honour of [true, false]) {
    it(`endless calico-node logs (server ${honour ? 'honours' : 'ignores'} limitBytes): status stays bounded`, {timeout: 120_000}, async () => {
      cluster = await startCluster('manifest', {nodes: 3})
      const felix = cluster.server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
      felix.spec = {...felix.spec, bpfEnabled: true}
      cluster.server.store.put(felix)
      cluster.server.onRequest((r) => (r.verb === 'logs' ? {endless: 'text', honourLimitBytes: honour} : undefined))
      const r = await runCliMeasured(['status', '--kubeconfig', cluster.kubeconfig, '--request-timeout', '60s'])
      const logReads = cluster.server.log.filter((l) => l.verb === 'logs')
      expect(logReads.length).toBeGreaterThan(0)
      // status reads Felix's log only as the fallback, from the start and at most 64 KiB (issue 12).
      for (const l of logReads) expect(l.query.get('limitBytes')).toBe(String(64 * 1024))
      if (!honour) expect(r.stdout + r.stderr).toContain('for the pod log')
      expect(r.peakRssMiB).toBeLessThan(RSS_CEILING_MIB)
    })
  }
})
