/**
 * The permission gate: before its first write, enable (and revert) asks a SelfSubjectAccessReview for every
 * verb/resource/namespace/name the plan will use, and refuses with the full list of what is missing — exit 2, nothing
 * written. --dry-run prints the same list. (Without the gate, a 403 arrived mid-run, after BPF was already on.)
 */
import {existsSync} from 'node:fs'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {type PermissionError, enableSession} from '../../src/lib/plan/index.js'
import {type TestCluster, startCluster} from '../support/operator-sim.js'
import {cli} from '../support/cli.js'



let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

beforeAll(() => {
  if (!existsSync('dist/commands/enable.js'))
    throw new Error('run `npm run build` first (these tests run the built CLI)')
})

describe('enable: permissions before the first write', () => {
  it('refuses with every missing permission listed, exit 2, and writes nothing', {timeout: 60_000}, async () => {
    cluster = await startCluster('operator', {kubeProxySelector: {'kubernetes.io/os': 'linux'}})
    // The last steps' objects: a run without the gate would switch BPF on before meeting these 403s.
    cluster.server.forbid({verb: 'patch', resource: 'daemonsets', namespace: 'kube-system'})
    cluster.server.forbid({verb: 'patch', resource: 'felixconfigurations'})
    const r = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--dsr', '--poll-interval', '10ms'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('missing permissions: enable would need 2 more, nothing was changed')
    expect(r.stderr).toContain('  - patch daemonsets.apps/kube-proxy -n kube-system')
    expect(r.stderr).toContain('  - patch felixconfigurations.crd.projectcalico.org/default')
    expect(r.stderr).toContain('kubectl auth can-i patch daemonsets.apps/kube-proxy -n kube-system')
    expect(cluster.server.writes()).toEqual([])
    // Asked about everything the plan uses, the lock Lease and the record too.
    const asked = cluster.server.accessReviews.map((a) => `${a.verb} ${a.resource}${a.name ? `/${a.name}` : ''}`)
    expect(asked).toEqual(
      expect.arrayContaining([
        'get leases/ebpfctl-lock',
        'create leases',
        'update leases/ebpfctl-lock',
        'create configmaps',
        'patch configmaps/ebpfctl-state',
        'patch installations/default',
        'patch daemonsets/kube-proxy',
        'patch felixconfigurations/default',
      ]),
    )
  })

  it('--dry-run prints the same list and exits 2', {timeout: 60_000}, async () => {
    cluster = await startCluster('manifest')
    cluster.server.forbid({verb: 'create', resource: 'configmaps', namespace: 'kube-system'})
    const r = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stdout).toMatch(/Permissions \(SelfSubjectAccessReview, as kubectl auth can-i\): \d+ checked, 1 missing:/)
    expect(r.stdout).toContain('  - create configmaps -n kube-system')
    expect(r.stdout).toContain('Dry run: nothing was changed.')
    expect(r.stderr).toContain('missing permissions: enable would need 1 more')
    expect(cluster.server.writes()).toEqual([])
  })

  it('--dry-run with every permission: exit 0 and says how many were checked', {timeout: 60_000}, async () => {
    cluster = await startCluster('manifest')
    const r = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--dry-run'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/Permissions \(SelfSubjectAccessReview, as kubectl auth can-i\): \d+ checked, 0 missing\./)
  })

  it('the session refuses with a PermissionError listing all of them (the lock Lease and the record included)', async () => {
    cluster = await startCluster('operator')
    cluster.server.forbid({verb: '*', resource: 'leases'})
    cluster.server.forbid({verb: 'delete', resource: 'configmaps', name: 'ebpfctl-state'})
    const err = (await enableSession({
      kube: cluster.kube,
      options: {kubeProxy: 'disable', kubeconfigServer: cluster.kube.server},
      preflight: async () => [],
    }).catch((e) => e)) as PermissionError
    expect(err.name).toBe('PermissionError')
    expect(err.exitCode).toBe(2)
    expect(err.missing.map((p) => `${p.verb} ${p.resource} ${p.namespace}`)).toEqual([
      'get leases kube-system',
      'create leases kube-system',
      'update leases kube-system',
      'delete leases kube-system',
      'delete configmaps calico-system',
    ])
    expect(cluster.server.writes()).toEqual([])
  })

  it('revert is gated the same way', {timeout: 60_000}, async () => {
    cluster = await startCluster('manifest')
    const e = await cli(['enable', '--kubeconfig', cluster.kubeconfig, '--poll-interval', '10ms', '--retry-delay', '10ms'])
    expect(e.code, e.stderr).toBe(0)
    cluster.server.forbid({verb: 'patch', resource: 'daemonsets', namespace: 'kube-system'})
    cluster.server.resetLog()
    const r = await cli(['revert', '--kubeconfig', cluster.kubeconfig, '--poll-interval', '10ms'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('missing permissions: revert would need')
    expect(r.stderr).toContain('patch daemonsets.apps/')
    expect(cluster.server.writes()).toEqual([])
  })
})
