/**
 * The in-cluster record is untrusted input: anyone who can edit ConfigMap ebpfctl-state could otherwise make revert
 * write anywhere. Each case edits the record the way an attacker (or a broken tool) would.
 */
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {promisify} from 'node:util'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {RecordError} from '../../src/lib/plan/record-check.js'
import {RECORD_CONFIGMAP, RECORD_KEY, enableSession, revertSession} from '../../src/lib/plan/index.js'
import {type TestCluster, startCluster, touchedFields} from '../support/operator-sim.js'

const run = promisify(execFile)
const timing = {pollMs: 5, timeoutMs: 3000, retryDelayMs: 5}
let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})
beforeAll(() => {
  if (!existsSync('dist/commands/revert.js')) throw new Error('run `npm run build` first (one test runs the CLI)')
})

type Json = any // eslint-disable-line @typescript-eslint/no-explicit-any

async function enabled(kind: 'manifest' | 'operator' = 'manifest', dsr = true): Promise<TestCluster> {
  cluster = await startCluster(kind)
  const r = await enableSession({
    kube: cluster.kube,
    options: {kubeProxy: 'disable', dsr, kubeconfigServer: cluster.kube.server},
    timing,
  })
  expect(r.result?.outcome, r.result?.error).toBe('done')
  return cluster
}

function editRecord(c: TestCluster, edit: (record: Json) => Json | string): void {
  const cm = c.server.store.get('v1', 'ConfigMap', RECORD_CONFIGMAP, c.calicoNamespace)
  const next = edit(JSON.parse(cm.data[RECORD_KEY]))
  cm.data[RECORD_KEY] = typeof next === 'string' ? next : JSON.stringify(next)
  c.server.store.put(cm)
}

const entry = (record: Json, stepId: string) => record.entries.find((e: Json) => e.stepId === stepId)

async function refused(c: TestCluster): Promise<RecordError> {
  c.server.resetLog()
  const err = await revertSession({kube: c.kube, timing}).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(RecordError)
  expect(c.server.writes()).toEqual([])
  return err as RecordError
}

describe('revert refuses a record that names anything enable does not write', () => {
  const attacks: [string, (r: Json) => void, RegExp][] = [
    [
      'delete a Namespace',
      (r) => {
        const c = entry(r, 'api-address').changes[0]
        c.resource = {group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false}
        c.name = 'kube-system'
        delete c.namespace
      },
      /Namespace kube-system is not an object step "api-address" writes/,
    ],
    [
      'delete a Secret in the record namespace',
      (r) => {
        const c = entry(r, 'api-address').changes[0]
        c.resource = {group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true}
        c.name = 'calico-node-token'
      },
      /Secret kube-system\/calico-node-token is not an object/,
    ],
    [
      'scale coredns to 0',
      (r) => {
        r.entries.push({
          stepId: 'kube-proxy',
          run: 'x',
          state: 'applied',
          at: 'x',
          changes: [
            {
              resource: {group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true},
              namespace: 'kube-system',
              name: 'coredns',
              action: 'patch',
              patchType: 'merge',
              body: {spec: {replicas: 3}},
              fields: [{path: ['spec', 'replicas'], before: {present: true, value: 0}, after: {present: true, value: 2}}],
            },
          ],
        })
      },
      /Deployment kube-system\/coredns is not an object step "kube-proxy" writes/,
    ],
    [
      'rewrite the kube-proxy ConfigMap (a field enable writes, on another object)',
      (r) => {
        const c = entry(r, 'api-address').changes[0]
        c.name = 'kube-proxy'
      },
      /ConfigMap kube-system\/kube-proxy is not an object/,
    ],
    [
      'another field of an object enable writes',
      (r) => {
        entry(r, 'dsr').changes[0].fields[0].path = ['spec', 'logSeverityScreen']
      },
      /field spec\.logSeverityScreen is not one step "dsr" writes/,
    ],
    [
      'a prior value of the wrong type',
      (r) => {
        entry(r, 'bpf-on').changes[0].fields[0].before = {present: true, value: {evil: true}}
      },
      /FelixConfiguration default spec.bpfEnabled before value must be boolean/,
    ],
    [
      'a whole map with a key enable never adds',
      (r) => {
        const f = entry(r, 'kube-proxy').changes[0].fields[0]
        f.path = ['spec', 'template', 'spec', 'nodeSelector']
        f.before = {present: false}
        f.after = {present: true, value: {'non-calico': 'true', 'kubernetes.io/os': 'linux'}}
      },
      /nodeSelector\."kubernetes\.io\/os", which enable never writes/,
    ],
    [
      'a step that writes nothing',
      (r) => {
        entry(r, 'dsr').stepId = 'verify-bpf'
      },
      /step "verify-bpf"\): not a step of enable that writes/,
    ],
  ]
  for (const [name, attack, message] of attacks) {
    it(name, async () => {
      const c = await enabled()
      const before = touchedFields(c.server.store, c.calicoNamespace)
      editRecord(c, (r) => (attack(r), r))
      const err = await refused(c)
      expect(err.message, err.message).toMatch(message)
      expect(err.message).toContain(`kubectl get cm ebpfctl-state -n ${c.calicoNamespace} -o yaml`)
      expect(err.exitCode).toBe(2)
      expect(touchedFields(c.server.store, c.calicoNamespace)).toEqual(before)
    })
  }

  it('a kube-proxy entry whose prior value is an off key (revert would switch kube-proxy off with BPF off)', async () => {
    const c = await enabled('manifest', false)
    const cm = c.server.store.get('v1', 'ConfigMap', RECORD_CONFIGMAP, c.calicoNamespace)
    expect((await revertSession({kube: c.kube, timing})).result?.outcome).toBe('done')
    // The cluster is back to iptables with kube-proxy serving; a planted record "restores" kube-proxy off.
    const planted: Json = JSON.parse(cm.data[RECORD_KEY])
    planted.entries = planted.entries.filter((e: Json) => e.stepId === 'kube-proxy')
    planted.entries[0].changes[0].fields[0].before = {present: true, value: 'true'}
    delete cm.metadata.resourceVersion
    c.server.store.put({...cm, data: {[RECORD_KEY]: JSON.stringify(planted)}})
    const before = touchedFields(c.server.store, c.calicoNamespace)
    const err = await refused(c)
    expect(err.message).toMatch(/nodeSelector\.non-calico before value must be absent/)
    expect(touchedFields(c.server.store, c.calicoNamespace)).toEqual(before)
    expect(c.server.store.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system').spec.template.spec.nodeSelector)
      .not.toHaveProperty('non-calico')
  })

  it('a record claiming enable created FelixConfiguration default: revert removes its fields, never the object', async () => {
    const c = await enabled('manifest', false)
    editRecord(c, (r) => {
      const fc = entry(r, 'bpf-on').changes.find((ch: Json) => ch.resource.plural === 'felixconfigurations')
      fc.action = 'create'
      return r
    })
    const res = await revertSession({kube: c.kube, timing})
    expect(res.result?.outcome, res.result?.error).toBe('done')
    expect(c.server.writes().some((w) => w.method === 'DELETE' && w.path.includes('felixconfigurations'))).toBe(false)
    const fc = c.server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
    expect(fc?.spec).toMatchObject({logSeverityScreen: 'Info', floatingIPs: 'Disabled'})
    expect(fc.spec.bpfEnabled).not.toBe(true)
  })

  it('a resource version smuggled into an allowed object is replaced by ebpfctl\'s own', async () => {
    const c = await enabled()
    editRecord(c, (r) => {
      entry(r, 'dsr').changes[0].resource.version = 'v9'
      return r
    })
    const res = await revertSession({kube: c.kube, timing})
    expect(res.result?.outcome, res.result?.error).toBe('done')
    expect(c.server.writes().every((w) => !w.path.includes('/v9/'))).toBe(true)
  })
})

describe('a malformed record is one clear error, never a crash', () => {
  const cases: [string, (r: Json) => Json | string, RegExp][] = [
    ['changes is not a list', (r) => ((entry(r, 'dsr').changes = 'x'), r), /entries\/\d+\/changes must be array/],
    ['entries is null', (r) => ((r.entries = null), r), /entries must be array/],
    ['not JSON', () => '{"version":1,', /is not JSON/],
    ['another version', (r) => ((r.version = 2), r), /version must be equal to constant/],
    ['a huge record', (r) => ((r.padding = 'x'.repeat(2 * 1024 * 1024)), r), /larger than 1048576 bytes/],
  ]
  for (const [name, edit, message] of cases) {
    it(name, async () => {
      const c = await enabled()
      editRecord(c, edit)
      expect((await refused(c)).message).toMatch(message)
    })
  }

  it('the CLI prints one line (and a remedy), exit 2, no stack trace', {timeout: 60_000}, async () => {
    const c = await enabled()
    editRecord(c, (r) => ((entry(r, 'dsr').changes = 'x'), r))
    const r = await run(process.execPath, ['bin/run.js', 'revert', '--kubeconfig', c.kubeconfig], {
      env: {...process.env, NO_COLOR: '1'},
    }).then(
      () => ({code: 0, stderr: ''}),
      (e: {code: number; stderr: string}) => e,
    )
    expect(r.code).toBe(2)
    const lines = r.stderr.trim().split('\n')
    expect(lines[0]).toMatch(/^Error: the enable record ConfigMap kube-system\/ebpfctl-state .* -o yaml\)$/)
    expect(lines.length).toBeLessThanOrEqual(2)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('enable refuses a bad record before its first write (it would otherwise build on it)', async () => {
    const c = await enabled('manifest', false)
    editRecord(c, (r) => ((entry(r, 'bpf-on').changes = [{}]), r))
    c.server.resetLog()
    const err = await enableSession({
      kube: c.kube,
      options: {kubeProxy: 'disable', dsr: true, kubeconfigServer: c.kube.server},
      timing,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RecordError)
    expect(c.server.writes()).toEqual([])
  })
})

describe('a dry run meets the record as the real run would', () => {
  it('enable --dry-run refuses a bad record (exit 2), as the real run does', async () => {
    const c = await enabled('manifest', false)
    editRecord(c, (r) => ((entry(r, 'bpf-on').changes = 'x'), r))
    c.server.resetLog()
    const err = await enableSession({
      kube: c.kube,
      options: {kubeProxy: 'disable', dsr: true, kubeconfigServer: c.kube.server},
      timing,
      dryRun: true,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RecordError)
    expect((err as RecordError).exitCode).toBe(2)
    expect(c.server.writes()).toEqual([])
  })
})

describe('revert checks the live cluster, not the record, before BPF off', () => {
  it('a record that forgot its kube-proxy entry: BPF stays on while kube-proxy is disabled', async () => {
    const c = await enabled('manifest', false)
    editRecord(c, (r) => ((r.entries = r.entries.filter((e: Json) => e.stepId !== 'kube-proxy')), r))
    const res = await revertSession({kube: c.kube, timing})
    expect(res.result?.outcome).toBe('rollback-incomplete')
    expect(res.result?.error).toMatch(/refusing to turn BPF off: kube-proxy DaemonSet kube-system\/kube-proxy is still disabled/)
    const fc = c.server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
    expect(fc.spec.bpfEnabled).toBe(true)
  })

  it('kube-proxy deleted after enable: BPF stays on (no DaemonSet is not kube-proxy serving)', async () => {
    const c = await enabled('manifest', false)
    c.server.store.delete('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
    const res = await revertSession({kube: c.kube, timing})
    expect(res.result?.outcome).toBe('rollback-incomplete')
    expect(res.result?.error).toMatch(/refusing to turn BPF off: kube-proxy DaemonSet kube-system\/kube-proxy is gone/)
    const fc = c.server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
    expect(fc.spec.bpfEnabled).toBe(true)
  })

  it('kube-proxy deleted during enable: its rollback keeps BPF on', async () => {
    cluster = await startCluster('manifest')
    const c = cluster
    // The DSR patch (the last step) fails, and kube-proxy has meanwhile been deleted: the rollback must stop short.
    c.server.onRequest((r) => {
      if (r.method !== 'PATCH' || r.resource !== 'felixconfigurations' || !/DSR/i.test(r.body ?? '')) return undefined
      c.server.store.delete('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
      return {status: 403, reason: 'Forbidden', message: 'injected'}
    })
    const r = await enableSession({
      kube: c.kube,
      options: {kubeProxy: 'disable', dsr: true, kubeconfigServer: c.kube.server},
      timing,
    })
    expect(r.result?.outcome).toBe('rollback-incomplete')
    expect(r.result?.rollbackError).toMatch(/kube-proxy DaemonSet kube-system\/kube-proxy is gone/)
    const fc = c.server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
    expect(fc.spec.bpfEnabled).toBe(true)
  })

  it('keys someone else added under a map enable created are kept', async () => {
    cluster = await startCluster('manifest')
    const s = cluster.server.store
    const kp = s.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
    delete kp.spec.template.spec.nodeSelector
    s.put(kp)
    const r = await enableSession({
      kube: cluster.kube,
      options: {kubeProxy: 'disable', kubeconfigServer: cluster.kube.server},
      timing,
    })
    expect(r.result?.outcome, r.result?.error).toBe('done')
    const later = s.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
    later.spec.template.spec.nodeSelector = {...later.spec.template.spec.nodeSelector, 'kubernetes.io/os': 'linux'}
    s.put(later)
    const res = await revertSession({kube: cluster.kube, timing})
    expect(res.result?.outcome, res.result?.error).toBe('done')
    expect(s.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system').spec.template.spec.nodeSelector).toEqual({
      'kubernetes.io/os': 'linux',
    })
  })
})
