import {describe, expect, it} from 'vitest'

import {runChecks} from '../../../src/lib/checks/index.js'
import type {Finding} from '../../../src/lib/checks/types.js'
import {baseState, ctxOf, ds, felix, kubeProxyConfigMap, node, operatorState, pool} from './state.js'

const run = async (state: ReturnType<typeof baseState>, id: string) =>
  (await runChecks(ctxOf(state), {only: [id]})).findings
const statuses = (fs: Finding[]) => fs.map((f) => f.status)
const find = (fs: Finding[], text: string) => fs.find((f) => f.summary.includes(text))

describe('kernel / arch over status.nodeInfo (API only)', () => {
  it('gives one inferred verdict per Linux node and skips Windows nodes', async () => {
    const fs = await run(baseState({nodes: [node('a'), node('b', {kernel: '4.15.0-213-generic', osImage: 'Ubuntu 18.04.6 LTS'}), node('w', {os: 'windows'})]}), 'kernel')
    expect(fs.map((f) => [f.node, f.status])).toEqual([['a', 'pass'], ['b', 'fail']])
    expect(fs[1]!.summary).toContain('kernel 4.15.0-213-generic (Ubuntu 18.04.6 LTS)')
    expect(fs[1]!.data?.inferred).toBe(true)
    expect(fs[1]!.remedy).toContain('--nodes')
  })
  it('uses the OS image for RHEL-family nodes without _N', async () => {
    const fs = await run(baseState({nodes: [node('r', {kernel: '4.18.0-305.3.1.el8.x86_64', osImage: 'Rocky Linux 8'})]}), 'kernel')
    expect(fs[0]!.status).toBe('pass')
    expect(fs[0]!.data?.distro).toBe('rhel')
  })
  it('flags big-endian architectures', async () => {
    const fs = await run(baseState({nodes: [node('a', {arch: 'arm64'}), node('z', {arch: 's390x'})]}), 'arch')
    expect(statuses(fs)).toEqual(['pass', 'fail'])
  })
  it('skips node-only checks in cluster mode without node access', async () => {
    const fs = await run(baseState(), 'bpffs')
    expect(fs).toHaveLength(1)
    expect(fs[0]!.status).toBe('skip')
    expect(fs[0]!.remedy).toContain('--nodes')
  })
})

describe('windows / hybrid', () => {
  it('fails on Windows nodes', async () => {
    const fs = await run(baseState({nodes: [node('a'), node('win-1', {os: 'windows'})]}), 'windows')
    expect(fs[0]!.status).toBe('fail')
    expect(fs[0]!.summary).toContain('win-1')
  })
  it('passes when all Linux nodes would run BPF', async () => {
    expect(statuses(await run(baseState(), 'hybrid'))).toEqual(['pass'])
  })
  it('fails when some nodes would fall back to iptables', async () => {
    const state = baseState({nodes: [node('new-1'), node('new-2'), node('old-1', {kernel: '4.14.336-257.562.amzn2.x86_64', osImage: 'Amazon Linux 2'})]})
    const fs = await run(state, 'hybrid')
    expect(fs[0]!.status).toBe('fail')
    expect(fs[0]!.summary).toContain('2 nodes would run BPF and 1 would fall back to iptables: old-1')
  })
  it('counts node.<name> bpfEnabled: false overrides as falling back', async () => {
    const state = baseState({felixConfigurations: [felix('default'), felix('node.node-2', {bpfEnabled: false})]})
    const fs = await run(state, 'hybrid')
    expect(fs[0]!.status).toBe('fail')
    expect(fs[0]!.summary).toContain('node-2')
  })
})

describe('calico-install', () => {
  it('detects a manifest install and lists what enable touches', async () => {
    const fs = await run(baseState(), 'calico-install')
    expect(fs[0]!.status).toBe('pass')
    expect(fs[0]!.summary).toContain('manifest install (calico-node DaemonSet in kube-system), Calico v3.32.1')
    expect(fs[0]!.data?.felixConfigurationApi).toBe('crd.projectcalico.org/v1')
    expect((fs[0]!.data?.enableWouldTouch as string[]).join('\n')).toContain('FelixConfiguration default')
  })
  it('detects an operator install', async () => {
    const fs = await run(operatorState(), 'calico-install')
    expect(fs[0]!.summary).toContain('operator install')
    expect((fs[0]!.data?.enableWouldTouch as string[])[0]).toContain('Installation default')
    expect(fs[0]!.data?.operatorVersion).toBe('v1.42.3')
  })
  it('reports native projectcalico.org/v3', async () => {
    const fs = await run(baseState({calicoApi: {group: 'projectcalico.org', version: 'v3'}}), 'calico-install')
    expect(fs[0]!.data?.felixConfigurationApi).toBe('projectcalico.org/v3')
  })
  it('fails without Calico', async () => {
    const fs = await run(baseState({daemonSets: [ds('kube-proxy', 'kube-system')], clusterInformation: undefined, calicoApi: undefined}), 'calico-install')
    expect(fs[0]!.status).toBe('fail')
    expect(fs[0]!.summary).toContain('Calico is not installed')
  })
})

describe('calico-health', () => {
  it('passes, warns and fails on ready counts', async () => {
    expect(statuses(await run(baseState(), 'calico-health'))).toEqual(['pass'])
    expect(statuses(await run(baseState({daemonSets: [ds('calico-node', 'kube-system', {desired: 3, ready: 2})]}), 'calico-health'))).toEqual(['warn'])
    expect(statuses(await run(baseState({daemonSets: [ds('calico-node', 'kube-system', {desired: 3, ready: 0})]}), 'calico-health'))).toEqual(['fail'])
  })
})

describe('api-endpoint', () => {
  it('shows the address enable would use when nothing is configured', async () => {
    const fs = await run(baseState(), 'api-endpoint')
    expect(fs[0]!.status).toBe('pass')
    expect(fs[0]!.summary).toContain('enable would write 10.0.0.10:6443')
  })
  it('passes a valid ConfigMap', async () => {
    const cm = {metadata: {name: 'kubernetes-services-endpoint', namespace: 'kube-system'}, data: {KUBERNETES_SERVICE_HOST: '10.0.0.10', KUBERNETES_SERVICE_PORT: '6443'}}
    const fs = await run(baseState({servicesEndpointConfigMaps: [cm]}), 'api-endpoint')
    expect(fs.map((f) => f.status)).toEqual(['pass'])
    expect(fs[0]!.summary).toContain('10.0.0.10:6443')
  })
  it('fails a ClusterIP host and a non-numeric port', async () => {
    const mk = (host: string, port: string) => [{metadata: {name: 'kubernetes-services-endpoint', namespace: 'kube-system'}, data: {KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: port}}]
    expect(find(await run(baseState({servicesEndpointConfigMaps: mk('10.96.0.1', '443')}), 'api-endpoint'), 'ClusterIP')?.status).toBe('fail')
    expect(find(await run(baseState({servicesEndpointConfigMaps: mk('10.0.0.10', 'https')}), 'api-endpoint'), 'non-numeric')?.status).toBe('fail')
    expect(find(await run(baseState({servicesEndpointConfigMaps: mk('127.0.0.1', '6443')}), 'api-endpoint'), 'loopback')?.status).toBe('fail')
  })
  it('fails ConfigMap plus bpfNetworkBootstrap together', async () => {
    const cm = {metadata: {name: 'kubernetes-services-endpoint', namespace: 'tigera-operator'}, data: {KUBERNETES_SERVICE_HOST: '10.0.0.10', KUBERNETES_SERVICE_PORT: '6443'}}
    const fs = await run(operatorState({servicesEndpointConfigMaps: [cm]}, {linuxDataplane: 'BPF', bpfNetworkBootstrap: 'Enabled'}), 'api-endpoint')
    expect(find(fs, 'bpfNetworkBootstrap is Enabled and ConfigMap')?.status).toBe('fail')
  })
  it('passes bpfNetworkBootstrap alone', async () => {
    const fs = await run(operatorState({}, {linuxDataplane: 'BPF', bpfNetworkBootstrap: 'Enabled'}), 'api-endpoint')
    expect(statuses(fs)).toEqual(['pass'])
    expect(fs[0]!.summary).toContain('bpfNetworkBootstrap: Enabled')
  })
  it('warns about several API servers without a load balancer', async () => {
    const state = baseState({
      kubeProxyConfigMap: kubeProxyConfigMap('', 'https://10.0.0.11:6443'),
      kubernetesEndpointSlices: [{metadata: {name: 'kubernetes', namespace: 'default'}, endpoints: [{addresses: ['10.0.0.11']}, {addresses: ['10.0.0.12']}, {addresses: ['10.0.0.13']}], ports: [{name: 'https', port: 6443}]}],
      server: 'https://10.0.0.11:6443',
    })
    const fs = await runChecks({cluster: {state, install: ctxOf(state).cluster!.install, kubeconfigServer: 'https://10.0.0.11:6443'}}, {only: ['api-endpoint']})
    expect(find(fs.findings, '3 API servers')?.status).toBe('warn')
  })
})

describe('kube-proxy', () => {
  it('reports counts and mode', async () => {
    const fs = await run(baseState(), 'kube-proxy')
    expect(fs[0]!.summary).toBe('kube-system/kube-proxy: 3/3 ready, mode iptables (default)')
  })
  it('warns on ipvs with a remedy', async () => {
    const fs = await run(baseState({kubeProxyConfigMap: kubeProxyConfigMap('ipvs')}), 'kube-proxy')
    const ipvs = find(fs, 'IPVS')!
    expect(ipvs.status).toBe('warn')
    expect(ipvs.remedy).toContain('mode: iptables')
  })
  it('sees disabling nodeSelectors', async () => {
    for (const key of ['non-calico', 'operator.tigera.io/disable-kube-proxy']) {
      const state = baseState({daemonSets: [ds('calico-node', 'kube-system'), ds('kube-proxy', 'kube-system', {desired: 0, ready: 0, nodeSelector: {[key]: 'true'}})]})
      const fs = await run(state, 'kube-proxy')
      expect(fs[0]!.summary).toContain(`disabled by nodeSelector ${key}`)
    }
  })
  it('warns on platform-managed kube-proxy and requires cleanup off + healthz 0', async () => {
    const state = baseState({daemonSets: [ds('calico-node', 'kube-system'), ds('kube-proxy', 'kube-system', {labels: {'eks.amazonaws.com/component': 'kube-proxy'}})]})
    const fs = await run(state, 'kube-proxy')
    expect(find(fs, 'platform-managed')?.status).toBe('warn')
    const fight = find(fs, 'will keep running')!
    expect(fight.status).toBe('warn')
    expect(fight.summary).toContain('bpfKubeProxyIptablesCleanupEnabled is true')
    expect(fight.summary).toContain('bpfKubeProxyHealthzPort is 10256')
  })
  it('fails when BPF is on while kube-proxy runs with cleanup enabled', async () => {
    const state = baseState({felixConfigurations: [felix('default', {bpfEnabled: true})]})
    expect(find(await run(state, 'kube-proxy'), 'will keep running')?.status).toBe('fail')
    const ok = baseState({felixConfigurations: [felix('default', {bpfEnabled: true, bpfKubeProxyIptablesCleanupEnabled: false, bpfKubeProxyHealthzPort: 0})]})
    expect(find(await run(ok, 'kube-proxy'), 'will keep running')).toBeUndefined()
  })
  it('sees argocd and addon-manager markers', async () => {
    const state = baseState({daemonSets: [ds('calico-node', 'kube-system'), ds('kube-proxy', 'kube-system', {labels: {'addonmanager.kubernetes.io/mode': 'Reconcile'}, annotations: {'argocd.argoproj.io/tracking-id': 'x'}})]})
    const m = find(await run(state, 'kube-proxy'), 'platform-managed')!
    expect(m.summary).toContain('addonmanager.kubernetes.io/mode=Reconcile')
    expect(m.summary).toContain('argocd.argoproj.io/tracking-id')
  })
  it('passes without kube-proxy', async () => {
    expect((await run(baseState({daemonSets: [ds('calico-node', 'kube-system')], kubeProxyConfigMap: undefined}), 'kube-proxy'))[0]!.summary).toContain('no kube-proxy')
  })
})

describe('felix-config', () => {
  it('reports bpf* values and per-node overrides', async () => {
    const state = baseState({felixConfigurations: [felix('default', {bpfEnabled: true, bpfExternalServiceMode: 'DSR', logSeverityScreen: 'Info'}), felix('node.node-2', {bpfEnabled: false}), felix('gpu', {nodeSelector: "gpu == 'true'", bpfLogLevel: 'Debug'})]})
    const fs = await run(state, 'felix-config')
    expect(fs[0]!.summary).toBe('FelixConfiguration default: bpfEnabled=true, bpfExternalServiceMode="DSR"')
    expect(find(fs, 'node.node-2')?.status).toBe('warn')
    expect(find(fs, "gpu == 'true'")?.status).toBe('pass')
  })
  it('says bpfEnabled is unset (Felix: false) when other bpf* fields are set but not it', async () => {
    const state = baseState({felixConfigurations: [felix('default', {bpfLogLevel: ''})]})
    expect((await run(state, 'felix-config'))[0]!.summary).toBe('FelixConfiguration default: bpfEnabled unset (default false), bpfLogLevel=""')
  })
  it('warns about FELIX_BPFENABLED on the DaemonSet', async () => {
    const state = baseState({daemonSets: [ds('calico-node', 'kube-system', {env: [{name: 'FELIX_BPFENABLED', value: 'true'}]})]})
    expect(find(await run(state, 'felix-config'), 'FELIX_BPFENABLED=true')?.status).toBe('warn')
  })
  it('fails an operator ownership mismatch', async () => {
    const state = operatorState({felixConfigurations: [felix('default', {bpfEnabled: true}, {'operator.tigera.io/bpfEnabled': 'false'})]})
    const f = find(await run(state, 'felix-config'), 'the operator refuses')!
    expect(f.status).toBe('fail')
    expect(f.remedy).toContain('linuxDataplane')
  })
  it('fails a mark mask that misses the BPF bits', async () => {
    const state = baseState({felixConfigurations: [felix('default', {iptablesMarkMask: 0xff000000})]})
    expect(find(await run(state, 'felix-config'), '0x1ff00000')?.status).toBe('fail')
  })
})

describe('ip-pools', () => {
  it('warns on IPIP, passes VXLAN and no-encap, reports IPv6', async () => {
    const state = baseState({ipPools: [pool('ipip', '192.168.0.0/16', {ipipMode: 'Always'}), pool('vx', '10.10.0.0/16', {vxlanMode: 'CrossSubnet'}), pool('flat', '10.20.0.0/16'), pool('v6', 'fd00::/48', {vxlanMode: 'Always'})]})
    const fs = await run(state, 'ip-pools')
    expect(statuses(fs)).toEqual(['warn', 'pass', 'pass', 'pass'])
    expect(fs[0]!.remedy).toContain('vxlanMode')
    expect(fs[3]!.summary).toContain('IPv6')
  })
})

describe('platform', () => {
  it('fails EKS nodes on Amazon Linux 2 with 4.14 kernels', async () => {
    const nodes = [
      node('ip-1', {kernel: '4.14.336-257.562.amzn2.x86_64', osImage: 'Amazon Linux 2', providerID: 'aws:///eu-west-1a/i-1', labels: {'eks.amazonaws.com/nodegroup': 'ng-al2'}}),
      node('ip-2', {kernel: '6.1.72-96.166.amzn2023.x86_64', osImage: 'Amazon Linux 2023', providerID: 'aws:///eu-west-1a/i-2', labels: {'eks.amazonaws.com/nodegroup': 'ng-2023'}}),
    ]
    const fs = await run(baseState({nodes}), 'platform')
    expect(fs[0]!.summary).toContain('eks (2 nodes)')
    const f = find(fs, 'Amazon Linux 2 with 4.14')!
    expect(f.status).toBe('fail')
    expect(f.summary).toContain('ip-1')
    expect(f.remedy).toContain('Bottlerocket')
  })
  it('gives kOps spec fields as the remedy', async () => {
    const fs = await run(baseState({nodes: [node('n', {providerID: 'aws:///a/i', labels: {'kops.k8s.io/instancegroup': 'nodes'}})]}), 'platform')
    const f = find(fs, 'kOps')!
    expect(f.remedy).toContain('networking.calico.bpfEnabled: true')
    expect(f.remedy).toContain('kubeProxy.enabled: false')
  })
  it('fails GKE and detects azure/gce providers', async () => {
    const fs = await run(baseState({nodes: [node('g', {providerID: 'gce://p/z/g', labels: {'cloud.google.com/gke-nodepool': 'default'}}), node('z', {providerID: 'azure:///subscriptions/x'})]}), 'platform')
    expect(find(fs, 'GKE')?.status).toBe('fail')
    expect(fs[0]!.data?.providers).toEqual({gce: 1, azure: 1})
  })
  it('passes a self-managed cluster', async () => {
    expect(statuses(await run(baseState(), 'platform'))).toEqual(['pass'])
  })
})

describe('runChecks options', () => {
  it('--ignore demotes failures to visible warnings', async () => {
    const state = baseState({nodes: [node('a'), node('w', {os: 'windows'})]})
    const r = await runChecks(ctxOf(state), {only: ['windows'], ignore: ['windows']})
    expect(r.findings[0]).toMatchObject({status: 'warn', ignored: true})
    expect(r.exitCode).toBe(0)
    expect((await runChecks(ctxOf(state), {only: ['windows'], ignore: ['windows'], strict: true})).exitCode).toBe(0)
  })
  it('--strict fails on warnings', async () => {
    const state = baseState({ipPools: [pool('ipip', '192.168.0.0/16', {ipipMode: 'Always'})]})
    expect((await runChecks(ctxOf(state), {only: ['ip-pools']})).exitCode).toBe(0)
    expect((await runChecks(ctxOf(state), {only: ['ip-pools'], strict: true})).exitCode).toBe(1)
  })
  it('rejects unknown IDs with the valid list (exit 2)', async () => {
    await expect(runChecks(ctxOf(baseState()), {only: ['kernel', 'bogus']})).rejects.toMatchObject({exitCode: 2, message: expect.stringContaining('bogus')})
    await expect(runChecks(ctxOf(baseState()), {only: ['bogus']})).rejects.toMatchObject({remedy: expect.stringContaining('kube-proxy')})
  })
  it('accepts case-insensitive and comma-joined IDs', async () => {
    const r = await runChecks(ctxOf(baseState()), {only: ['Kernel,HYBRID']})
    expect(r.checks.map((c) => c.id)).toEqual(['kernel', 'hybrid'])
  })
  it('runs the full registry over a cluster and summarises', async () => {
    const r = await runChecks(ctxOf(baseState()))
    expect(r.summary.failed).toBe(0)
    expect(r.summary.passed).toBeGreaterThan(5)
    expect(r.exitCode).toBe(0)
  })
  it('is linear in nodes: 5,000 nodes in well under a second', async () => {
    const nodes = Array.from({length: 5000}, (_, i) => node(`node-${i}`, {kernel: i % 10 ? '6.8.0-45-generic' : '5.4.0-169-generic'}))
    const start = performance.now()
    const r = await runChecks(ctxOf(baseState({nodes})))
    expect(performance.now() - start).toBeLessThan(1500)
    expect(r.findings.filter((f) => f.checkId === 'kernel')).toHaveLength(5000)
  })
})
