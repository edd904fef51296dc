import {describe, expect, it} from 'vitest'

import {UserError} from '../../../src/lib/errors.js'
import {Resources} from '../../../src/lib/kube/resources.js'
import {enableSession, revertSession, runError} from '../../../src/lib/plan/index.js'
import type {EnableOptions} from '../../../src/lib/plan/index.js'
import {KubeStub, apiError, manifestCluster, manifestSnapshot} from '../../support/kube-stub.js'

const timing = {pollMs: 1, timeoutMs: 400, retryDelayMs: 1, retries: 4}
const opts = (o: Partial<EnableOptions> = {}): EnableOptions => ({
  kubeProxy: 'disable',
  kubeconfigServer: 'https://10.0.0.10:6443',
  ...o,
})
const run = (kube: KubeStub, o: Partial<EnableOptions> = {}, extra: {signal?: AbortSignal; dryRun?: boolean} = {}) =>
  enableSession({kube, options: opts(o), timing, preflight: async () => [], ...extra})

const kubeProxySelector = (kube: KubeStub) =>
  (kube.peek(Resources.daemonSets, 'kube-proxy', 'kube-system') as any).spec.template.spec.nodeSelector
const bpfOn = (kube: KubeStub) => (kube.peek(Resources.felixConfigurations, 'default') as any).spec.bpfEnabled === true
const kubeProxyOff = (kube: KubeStub) => kubeProxySelector(kube)['non-calico'] === 'true'

describe('enable on a manifest install (in-memory stub)', () => {
  it('runs every step in order and records the prior values', async () => {
    const kube = manifestCluster({kubeProxySelector: {'kubernetes.io/os': 'linux', pool: 'workers'}})
    const report = await run(kube, {dsr: true})
    expect(report.result?.outcome).toBe('done')
    expect(report.result?.steps.map((s) => `${s.id}:${s.status}`)).toEqual([
      'api-address:applied',
      'calico-node-pickup:applied',
      'bpf-on:applied',
      'verify-bpf:applied',
      'kube-proxy:applied',
      'dsr:applied',
    ])
    expect(kube.peek(Resources.configMaps, 'kubernetes-services-endpoint', 'kube-system')?.data).toEqual({
      KUBERNETES_SERVICE_HOST: '10.0.0.10',
      KUBERNETES_SERVICE_PORT: '6443',
    })
    expect(kubeProxySelector(kube)).toEqual({'kubernetes.io/os': 'linux', pool: 'workers', 'non-calico': 'true'})
    const fc = kube.peek(Resources.felixConfigurations, 'default') as any
    expect(fc.spec).toMatchObject({bpfEnabled: true, bpfExternalServiceMode: 'DSR', logSeverityScreen: 'Info'})
    const rec = JSON.parse((kube.peek(Resources.configMaps, 'ebpfctl-state', 'kube-system') as any).data['record.json'])
    expect(rec.status).toBe('complete')
    expect(rec.entries.map((e: any) => `${e.stepId}:${e.state}`)).toEqual([
      'api-address:applied',
      'calico-node-pickup:applied',
      'bpf-on:applied',
      'kube-proxy:applied',
      'dsr:applied',
    ])
    // Writes: the 5 steps' patches (+1 typha-less restart) and the record before/after each.
    const writes = kube.writeRequests().map((w) => `${w.verb} ${w.plural}/${w.name}`)
    expect(writes.filter((w) => !w.includes('ebpfctl-state') && !w.includes('ebpfctl-lock'))).toEqual([
      'create configmaps/kubernetes-services-endpoint',
      'patch daemonsets/calico-node',
      'patch felixconfigurations/default',
      'patch daemonsets/kube-proxy',
      'patch felixconfigurations/default',
    ])
    // kube-proxy is touched only after Felix logs were read.
    const reqs = kube.requests.map((r) => `${r.verb} ${r.name ?? r.plural}`)
    expect(reqs.findIndex((r) => r === 'patch kube-proxy')).toBeGreaterThan(
      reqs.findLastIndex((r) => r.startsWith('logs ')),
    )
  })

  it('makes no writes when run twice', async () => {
    const kube = manifestCluster()
    await run(kube, {dsr: true})
    kube.requests.length = 0
    const second = await run(kube, {dsr: true})
    expect(second.result?.outcome).toBe('nothing-to-do')
    expect(kube.writeRequests().filter((w) => w.name !== 'ebpfctl-lock')).toEqual([]) // the lock only
  })

  it('--dry-run renders the plan with diffs and writes nothing', async () => {
    const kube = manifestCluster({dsr: 'Tunnel'})
    const report = await run(kube, {dsr: true}, {dryRun: true})
    expect(kube.writeRequests()).toEqual([])
    expect(report.result).toBeUndefined()
    expect(report.rendered).toContain(
      '1. API-server address 10.0.0.10:6443 in ConfigMap kube-system/kubernetes-services-endpoint',
    )
    expect(report.rendered).toContain('+ data.KUBERNETES_SERVICE_HOST: "10.0.0.10"')
    expect(report.rendered).toContain('- spec.bpfExternalServiceMode: "Tunnel"')
    expect(report.rendered).toContain('+ spec.bpfExternalServiceMode: "DSR"')
    expect(report.rendered).toContain('body: {"spec":{"template":{"spec":{"nodeSelector":{"non-calico":"true"}}}}}')
    expect(report.rendered).toContain('body: {"spec":{"bpfEnabled":true}}')
  })

  it('enable then revert restores every touched field (user nodeSelector, prior bpfExternalServiceMode)', async () => {
    const kube = manifestCluster({kubeProxySelector: {'kubernetes.io/os': 'linux', pool: 'workers'}, dsr: 'Tunnel'})
    const before = manifestSnapshot(kube)
    expect((await run(kube, {dsr: true})).result?.outcome).toBe('done')
    const r = await revertSession({kube, timing})
    expect(r.hadRecord).toBe(true)
    expect(r.result?.outcome).toBe('done')
    expect(manifestSnapshot(kube)).toEqual(before)
    // Revert order: kube-proxy back before BPF off.
    const writes = kube.writeRequests().map((w) => `${w.verb} ${w.name}`)
    const kp = writes.indexOf('patch kube-proxy')
    expect(kp).toBeGreaterThanOrEqual(0)
    expect(writes.slice(kp).some((w) => w === 'patch default')).toBe(true)
    kube.requests.length = 0
    const again = await revertSession({kube, timing})
    expect(again.hadRecord).toBe(false)
    expect(kube.writeRequests().filter((w) => w.name !== 'ebpfctl-lock')).toEqual([]) // the lock only
  })

  it('a node that falls back to iptables stops enable before kube-proxy is touched, and rolls back', async () => {
    const kube = manifestCluster({nodes: [{name: 'n1'}, {name: 'old-kernel', bpfSupported: false}]})
    const before = manifestSnapshot(kube)
    const report = await run(kube)
    expect(report.result?.outcome).toBe('rolled-back')
    expect(report.result?.failedStep).toBe('verify-bpf')
    expect(report.result?.error).toMatch(/fell back to the iptables dataplane.*old-kernel/)
    expect(kube.writeRequests().some((w) => w.name === 'kube-proxy')).toBe(false)
    expect(manifestSnapshot(kube)).toEqual(before)
    const err = runError(report.result!, 'kube-system')
    expect(err?.exitCode).toBe(1)
    expect(err?.message).toMatch(/cluster was restored/)
  })

  it('retries a 409 conflict after re-reading', async () => {
    const kube = manifestCluster()
    let hit = false
    kube.fault = (req) => {
      if (!hit && req.verb === 'patch' && req.name === 'kube-proxy') {
        hit = true
        return apiError(409, 'patch', 'Conflict')
      }
    }
    const report = await run(kube)
    expect(report.result?.outcome).toBe('done')
    expect(kube.writeRequests().filter((w) => w.name === 'kube-proxy')).toHaveLength(2)
  })

  it('a 403 names verb and resource and rolls back', async () => {
    const kube = manifestCluster()
    const before = manifestSnapshot(kube)
    kube.fault = (req) => {
      if (req.verb === 'patch' && req.name === 'kube-proxy') {
        return new (apiError(403, 'patch').constructor as any)({
          code: 403,
          verb: 'patch',
          message:
            'forbidden: the kubeconfig user cannot patch daemonsets.apps "kube-proxy" in namespace "kube-system"',
        })
      }
    }
    const report = await run(kube)
    expect(report.result?.outcome).toBe('rolled-back')
    expect(report.result?.error).toMatch(/cannot patch daemonsets\.apps "kube-proxy"/)
    expect(manifestSnapshot(kube)).toEqual(before)
  })

  it('undo retries transient errors', async () => {
    const kube = manifestCluster({nodes: [{name: 'n1', bpfSupported: false}]})
    const before = manifestSnapshot(kube)
    let failing = 0
    kube.fault = (req) => {
      // Every first attempt of an undo write of FelixConfiguration fails with 503, twice.
      if (
        req.verb === 'patch' &&
        req.name === 'default' &&
        (req.body as any)?.spec?.bpfEnabled === null &&
        failing < 2
      ) {
        failing++
        return apiError(503, 'patch')
      }
    }
    const report = await run(kube)
    expect(failing).toBe(2)
    expect(report.result?.outcome).toBe('rolled-back')
    expect(manifestSnapshot(kube)).toEqual(before)
  })

  it('uses FELIX_BPFENABLED when the DaemonSet sets it', async () => {
    const kube = manifestCluster({felixEnv: 'false'})
    // Felix follows the env var here.
    kube.podLogHandler = (pod) => {
      const ds = kube.peek(Resources.daemonSets, 'calico-node', 'kube-system') as any
      const env = ds.spec.template.spec.containers[0].env.find((e: any) => e.name === 'FELIX_BPFENABLED')
      return env.value === 'true'
        ? 'BPF enabled, starting BPF endpoint manager and map manager.'
        : `${pod.metadata.name} iptables`
    }
    const before = manifestSnapshot(kube)
    const report = await run(kube)
    expect(report.result?.outcome).toBe('done')
    const ds = kube.peek(Resources.daemonSets, 'calico-node', 'kube-system') as any
    expect(ds.spec.template.spec.containers[0].env).toContainEqual({name: 'FELIX_BPFENABLED', value: 'true'})
    expect((kube.peek(Resources.felixConfigurations, 'default') as any).spec.bpfEnabled).toBeUndefined()
    await revertSession({kube, timing})
    expect(manifestSnapshot(kube)).toEqual(before)
  })

  it('Ctrl-C during a wait rolls back', async () => {
    const kube = manifestCluster()
    const before = manifestSnapshot(kube)
    const ac = new AbortController()
    kube.podLogHandler = () => {
      ac.abort()
      return 'still starting'
    }
    const report = await run(kube, {}, {signal: ac.signal})
    expect(report.result?.outcome).toBe('rolled-back')
    expect(report.result?.error).toMatch(/interrupted/)
    expect(manifestSnapshot(kube)).toEqual(before)
  })

  it('refuses an unknown install (exit 2) and an unusable --api-server', async () => {
    const kube = new KubeStub()
    await expect(run(kube)).rejects.toSatisfy(
      (e: unknown) => e instanceof UserError && e.exitCode === 2 && /no Calico installation/.test(e.message),
    )
    const m = manifestCluster()
    await expect(run(m, {apiServer: '10.96.0.1:443'})).rejects.toThrow(/ClusterIP/)
    await expect(run(m, {bootstrap: true})).rejects.toThrow(/--bootstrap needs an operator install/)
  })

  it('refuses with a remedy when no usable API-server address can be derived', async () => {
    const kube = manifestCluster()
    kube.objects.delete('discovery.k8s.io/endpointslices/default/kubernetes')
    await expect(run(kube, {kubeconfigServer: 'https://127.0.0.1:6443'})).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof UserError && /no usable API-server address/.test(e.message) && /--api-server/.test(e.remedy!),
    )
    expect(kube.writeRequests()).toEqual([])
  })

  it('refuses on preflight failures unless --force', async () => {
    const kube = manifestCluster()
    const failing = async () => [{checkId: 'kernel', status: 'fail', node: 'n1', summary: 'kernel 4.19 is below 5.3'}]
    await expect(enableSession({kube, options: opts(), timing, preflight: failing})).rejects.toThrow(
      /preflight failed.*\n.*kernel \(n1\)/,
    )
    expect(kube.writeRequests()).toEqual([])
    const forced = await enableSession({kube, options: opts(), timing, preflight: failing, force: true})
    expect(forced.result?.outcome).toBe('done')
  })

  it('does not let a preflight failure that the plan resolves block it', async () => {
    const kube = manifestCluster()
    const resolvable = async () => [
      {checkId: 'api-endpoint', status: 'fail', summary: 'no usable API-server address found', data: {reason: 'no-address'}},
      {checkId: 'kube-proxy', status: 'fail', summary: 'kube-proxy will keep running, but …', data: {reason: 'coexistence'}},
    ]
    // Without --api-server the missing address still blocks (and nothing is written).
    await expect(enableSession({kube, options: opts(), timing, preflight: resolvable})).rejects.toThrow(/api-endpoint/)
    expect(kube.writeRequests()).toEqual([])
    const done = await enableSession({kube, options: opts({apiServer: '10.0.0.100:6443'}), timing, preflight: resolvable})
    expect(done.preflightFailures).toEqual([])
    expect(done.result?.outcome).toBe('done')
  })
})

describe('more enable variants (stub)', () => {
  it('--kube-proxy keep: Felix told not to fight an untouched kube-proxy; revert removes the fields', async () => {
    const kube = manifestCluster()
    const before = manifestSnapshot(kube)
    const report = await run(kube, {kubeProxy: 'keep'})
    expect(report.result?.outcome).toBe('done')
    expect((kube.peek(Resources.felixConfigurations, 'default') as any).spec).toMatchObject({
      bpfKubeProxyIptablesCleanupEnabled: false,
      bpfKubeProxyHealthzPort: 0,
    })
    expect(kube.writeRequests().some((w) => w.name === 'kube-proxy')).toBe(false)
    await revertSession({kube, timing})
    expect(manifestSnapshot(kube)).toEqual(before)
  })

  it('verify still runs when only BPF-on is left to do (a fallback is caught and rolled back)', async () => {
    const kube = manifestCluster({nodes: [{name: 'n1'}, {name: 'old', bpfSupported: false}]})
    const fcObj = kube.peek(Resources.felixConfigurations, 'default') as any
    fcObj.spec = {...fcObj.spec, bpfKubeProxyIptablesCleanupEnabled: false, bpfKubeProxyHealthzPort: 0}
    kube.seed(Resources.felixConfigurations, fcObj)
    const before = manifestSnapshot(kube)
    const report = await run(kube, {kubeProxy: 'keep'})
    expect(report.result?.outcome).toBe('rolled-back')
    expect(report.result?.failedStep).toBe('verify-bpf')
    expect(manifestSnapshot(kube)).toEqual(before)
  })

  it('restarts calico-typha too when it is there, and waits for its rollout', async () => {
    const kube = manifestCluster()
    kube.seed(Resources.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {name: 'calico-typha', namespace: 'kube-system', labels: {'k8s-app': 'calico-typha'}},
      spec: {
        replicas: 2,
        template: {metadata: {labels: {'k8s-app': 'calico-typha'}}, spec: {containers: [{name: 'calico-typha'}]}},
      },
    } as any)
    kube.reactors.push((s) => {
      const d = s.objects.get('apps/deployments/kube-system/calico-typha') as any
      if (d) d.status = {observedGeneration: d.metadata.generation, updatedReplicas: 2, readyReplicas: 2}
    })
    const report = await run(kube)
    expect(report.result?.outcome).toBe('done')
    const typha = kube.peek(Resources.deployments, 'calico-typha', 'kube-system') as any
    expect(typha.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toMatch(/^20/)
    await revertSession({kube, timing})
    expect(
      (kube.peek(Resources.deployments, 'calico-typha', 'kube-system') as any).spec.template.metadata.annotations,
    ).toBeUndefined()
  })

  it('a second enable with --dsr adds to the record; revert undoes both runs', async () => {
    const kube = manifestCluster({dsr: 'Tunnel'})
    const before = manifestSnapshot(kube)
    await run(kube)
    kube.requests.length = 0
    const second = await run(kube, {dsr: true})
    expect(second.result?.steps.filter((s) => s.status === 'applied').map((s) => s.id)).toEqual(['verify-bpf', 'dsr'])
    const rec = JSON.parse((kube.peek(Resources.configMaps, 'ebpfctl-state', 'kube-system') as any).data['record.json'])
    expect(new Set(rec.entries.map((e: any) => e.run)).size).toBe(2)
    await revertSession({kube, timing})
    expect(manifestSnapshot(kube)).toEqual(before)
  })

  it('a failed second run rolls back only its own changes and keeps the first run in the record', async () => {
    const kube = manifestCluster()
    await run(kube)
    const enabled = manifestSnapshot(kube)
    kube.fault = (req) =>
      req.verb === 'patch' && (req.body as any)?.spec?.bpfExternalServiceMode === 'DSR'
        ? apiError(500, 'patch')
        : undefined
    const second = await run(kube, {dsr: true})
    expect(second.result?.outcome).toBe('rolled-back')
    kube.fault = undefined
    expect(manifestSnapshot(kube)).toEqual(enabled)
    const rec = JSON.parse((kube.peek(Resources.configMaps, 'ebpfctl-state', 'kube-system') as any).data['record.json'])
    expect(rec.entries.every((e: any) => e.stepId !== 'dsr')).toBe(true)
  })
})

describe('fault injection on the stub: fail the k-th write', () => {
  for (const code of [500, 0]) {
    it(`every write, code ${code}: fully enabled or fully restored, never kube-proxy off with BPF off`, async () => {
      const clean = manifestCluster({kubeProxySelector: {'kubernetes.io/os': 'linux', pool: 'a'}, dsr: 'Tunnel'})
      await run(clean, {dsr: true})
      const enabled = manifestSnapshot(clean)
      const K = clean.writeRequests().length
      expect(K).toBeGreaterThan(5)
      for (let k = 1; k <= K; k++) {
        const kube = manifestCluster({kubeProxySelector: {'kubernetes.io/os': 'linux', pool: 'a'}, dsr: 'Tunnel'})
        const before = manifestSnapshot(kube)
        let violated = false
        kube.reactors.push((s) => {
          if (kubeProxyOff(s) && !bpfOn(s)) violated = true
        })
        kube.fault = (req, i) => (i.writes === k ? apiError(code, req.verb) : undefined)
        const report = await run(kube, {dsr: true})
        const after = manifestSnapshot(kube) as any
        if (report.result?.outcome === 'done') {
          expect({...after, calicoNodeTemplate: null}).toEqual({...(enabled as any), calicoNodeTemplate: null})
        } else {
          expect(report.result?.outcome, `k=${k}`).toBe('rolled-back')
          expect(after, `k=${k}`).toEqual(before)
        }
        expect(violated, `k=${k}`).toBe(false)
      }
    })
  }
})
