import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {collectClusterState, detectInstall} from '../../../src/lib/kube/cluster.js'
import {Resources} from '../../../src/lib/kube/resources.js'
import {RECORD_KEY, enableSession} from '../../../src/lib/plan/index.js'
import {RecordError, checkRecord} from '../../../src/lib/plan/record-check.js'
import {manifestCluster} from '../../support/kube-stub.js'

type Json = any // eslint-disable-line @typescript-eslint/no-explicit-any

/** A record enable really wrote, and the cluster it was checked against. */
async function realRecord() {
  const stub = manifestCluster()
  const r = await enableSession({
    kube: stub,
    options: {kubeProxy: 'disable', dsr: true, kubeconfigServer: stub.server},
    timing: {pollMs: 1, timeoutMs: 2000, retryDelayMs: 1},
  })
  expect(r.result?.outcome, r.result?.error).toBe('done')
  const state = await collectClusterState(stub)
  const cm = stub.peek(Resources.configMaps, 'ebpfctl-state', 'kube-system') as unknown as {data: Record<string, string>}
  return {text: cm.data[RECORD_KEY]!, ctx: {state, install: detectInstall(state), namespace: 'kube-system'}}
}

/** Every path to a value inside a JSON document. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => paths(x, [...at, i]))]
  if (v && typeof v === 'object') return [at, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, k]))]
  return [at]
}

describe('checkRecord', () => {
  it('accepts what enable wrote', async () => {
    const {text, ctx} = await realRecord()
    const rec = await checkRecord({data: {[RECORD_KEY]: text}}, ctx)
    expect(rec?.entries.map((e) => e.stepId)).toEqual(['api-address', 'calico-node-pickup', 'bpf-on', 'kube-proxy', 'dsr'])
  })

  it('any value anywhere in a real record: accepted or a RecordError, never another error', async () => {
    const {text, ctx} = await realRecord()
    const original = JSON.parse(text)
    const all = paths(original).filter((p) => p.length > 0)
    await fc.assert(
      fc.asyncProperty(fc.nat(all.length - 1), fc.anything(), async (i, replacement) => {
        const doc: Json = structuredClone(original)
        const p = all[i]!
        let parent = doc
        for (const seg of p.slice(0, -1)) parent = parent[seg]
        parent[p.at(-1)!] = replacement
        try {
          await checkRecord({data: {[RECORD_KEY]: JSON.stringify(doc)}}, ctx)
        } catch (err) {
          expect(err).toBeInstanceOf(RecordError)
          expect((err as Error).message).not.toMatch(/[\u0000-\u001f]/)
        }
      }),
      {numRuns: 400},
    )
  })

  it('control characters from the record are escaped in the error', async () => {
    const {text, ctx} = await realRecord()
    const doc = JSON.parse(text)
    doc.entries[0].changes[0].name = 'x\u001b]0;owned\u0007\ny'
    const err = await checkRecord({data: {[RECORD_KEY]: JSON.stringify(doc)}}, ctx).catch((e: unknown) => e)
    expect((err as Error).message).toContain('x\\u001b]0;owned\\u0007\\u000ay')
  })

  it('a ConfigMap without the record key, or a value that is not text, is refused', async () => {
    const {ctx} = await realRecord()
    await expect(checkRecord({data: {}}, ctx)).rejects.toThrow(/has no record.json key/)
    await expect(checkRecord({data: {[RECORD_KEY]: 42}}, ctx)).rejects.toThrow(RecordError)
  })
})
