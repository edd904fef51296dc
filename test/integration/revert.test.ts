import {afterEach, describe, expect, it} from 'vitest'

import {enableSession, revertSession} from '../../src/lib/plan/index.js'
import {type TestCluster, startCluster, touchedFields} from '../support/operator-sim.js'

const timing = {pollMs: 5, timeoutMs: 3000, retryDelayMs: 5}
let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

describe('revert', () => {
  it('--dry-run shows the undo plan, in order, and writes nothing', async () => {
    cluster = await startCluster('operator', {kubeProxySelector: {'kubernetes.io/os': 'linux', zone: 'a'}})
    await enableSession({
      kube: cluster.kube,
      options: {kubeProxy: 'disable', dsr: true, kubeconfigServer: cluster.kube.server},
      timing,
    })
    cluster.server.resetLog()
    const r = await revertSession({kube: cluster.kube, timing, dryRun: true})
    expect(cluster.server.writes()).toEqual([])
    expect(r.hadRecord).toBe(true)
    expect(r.plan.steps.map((s) => s.id)).toEqual(['kube-proxy', 'bpf-on', 'dsr', 'api-address'])
    expect(r.rendered).toContain('+ spec.template.spec.nodeSelector.non-calico: (absent)')
    expect(r.rendered).toContain('body: {"spec":{"calicoNetwork":{"linuxDataplane":"Iptables"}}}')
    expect(r.rendered).toContain('configmaps tigera-operator/kubernetes-services-endpoint (delete)')
    expect(r.plan.warnings.join(' ')).toMatch(/disrupts/)
  })

  it('bootstrap: one patch of linuxDataplane and bpfNetworkBootstrap; operator kube-proxy key removed', async () => {
    cluster = await startCluster('operator')
    const before = touchedFields(cluster.server.store, cluster.calicoNamespace)
    await enableSession({
      kube: cluster.kube,
      options: {kubeProxy: 'operator', bootstrap: true, kubeconfigServer: cluster.kube.server},
      timing,
    })
    cluster.server.resetLog()
    const r = await revertSession({kube: cluster.kube, timing})
    expect(r.result?.outcome, r.result?.error).toBe('done')
    const instPatches = cluster.server
      .writes()
      .filter((w) => w.resource === 'installations')
      .map((w) => {
        // Every patch is conditional on the resourceVersion it was computed from.
        const {metadata, ...body} = JSON.parse(w.body!)
        expect(metadata.resourceVersion).toMatch(/^\d+$/)
        return body
      })
    expect(instPatches).toContainEqual({spec: {calicoNetwork: {linuxDataplane: 'Iptables', bpfNetworkBootstrap: null}}})
    expect(cluster.sim?.degraded()).toBe('')
    expect(touchedFields(cluster.server.store, cluster.calicoNamespace)).toEqual(before)
  })

  it('without a record: best-effort revert of the well-known changes, saying so', async () => {
    cluster = await startCluster('manifest')
    const s = cluster.server.store
    const fc = s.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
    fc.spec = {...fc.spec, bpfEnabled: true, bpfExternalServiceMode: 'DSR'}
    s.put(fc)
    const kp = s.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
    kp.spec.template.spec.nodeSelector = {...kp.spec.template.spec.nodeSelector, 'non-calico': 'true'}
    s.put(kp)
    const r = await revertSession({kube: cluster.kube, timing})
    expect(r.hadRecord).toBe(false)
    expect(r.plan.warnings.join(' ')).toMatch(/No enable record .* best-effort/)
    expect(r.result?.outcome).toBe('done')
    expect(
      s.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system').spec.template.spec.nodeSelector['non-calico'],
    ).toBeUndefined()
    const after = s.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default').spec
    expect(after).toMatchObject({bpfEnabled: false, bpfExternalServiceMode: 'Tunnel'})
    const order = cluster.server.writes().map((w) => w.resource)
    expect(order.indexOf('daemonsets')).toBeLessThan(order.indexOf('felixconfigurations'))
  })

  it('a missing permission is refused before any write, with the full list', async () => {
    cluster = await startCluster('manifest')
    await enableSession({
      kube: cluster.kube,
      options: {kubeProxy: 'disable', kubeconfigServer: cluster.kube.server},
      timing,
    })
    cluster.server.forbid({verb: 'patch', resource: 'daemonsets', namespace: 'kube-system'})
    cluster.server.resetLog()
    const err = await revertSession({kube: cluster.kube, timing}).catch((e: unknown) => e as Error)
    expect((err as Error).message).toMatch(/patch daemonsets\.apps\/kube-proxy -n kube-system/)
    expect(cluster.server.writes()).toEqual([])
  })

  it('stops before BPF off when kube-proxy cannot come back (403), so Services keep working', async () => {
    cluster = await startCluster('manifest')
    await enableSession({
      kube: cluster.kube,
      options: {kubeProxy: 'disable', kubeconfigServer: cluster.kube.server},
      timing,
    })
    // Allowed when the permission gate asks, refused when the write comes (RBAC changed mid-run, a webhook).
    cluster.server.onRequest((r) =>
      r.method === 'PATCH' && r.resource === 'daemonsets' && r.name === 'kube-proxy'
        ? {status: 403, reason: 'Forbidden'}
        : undefined,
    )
    const r = await revertSession({kube: cluster.kube, timing})
    expect(r.result?.outcome).toBe('rollback-incomplete')
    expect(r.result?.error).toMatch(/kube-proxy back.*cannot patch daemonsets\.apps "kube-proxy"/)
    expect(cluster.server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default').spec.bpfEnabled).toBe(
      true,
    )
    expect(cluster.server.store.get('v1', 'ConfigMap', 'ebpfctl-state', 'kube-system')).toBeDefined()
  })
})
