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

describe('checkRecord under fuzzing', () => {
  it('any text at all: a record or a RecordError, never another error', async () => {
    const {ctx} = await realRecord()
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), async (text) => {
        await checkRecord({data: {[RECORD_KEY]: text}}, ctx).catch((err: unknown) => {
          expect(err).toBeInstanceOf(RecordError)
        })
      }),
      {numRuns: 300},
    )
  })

  // Records built from pieces an attacker would combine: objects enable writes and ones it must never touch, fields
  // enable writes and others, arbitrary prior values. The oracle is written out by hand (not the allow-list code):
  // whatever is accepted only ever touches these objects and these fields.
  const ALLOWED: Record<string, string[][]> = {
    'configmaps kube-system/kubernetes-services-endpoint': [
      ['data', 'KUBERNETES_SERVICE_HOST'],
      ['data', 'KUBERNETES_SERVICE_PORT'],
    ],
    'felixconfigurations default': [
      ['spec', 'bpfEnabled'],
      ['spec', 'bpfKubeProxyIptablesCleanupEnabled'],
      ['spec', 'bpfKubeProxyHealthzPort'],
      ['spec', 'bpfExternalServiceMode'],
    ],
    'daemonsets kube-system/calico-node': [
      ['spec', 'template', 'metadata', 'annotations', 'kubectl.kubernetes.io/restartedAt'],
      ['spec', 'template', 'spec', 'containers[calico-node]', 'env[FELIX_BPFENABLED]', 'value'],
    ],
    'deployments kube-system/calico-typha': [
      ['spec', 'template', 'metadata', 'annotations', 'kubectl.kubernetes.io/restartedAt'],
    ],
    'daemonsets kube-system/kube-proxy': [['spec', 'template', 'spec', 'nodeSelector', 'non-calico']],
    'installations default': [
      ['spec', 'calicoNetwork', 'bpfNetworkBootstrap'],
      ['spec', 'calicoNetwork', 'linuxDataplane'],
      ['spec', 'calicoNetwork', 'hostPorts'],
      ['spec', 'calicoNetwork', 'kubeProxyManagement'],
    ],
  }
  const ref = (group: string, version: string, plural: string, namespaced: boolean) => ({
    group,
    version,
    plural,
    kind: plural,
    namespaced,
  })
  const resources = fc.constantFrom(
    ref('', 'v1', 'configmaps', true),
    ref('', 'v1', 'secrets', true),
    ref('', 'v1', 'namespaces', false),
    ref('apps', 'v1', 'daemonsets', true),
    ref('apps', 'v1', 'deployments', true),
    ref('crd.projectcalico.org', 'v1', 'felixconfigurations', false),
    ref('operator.tigera.io', 'v1', 'installations', false),
    ref('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', false),
  )
  const names = fc.constantFrom(
    'kubernetes-services-endpoint',
    'kube-proxy',
    'coredns',
    'calico-node',
    'calico-typha',
    'default',
    'kube-system',
    'ebpfctl-state',
  )
  const segments = fc.constantFrom(
    'spec',
    'data',
    'template',
    'metadata',
    'annotations',
    'nodeSelector',
    'replicas',
    'non-calico',
    'bpfEnabled',
    'bpfExternalServiceMode',
    'calicoNetwork',
    'linuxDataplane',
    'KUBERNETES_SERVICE_HOST',
    'containers[calico-node]',
    'env[FELIX_BPFENABLED]',
    'value',
    'kubectl.kubernetes.io/restartedAt',
    '__proto__',
  )
  const fieldValue = fc.oneof(
    fc.constant({present: false}),
    fc.record({present: fc.constant(true), value: fc.oneof(fc.jsonValue(), fc.boolean(), fc.constantFrom('true', 'DSR'))}),
  )
  const paths = fc.oneof(
    fc.constantFrom(...Object.values(ALLOWED).flat(), ['spec', 'replicas'], ['spec', 'template', 'spec', 'nodeSelector'], ['data']),
    fc.array(segments, {minLength: 1, maxLength: 6}),
  )
  /** Mostly keep the real value: a record with a few hostile edits is the interesting case. */
  const sometimes = <T>(arb: fc.Arbitrary<T>) =>
    fc.oneof({arbitrary: fc.constant(undefined), weight: 5}, {arbitrary: arb.map((v) => ({v})), weight: 1})
  const edit = fc.record({
    pick: fc.nat(),
    stepId: sometimes(fc.constantFrom('api-address', 'calico-node-pickup', 'bpf-on', 'kube-proxy', 'dsr', 'verify-bpf')),
    resource: sometimes(resources),
    namespace: sometimes(fc.option(fc.constantFrom('kube-system', 'calico-system', 'default'), {nil: undefined})),
    name: sometimes(names),
    action: sometimes(fc.constantFrom('create', 'patch', 'delete')),
    path: sometimes(paths),
    before: sometimes(fieldValue),
    after: sometimes(fieldValue),
  })

  it('an accepted record only ever names the objects and fields enable writes', async () => {
    const {text, ctx} = await realRecord()
    let accepted = 0
    const real: Json = JSON.parse(text)
    const realChanges: [string, Json][] = real.entries.flatMap((e: Json) => e.changes.map((c: Json) => [e.stepId, c]))
    await fc.assert(
      fc.asyncProperty(fc.array(edit, {minLength: 1, maxLength: 4}), async (edits) => {
        const entries = edits.map((e) => {
          const [stepId, base] = realChanges[e.pick % realChanges.length]!
          const c: Json = structuredClone(base)
          if (e.resource) c.resource = e.resource.v
          if (e.namespace) c.namespace = e.namespace.v
          if (e.name) c.name = e.name.v
          if (e.action) c.action = e.action.v
          if (e.path) c.fields[0].path = e.path.v
          if (e.before) c.fields[0].before = e.before.v
          if (e.after) c.fields[0].after = e.after.v
          return {...real.entries[0], stepId: e.stepId?.v ?? stepId, changes: [c]}
        })
        const doc = {...real, entries}
        const rec = await checkRecord({data: {[RECORD_KEY]: JSON.stringify(doc)}}, ctx).catch((err: unknown) => {
          expect(err).toBeInstanceOf(RecordError)
          return undefined
        })
        if (!rec) return
        accepted++
        for (const c of rec.entries.flatMap((e) => e.changes)) {
          const key = `${c.resource.plural} ${c.namespace ? `${c.namespace}/` : ''}${c.name}`
          const fields = ALLOWED[key]
          expect(fields, key).toBeDefined()
          expect(c.action).not.toBe('delete')
          // A whole map enable added may stand for the keys under it: every field is an allowed leaf or its parent.
          for (const f of c.fields)
            expect(fields!.some((allowed) => f.path.every((seg, i) => seg === allowed[i])), `${key} ${f.path}`).toBe(true)
        }
      }),
      {numRuns: 2000},
    )
    // The generator must reach acceptance sometimes, or the property says nothing.
    expect(accepted).toBeGreaterThan(0)
  })
})
