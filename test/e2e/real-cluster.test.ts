/**
 * ebpfctl (the built bin/run.js) against a real control plane: kube-apiserver, kube-controller-manager and
 * kube-scheduler v1.35.4, embedded etcd, kwok nodes, Calico v3.32.1's calico.yaml (test/e2e/cluster). One cluster
 * for the whole file: `up` costs seconds warm, and the steps below build on each other (enable → status → revert).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedManifestInstall} from '../support/fake-apiserver/scenarios.js'
import {type E2ECluster, e2eSkipReason, ebpfctl, startE2ECluster} from './support/cluster.js'
import {type Endpoint, raw, realEndpoint, shape} from './support/raw.js'

const skipReason = e2eSkipReason()
const FAST = ['--poll-interval', '200ms', '--timeout', '90s']

if (skipReason) {
  describe('e2e: real control plane', () => {
    it.skip(`skipped: ${skipReason}`, () => {})
  })
} else {
  describe('e2e: real control plane (manifest install, 3 kwok nodes)', () => {
    let c: E2ECluster
    beforeAll(async () => {
      c = await startE2ECluster()
    }, 300_000)
    afterAll(async () => {
      await c?.down()
    }, 60_000)

    const felix = () => c.kubectlJson(['get', 'felixconfigurations.crd.projectcalico.org', 'default'])
    const kubeProxy = () => c.kubectlJson(['get', 'daemonset', 'kube-proxy', '-n', 'kube-system'])
    const podsOf = async (app: string) =>
      (await c.kubectlJson(['get', 'pods', '-n', 'kube-system', '-l', `k8s-app=${app}`])).items as any[]

    it('the cluster is real: kwok nodes Ready, calico-node and kube-proxy scheduled and Ready', async () => {
      const nodes = (await c.kubectlJson(['get', 'nodes'])).items as any[]
      expect(nodes.map((n) => n.metadata.name).sort()).toEqual(['kwok-node-1', 'kwok-node-2', 'kwok-node-3'])
      for (const n of nodes) {
        expect(n.status.conditions.find((x: any) => x.type === 'Ready')?.status).toBe('True')
        expect(n.status.nodeInfo.kernelVersion).toBe('6.8.0-45-generic')
      }
      const ds = await c.kubectlJson(['get', 'daemonset', 'calico-node', '-n', 'kube-system'])
      expect(ds.status.numberReady).toBe(3)
      expect((await podsOf('kube-proxy')).length).toBe(3)
    }, 120_000)

    it('check -o json: manifest install of v3.32.1, kernels from kwok node status, no writes', async () => {
      const before = (await felix()).metadata.resourceVersion
      const r = await ebpfctl(['check', '-o', 'json'], c.kubeconfig)
      expect([0, 1], r.stderr).toContain(r.code)
      const report = JSON.parse(r.stdout)
      expect(report.target.mode).toBe('cluster')
      expect(report.calico.installType).toBe('manifest')
      expect(report.calico.namespace).toBe('kube-system')
      expect(report.calico.api).toBe('crd.projectcalico.org/v1')
      // calico-node's default FelixConfiguration has no bpfEnabled: Felix's default, off (not null, "unknown").
      expect(report.calico).toMatchObject({bpfEnabled: false, bpfEnabledSource: 'default'})
      const kernel = report.checks.find((x: any) => x.id === 'kernel')
      expect(kernel.status).toBe('pass')
      expect(kernel.counts.passed).toBe(3)
      expect(report.checks.find((x: any) => x.id === 'calico-health').status).toBe('pass')
      expect(report.checks.find((x: any) => x.id === 'api-endpoint').status, r.stdout).not.toBe('fail')
      expect((await felix()).metadata.resourceVersion).toBe(before)
    }, 120_000)

    it('enable --dry-run=server: the real apiserver judges every planned write (dryRun=All) and persists none', async () => {
      const rv = async () => [
        (await felix()).metadata.resourceVersion,
        (await kubeProxy()).metadata.resourceVersion,
        (await c.kubectlJson(['get', 'daemonset', 'calico-node', '-n', 'kube-system'])).metadata.resourceVersion,
      ]
      const before = await rv()
      const r = await ebpfctl(['enable', '--dry-run=server', '--dsr', '-o', 'json', ...FAST], c.kubeconfig)
      expect(r.code, r.stderr + r.stdout).toBe(0)
      const results = JSON.parse(r.stdout).steps.flatMap((s: any) => s.serverDryRun ?? [])
      expect(results.length).toBeGreaterThanOrEqual(4)
      expect(results.filter((x: any) => x.outcome !== 'would-apply')).toEqual([])
      // The real apiserver's answers carry the planned values (FelixConfiguration defaulting included).
      expect(results.flatMap((x: any) => x.fields ?? []).filter((f: any) => !f.asPlanned)).toEqual([])
      expect(await rv()).toEqual(before)
      const cm = await c.kubectl(['get', 'configmap', 'kubernetes-services-endpoint', '-n', 'kube-system'], {reject: false})
      expect(cm.code).not.toBe(0)
    }, 120_000)

    it('enable --dry-run=server: a write the real admission chain refuses (a ValidatingAdmissionPolicy) is reported with its reason; exit 1, nothing persisted', async () => {
      // CEL admission in the apiserver itself (GA since 1.30): no webhook server needed, the refusal is the real chain's.
      const policy = {
        apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy',
        metadata: {name: 'ebpfctl-test-no-dsr'},
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {resourceRules: [{apiGroups: ['crd.projectcalico.org'], apiVersions: ['*'],
            operations: ['UPDATE'], resources: ['felixconfigurations']}]},
          validations: [{expression: "!has(object.spec.bpfExternalServiceMode) || object.spec.bpfExternalServiceMode != 'DSR'",
            message: 'DSR is not allowed on this cluster'}],
        },
      }
      const binding = {
        apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding',
        metadata: {name: 'ebpfctl-test-no-dsr'},
        spec: {policyName: 'ebpfctl-test-no-dsr', validationActions: ['Deny']},
      }
      const probe = () => c.kubectl(['patch', 'felixconfigurations.crd.projectcalico.org', 'default', '--type=merge',
        '--dry-run=server', '-p', '{"spec":{"bpfExternalServiceMode":"DSR"}}'], {reject: false})
      const waitFor = async (refused: boolean) => {
        for (let i = 0; i < 100 && ((await probe()).code !== 0) !== refused; i++) await new Promise((r) => setTimeout(r, 200))
        expect((await probe()).code !== 0).toBe(refused)
      }
      const before = (await felix()).metadata.resourceVersion
      await c.kubectl(['apply', '-f', '-'], {input: JSON.stringify({apiVersion: 'v1', kind: 'List', items: [policy, binding]})})
      try {
        await waitFor(true) // the policy is loaded by an informer: wait until the apiserver enforces it
        const r = await ebpfctl(['enable', '--dry-run=server', '--dsr', ...FAST], c.kubeconfig)
        expect(r.code, r.stderr + r.stdout).toBe(1)
        expect(r.stdout).toMatch(/REFUSED {2}felixconfigurations\.crd\.projectcalico\.org default \(patch\): .*DSR is not allowed on this cluster/)
        expect(r.stdout).toContain('Dry run: nothing was changed.')
        expect((await felix()).metadata.resourceVersion).toBe(before)
      } finally {
        await c.kubectl(['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', 'ebpfctl-test-no-dsr'], {reject: false})
        await waitFor(false)
      }
    }, 120_000)

    it('the real apiserver validates against the v3.32.1 CRDs: a bad enum value is a 422', async () => {
      const r = await c.kubectl(
        ['patch', 'felixconfigurations.crd.projectcalico.org', 'default', '--type=merge', '-p',
          '{"spec":{"bpfExternalServiceMode":"Bogus"}}'],
        {reject: false},
      )
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(/spec.bpfExternalServiceMode: Invalid value: "Bogus"/)
    }, 120_000)

    describe('conformance: the in-repo fake vs the real apiserver on the requests ebpfctl makes', () => {
      let fake: FakeApiServer
      let fakeEp: Endpoint
      let realEp: Endpoint
      let tmp: string
      beforeAll(async () => {
        fake = await startFakeApiServer()
        seedKubeadmBase(fake.store, {nodes: 3})
        seedManifestInstall(fake.store)
        tmp = mkdtempSync(join(tmpdir(), 'ebpfctl-conformance-'))
        fakeEp = {url: fake.url, ca: fake.caPem, token: fake.token}
        realEp = realEndpoint(c.dir)
      })
      afterAll(async () => {
        await fake?.close()
        if (tmp) rmSync(tmp, {recursive: true, force: true})
      })

      it('check: every read it sent to the fake answers with the same status and kind on the real apiserver', async () => {
        fake.resetLog()
        const r = await ebpfctl(['check', '-o', 'json'], fake.writeKubeconfig(tmp))
        expect([0, 1], r.stderr).toContain(r.code)
        // ebpfctl's own request sequence, recorded by the fake.
        const recorded = fake.log.filter((x) => x.method === 'GET')
        expect(recorded.length).toBeGreaterThan(5)
        const diffs: string[] = []
        for (const req of recorded) {
          const q = req.query.toString()
          const path = q ? `${req.path}?${q}` : req.path
          const [a, b] = await Promise.all([raw(fakeEp, 'GET', path), raw(realEp, 'GET', path)])
          const [sa, sb] = [shape(a), shape(b)]
          if (JSON.stringify(sa) !== JSON.stringify(sb))
            diffs.push(`GET ${path}: fake ${JSON.stringify(sa)} real ${JSON.stringify(sb)}`)
        }
        expect(diffs).toEqual([])
      }, 120_000)

      it('writes ebpfctl makes on FelixConfiguration and ConfigMaps: same status, reason and resulting fields', async () => {
        const fc = '/apis/crd.projectcalico.org/v1/felixconfigurations/default'
        const merge = 'application/merge-patch+json'
        const cm = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'e2e-conformance', namespace: 'kube-system'},
          data: {KUBERNETES_SERVICE_HOST: '192.0.2.10', KUBERNETES_SERVICE_PORT: '6443'}}
        const steps: [string, string, string?, string?][] = [
          ['PATCH', fc, '{"spec":{"bpfExternalServiceMode":"DSR","bpfKubeProxyHealthzPort":0}}', merge],
          ['PATCH', fc, '{"spec":{"bpfExternalServiceMode":"Bogus"}}', merge], // CRD enum: 422 Invalid
          ['PATCH', fc, '{"spec":{"bpfExternalServiceMode":null,"bpfKubeProxyHealthzPort":null}}', merge],
          ['PATCH', '/apis/crd.projectcalico.org/v1/felixconfigurations/node.nope', '{"spec":{"bpfEnabled":true}}', merge],
          ['POST', '/api/v1/namespaces/kube-system/configmaps', JSON.stringify(cm)],
          ['POST', '/api/v1/namespaces/kube-system/configmaps', JSON.stringify(cm)], // 409 AlreadyExists
          ['PATCH', '/api/v1/namespaces/kube-system/configmaps/e2e-conformance', '{"data":{"KUBERNETES_SERVICE_PORT":null}}', merge],
          ['DELETE', '/api/v1/namespaces/kube-system/configmaps/e2e-conformance'],
          ['DELETE', '/api/v1/namespaces/kube-system/configmaps/e2e-conformance'], // 404 NotFound
        ]
        const diffs: string[] = []
        for (const [method, path, body, type] of steps) {
          const [a, b] = [await raw(fakeEp, method, path, body, type), await raw(realEp, method, path, body, type)]
          const [sa, sb] = [shape(a), shape(b)]
          // Only the fields the patch names: the two servers' objects were seeded differently.
          const touched = body && method === 'PATCH' ? JSON.parse(body) : {}
          const section = touched.spec ? 'spec' : 'data'
          const fields = (x: any) =>
            JSON.stringify(Object.keys(touched[section] ?? {}).map((k) => x.body?.[section]?.[k] ?? '<absent>'))
          if (JSON.stringify(sa) !== JSON.stringify(sb) || (method === 'PATCH' && a.status === 200 && fields(a) !== fields(b)))
            diffs.push(`${method} ${path} ${body ?? ''}: fake ${JSON.stringify(sa)} ${fields(a)} real ${JSON.stringify(sb)} ${fields(b)}`)
        }
        expect(diffs).toEqual([])
      }, 60_000)
    })

    it('enable --dsr: FelixConfiguration, kube-proxy selector and pods, endpoint ConfigMap, record — as the real apiserver and controllers leave them', async () => {
      const kpBefore = await kubeProxy()
      expect(kpBefore.spec.template.spec.nodeSelector).toEqual({'kubernetes.io/os': 'linux'})
      const r = await ebpfctl(['enable', '--dsr', ...FAST], c.kubeconfig)
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)

      const fc = await felix()
      expect(fc.spec.bpfEnabled).toBe(true)
      expect(fc.spec.bpfExternalServiceMode).toBe('DSR')
      const kp = await kubeProxy()
      // The real DaemonSet controller took kube-proxy off every node; kwok removed the pods.
      expect(kp.spec.template.spec.nodeSelector).toEqual({'kubernetes.io/os': 'linux', 'non-calico': 'true'})
      expect(kp.status.desiredNumberScheduled).toBe(0)
      expect(await podsOf('kube-proxy')).toEqual([])
      const cm = await c.kubectlJson(['get', 'configmap', 'kubernetes-services-endpoint', '-n', 'kube-system'])
      // Derived from kube-proxy's kubeconfig (a documentation address; nothing connects to it).
      expect(cm.data).toEqual({KUBERNETES_SERVICE_HOST: '192.0.2.10', KUBERNETES_SERVICE_PORT: '6443'})
      const cn = await c.kubectlJson(['get', 'daemonset', 'calico-node', '-n', 'kube-system'])
      expect(cn.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeTruthy()
      expect(cn.status.updatedNumberScheduled).toBe(3)
      await c.kubectl(['get', 'configmap', 'ebpfctl-state', '-n', 'kube-system'])

      const again = await ebpfctl(['enable', '--dsr', ...FAST], c.kubeconfig)
      expect(again.code, again.stderr).toBe(0)
      expect((await felix()).metadata.resourceVersion).toBe(fc.metadata.resourceVersion)
    }, 240_000)

    it('status -o json after enable: BPF configured and active on all 3 nodes (Felix logs read through the apiserver from kwok)', async () => {
      const r = await ebpfctl(['status', '-o', 'json'], c.kubeconfig)
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
      expect(r.stdout).toContain('bpf')
      const s = JSON.parse(r.stdout)
      expect(JSON.stringify(s)).toMatch(/"kube-?[pP]roxy"/)
    }, 120_000)

    it('revert: kube-proxy back (pods Ready again), BPF off, DSR gone, ConfigMap and record deleted', async () => {
      const r = await ebpfctl(['revert', ...FAST], c.kubeconfig)
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
      const kp = await kubeProxy()
      expect(kp.spec.template.spec.nodeSelector).toEqual({'kubernetes.io/os': 'linux'})
      const pods = await podsOf('kube-proxy')
      expect(pods.length).toBe(3)
      const fc = await felix()
      expect(fc.spec.bpfEnabled ?? false).toBe(false)
      expect(fc.spec.bpfExternalServiceMode).toBeUndefined()
      for (const name of ['kubernetes-services-endpoint', 'ebpfctl-state']) {
        const g = await c.kubectl(['get', 'configmap', name, '-n', 'kube-system'], {reject: false})
        expect(g.stderr).toMatch(/NotFound/)
      }
      const st = await ebpfctl(['status'], c.kubeconfig)
      expect(st.code, `${st.stdout}\n${st.stderr}`).toBe(0)
    }, 240_000)

    it('RBAC: a user who may only read nodes gets a real 403 → one clear line, exit 2, nothing written', async () => {
      const r = await ebpfctl(['check'], c.restrictedKubeconfig)
      expect(r.code, r.stdout).toBe(2)
      expect(r.stderr).toMatch(/forbidden/i)
      expect(r.stderr).toMatch(/e2e-restricted|cannot (list|get)/)
      expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
      const e = await ebpfctl(['enable', ...FAST], c.restrictedKubeconfig)
      expect(e.code).toBe(2)
      expect(e.stderr).toMatch(/forbidden/i)
    }, 120_000)
  })
}
