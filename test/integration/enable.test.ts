import {afterEach, describe, expect, it} from 'vitest'

import {type EnableOptions, enableSession, revertSession, runError} from '../../src/lib/plan/index.js'
import {
  type ClusterKind,
  type TestCluster,
  startCluster,
  touchedFields,
  watchInvariant,
} from '../support/operator-sim.js'

const timing = {pollMs: 5, timeoutMs: 3000, retryDelayMs: 5, retries: 4}
let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.close()
  cluster = undefined
})

const enable = (c: TestCluster, o: Partial<EnableOptions> = {}, extra: {dryRun?: boolean; force?: boolean} = {}) =>
  enableSession({
    kube: c.kube,
    options: {kubeProxy: 'disable', kubeconfigServer: c.kube.server, ...o},
    timing,
    ...extra,
  })

const writesOf = (c: TestCluster) => c.server.writes().map((w) => `${w.method} ${w.resource}/${w.name ?? ''}`)

const cases: {name: string; kind: ClusterKind; opts: Partial<EnableOptions>}[] = [
  {name: 'operator', kind: 'operator', opts: {dsr: true}},
  {name: 'operator + bootstrap (v3.31+)', kind: 'operator', opts: {bootstrap: true, kubeProxy: 'operator', dsr: true}},
  {name: 'manifest', kind: 'manifest', opts: {dsr: true}},
]

describe('enable through the fake API server', () => {
  for (const tc of cases) {
    it(`${tc.name}: enables, records, second run makes no writes`, async () => {
      cluster = await startCluster(tc.kind, {kubeProxySelector: {'kubernetes.io/os': 'linux', 'team/pool': 'blue'}})
      const inv = watchInvariant(cluster.server)
      const report = await enable(cluster, tc.opts)
      expect(report.result?.outcome, report.result?.error).toBe('done')
      const s = cluster.server.store
      const fc = s.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
      expect(fc.spec.bpfEnabled).toBe(true)
      expect(fc.spec.bpfExternalServiceMode).toBe('DSR')
      const kp = s.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
      const sel = kp.spec.template.spec.nodeSelector
      expect(sel['team/pool']).toBe('blue')
      expect(sel[tc.opts.kubeProxy === 'operator' ? 'operator.tigera.io/disable-kube-proxy' : 'non-calico']).toBe(
        'true',
      )
      expect(
        s.list('v1', 'Pod', 'kube-system').filter((p: any) => p.metadata.labels?.['k8s-app'] === 'kube-proxy'),
      ).toEqual([])
      const inst = s.get('operator.tigera.io/v1', 'Installation', 'default')
      if (tc.kind === 'operator') {
        expect(inst.spec.calicoNetwork.linuxDataplane).toBe('BPF')
        expect(fc.metadata.annotations['operator.tigera.io/bpfEnabled']).toBe('true')
        // Never FelixConfiguration bpfEnabled on operator installs.
        expect(
          cluster.server
            .writes()
            .filter((w) => w.resource === 'felixconfigurations')
            .map((w) => w.body),
        ).not.toContainEqual(expect.stringContaining('bpfEnabled'))
      }
      if (tc.opts.bootstrap) {
        expect(inst.spec.calicoNetwork.bpfNetworkBootstrap).toBe('Enabled')
        expect(s.get('v1', 'ConfigMap', 'kubernetes-services-endpoint', 'tigera-operator')).toBeUndefined()
        expect(cluster.sim?.degraded()).toBe('')
      } else {
        const ns = tc.kind === 'manifest' ? 'kube-system' : 'tigera-operator'
        expect(s.get('v1', 'ConfigMap', 'kubernetes-services-endpoint', ns).data).toEqual({
          KUBERNETES_SERVICE_HOST: '172.18.0.2',
          KUBERNETES_SERVICE_PORT: '6443',
        })
      }
      // Merge patches on custom resources, always.
      for (const w of cluster.server
        .writes()
        .filter((w) => w.method === 'PATCH' && w.group !== '' && w.group !== 'apps')) {
        expect(w.contentType).toBe('application/merge-patch+json')
      }
      expect(s.get('v1', 'ConfigMap', 'ebpfctl-state', cluster.calicoNamespace)).toBeDefined()
      expect(inv.violated).toBe(false)

      cluster.server.resetLog()
      const again = await enable(cluster, tc.opts)
      expect(again.result?.outcome).toBe('nothing-to-do')
      // Only the lock (Lease taken and released).
      expect(cluster.server.writes().map((w) => `${w.method} ${w.resource}`)).toEqual(['POST leases', 'DELETE leases'])
    })

    it(`${tc.name}: --dry-run prints the plan and diffs and writes nothing`, async () => {
      cluster = await startCluster(tc.kind)
      const report = await enable(cluster, tc.opts, {dryRun: true})
      expect(cluster.server.writes()).toEqual([])
      const text = report.rendered
      expect(text).toMatch(/^1\. /)
      if (tc.kind === 'operator' && !tc.opts.bootstrap) {
        expect(text).toContain('configmaps tigera-operator/kubernetes-services-endpoint (create)')
        expect(text).toContain('+ data.KUBERNETES_SERVICE_HOST: "172.18.0.2"')
        expect(text).toContain('installations.operator.tigera.io default (merge patch)')
        expect(text).toContain('body: {"spec":{"calicoNetwork":{"linuxDataplane":"BPF"}}}')
        expect(text).toContain('- spec.calicoNetwork.linuxDataplane: "Iptables"')
        expect(text).toContain('calico-node rolled out by the operator')
      }
      if (tc.opts.bootstrap) {
        expect(text).toContain('+ spec.calicoNetwork.bpfNetworkBootstrap: "Enabled"')
        expect(text).toContain('+ spec.calicoNetwork.kubeProxyManagement: "Enabled"')
        expect(text).toContain('daemonsets.apps kube-system/kube-proxy (made by the operator)')
        expect(text).not.toContain('kubernetes-services-endpoint (create)')
      }
      if (tc.kind === 'manifest') {
        expect(text).toContain('configmaps kube-system/kubernetes-services-endpoint (create)')
        expect(text).toContain('daemonsets.apps kube-system/calico-node (strategic patch)')
        expect(text).toContain('kubectl.kubernetes.io/restartedAt')
        expect(text).toContain('felixconfigurations.crd.projectcalico.org default (merge patch)')
        expect(text).toContain('body: {"spec":{"bpfEnabled":true}}')
      }
      expect(text).toContain('body: {"spec":{"bpfExternalServiceMode":"DSR"}}')
      if (!tc.opts.bootstrap)
        expect(text).toContain('body: {"spec":{"template":{"spec":{"nodeSelector":{"non-calico":"true"}}}}}')
    })
  }

  for (const kind of ['operator', 'manifest'] as const) {
    it(`${kind}: a node below Felix's kernel floor stops enable before kube-proxy; cluster restored`, async () => {
      cluster = await startCluster(kind, {
        nodes: [{name: 'cp-1', controlPlane: true}, {name: 'old-1', bpfSupported: false}, {name: 'w-2'}],
      })
      const inv = watchInvariant(cluster.server)
      const before = touchedFields(cluster.server.store, cluster.calicoNamespace)
      // The preflight would catch this kernel; --force simulates a node it cannot judge.
      const report = await enable(cluster, {dsr: true}, {force: true})
      expect(report.preflightFailures.map((f) => f.checkId)).toContain('kernel')
      expect(report.result?.outcome).toBe('rolled-back')
      expect(report.result?.failedStep).toBe('verify-bpf')
      expect(report.result?.error).toContain('old-1')
      expect(cluster.server.writes().some((w) => w.resource === 'daemonsets' && w.name === 'kube-proxy')).toBe(false)
      const after = touchedFields(cluster.server.store, cluster.calicoNamespace)
      expect(after).toEqual(before)
      expect(inv.violated).toBe(false)
      expect(runError(report.result!, cluster.calicoNamespace)?.message).toMatch(/fell back.*old-1.*restored/s)
    })
  }

  it('refuses with the failing preflight checks named, unless --force', async () => {
    cluster = await startCluster('manifest', {
      nodes: [
        {name: 'cp-1', controlPlane: true},
        {name: 'old-1', bpfSupported: false},
      ],
    })
    await expect(enable(cluster)).rejects.toThrow(/preflight failed, nothing was changed:[\s\S]*kernel/)
    expect(cluster.server.writes()).toEqual([])
  })

  it('refuses --bootstrap before v3.31 and when no API address is usable', async () => {
    cluster = await startCluster('operator-v3.30')
    await expect(enable(cluster, {bootstrap: true})).rejects.toThrow(/v3\.31/)
    await expect(enable(cluster, {kubeProxy: 'operator'})).rejects.toThrow(/kubeProxyManagement/)
    await expect(enable(cluster, {apiServer: '127.0.0.1:6443'})).rejects.toThrow(/loopback/)
    expect(cluster.server.writes()).toEqual([])
  })

  it('a 403 the permission gate could not predict (RBAC changed mid-run) names the verb and resource and rolls back', async () => {
    cluster = await startCluster('manifest')
    const before = touchedFields(cluster.server.store, cluster.calicoNamespace)
    // Allowed when the gate asks (SelfSubjectAccessReview), refused when the write comes.
    cluster.server.onRequest((r) =>
      r.method === 'PATCH' && r.resource === 'daemonsets' && r.name === 'calico-node'
        ? {status: 403, reason: 'Forbidden'}
        : undefined,
    )
    const report = await enable(cluster)
    expect(report.result?.outcome).toBe('rolled-back')
    expect(report.result?.error).toMatch(/cannot patch daemonsets\.apps "calico-node" in namespace "kube-system"/)
    expect(touchedFields(cluster.server.store, cluster.calicoNamespace)).toEqual(before)
  })

  it('a 409 conflict is re-read and retried', async () => {
    cluster = await startCluster('operator')
    let n = 0
    cluster.server.onRequest((r) =>
      r.method === 'PATCH' && r.resource === 'installations' && n++ === 0
        ? {status: 409, reason: 'Conflict'}
        : undefined,
    )
    const report = await enable(cluster)
    expect(report.result?.outcome).toBe('done')
    expect(writesOf(cluster).filter((w) => w === 'PATCH installations/default')).toHaveLength(2)
  })

  it('operator before v3.27: clears hostPorts (which that operator rejects with BPF), warns; revert restores it', async () => {
    cluster = await startCluster('operator', {calicoVersion: 'v3.26.4'})
    const s = cluster.server.store
    const before = touchedFields(s, cluster.calicoNamespace)
    expect((before.installation as {hostPorts?: string}).hostPorts).toBe('Enabled')
    const report = await enable(cluster)
    expect(report.result?.outcome, report.result?.error).toBe('done')
    expect(report.plan.warnings.join('\n')).toMatch(
      /operators before Calico v3\.27 reject hostPorts.*clears Installation spec\.calicoNetwork\.hostPorts \(now Enabled\)/,
    )
    expect(report.rendered).toMatch(/hostPorts/)
    const inst = s.get('operator.tigera.io/v1', 'Installation', 'default')
    expect(inst.spec.calicoNetwork.linuxDataplane).toBe('BPF')
    expect(inst.spec.calicoNetwork.hostPorts).toBe('Disabled') // defaulted by that operator once BPF is on
    const r = await revertSession({kube: cluster.kube, timing})
    expect(r.result?.outcome, r.result?.error).toBe('done')
    expect(touchedFields(s, cluster.calicoNamespace)).toEqual(before)
  })

  it("a timed-out wait names the operator's Degraded reason, and enable rolls back", async () => {
    // Mid-upgrade: ClusterInformation already says v3.27, the running operator is still v1.30 (Calico v3.26).
    cluster = await startCluster('operator', {calicoVersion: 'v3.26.4'})
    const s = cluster.server.store
    const ci = s.get('crd.projectcalico.org/v1', 'ClusterInformation', 'default')
    ci.spec.calicoVersion = 'v3.27.0'
    s.put(ci)
    const before = touchedFields(s, cluster.calicoNamespace)
    const report = await enable(cluster)
    expect(report.result?.outcome).toBe('rolled-back')
    expect(report.result?.error).toMatch(
      /bpfEnabled: .*the operator reports Degraded: spec\.calicoNetwork\.hostPorts is not supported with the eBPF dataplane/,
    )
    expect(touchedFields(s, cluster.calicoNamespace)).toEqual(before)
  })

  it('operator: waits for calico-typha to roll out with the new address; a Typha that never gets Ready stops enable', async () => {
    cluster = await startCluster('operator')
    const s = cluster.server.store
    const before = touchedFields(s, cluster.calicoNamespace)
    // From now on new calico-typha pods never become Ready (e.g. they cannot reach the new API address).
    cluster.server.setPodHook((pod) => {
      if (pod.metadata.labels?.['k8s-app'] !== 'calico-typha' || !pod.status?.conditions) return
      for (const c of pod.status.conditions) if (c.type === 'Ready' || c.type === 'ContainersReady') c.status = 'False'
      for (const cs of pod.status.containerStatuses ?? []) cs.ready = false
    })
    const report = await enable(cluster)
    expect(report.result?.outcome).toBe('rolled-back')
    expect(report.result?.error).toMatch(/calico-typha/)
    expect(touchedFields(s, cluster.calicoNamespace)).toEqual(before)
    const kp = s.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
    expect(kp.spec.template.spec.nodeSelector?.['non-calico']).toBeUndefined()
  })

  it('operator v3.27 and later: hostPorts stays as it is', async () => {
    cluster = await startCluster('operator', {calicoVersion: 'v3.27.0'})
    const report = await enable(cluster)
    expect(report.result?.outcome, report.result?.error).toBe('done')
    expect(report.plan.warnings.join('\n')).not.toMatch(/hostPorts/)
    const inst = cluster.server.store.get('operator.tigera.io/v1', 'Installation', 'default')
    expect(inst.spec.calicoNetwork.hostPorts).toBe('Enabled')
  })

  it('enable → revert restores every touched field (user nodeSelector, prior bpfExternalServiceMode)', async () => {
    for (const kind of ['operator', 'manifest'] as const) {
      const c = await startCluster(kind, {
        kubeProxySelector: {'kubernetes.io/os': 'linux', 'team/pool': 'blue'},
        felix: {bpfExternalServiceMode: 'Tunnel', bpfLogLevel: 'Off'},
      })
      try {
        const before = touchedFields(c.server.store, c.calicoNamespace)
        expect((await enable(c, {dsr: true})).result?.outcome).toBe('done')
        const r = await revertSession({kube: c.kube, timing})
        expect(r.result?.outcome, r.result?.error).toBe('done')
        expect(touchedFields(c.server.store, c.calicoNamespace), kind).toEqual(before)
      } finally {
        await c.close()
      }
    }
  })
})
