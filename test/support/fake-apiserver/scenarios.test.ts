import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import type {KubeClient} from '../../../src/lib/kube/client.js'
import {connect} from '../../../src/lib/kube/connect.js'
import {Resources} from '../../../src/lib/kube/resources.js'
import {type FakeApiServer, startFakeApiServer} from './index.js'
import {enableOperatorSimulation} from './operator.js'
import {seedKubeadmBase, seedManifestInstall, seedOperatorInstall} from './scenarios.js'

let server: FakeApiServer
let dir: string
let kube: KubeClient

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fake-apiserver-scenarios-'))
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))
beforeEach(async () => {
  server = await startFakeApiServer()
  kube = await connect({kubeconfig: server.writeKubeconfig(dir), timeoutMs: 5000})
})
afterEach(async () => {
  kube.close()
  await server.close()
})

describe('fake-apiserver scenarios', () => {
  it('seedKubeadmBase: nodes, default/kubernetes, kube-proxy DaemonSet and ConfigMap', async () => {
    seedKubeadmBase(server.store, {
      nodes: [
        {name: 'cp', controlPlane: true},
        {name: 'old', bpfSupported: false},
        {
          name: 'arm',
          architecture: 'arm64',
          kernelVersion: '6.1.0-28-arm64',
          osImage: 'Debian GNU/Linux 12 (bookworm)',
          labels: {zone: 'z1'},
        },
        {name: 'win', operatingSystem: 'windows'},
      ],
      apiServers: ['10.1.0.10', '10.1.0.11'],
      kubeProxyMode: 'ipvs',
    })
    const nodes = await kube.list<any>(Resources.nodes)
    expect(nodes.map((n) => n.metadata.name)).toEqual(['arm', 'cp', 'old', 'win'])
    const byName = Object.fromEntries(nodes.map((n) => [n.metadata.name, n]))
    expect(byName.cp.status.nodeInfo).toMatchObject({
      kernelVersion: '6.8.0-45-generic',
      osImage: 'Ubuntu 24.04.1 LTS',
      architecture: 'amd64',
    })
    expect(byName.cp.metadata.labels).toHaveProperty('node-role.kubernetes.io/control-plane')
    expect(byName.old.status.nodeInfo.kernelVersion).toBe('4.15.0-213-generic')
    expect(byName.arm.metadata.labels).toMatchObject({'kubernetes.io/arch': 'arm64', zone: 'z1'})
    expect(byName.cp.status.addresses).toContainEqual({type: 'InternalIP', address: '10.0.0.1'})
    const slices = await kube.list<any>(Resources.endpointSlices, 'default', {
      labelSelector: 'kubernetes.io/service-name=kubernetes',
    })
    expect(slices[0].endpoints.map((e: any) => e.addresses[0])).toEqual(['10.1.0.10', '10.1.0.11'])
    expect(slices[0].ports[0].port).toBe(6443)
    const svc = await kube.get<any>(Resources.services, 'kubernetes', 'default')
    expect(svc.spec).toMatchObject({clusterIP: '10.96.0.1', ports: [expect.objectContaining({port: 443})]})
    const cm = await kube.get<any>(Resources.configMaps, 'kube-proxy', 'kube-system')
    expect(cm.data['config.conf']).toMatch(/^mode: ipvs$/m)
    expect(cm.data['kubeconfig.conf']).toContain('server: https://10.1.0.10:6443')
    // kube-proxy runs on the Linux nodes only (nodeSelector kubernetes.io/os: linux)
    const kp = await kube.list<any>(Resources.pods, 'kube-system', {labelSelector: 'k8s-app=kube-proxy'})
    expect(kp.map((p) => p.spec.nodeName).sort()).toEqual(['arm', 'cp', 'old'])
  })

  it('seedKubeadmBase with a count names nodes node-1…node-N and leaves mode empty like kubeadm', async () => {
    seedKubeadmBase(server.store, {nodes: 3})
    expect((await kube.list(Resources.nodes)).map((n) => n.metadata.name)).toEqual(['node-1', 'node-2', 'node-3'])
    const cm = await kube.get<any>(Resources.configMaps, 'kube-proxy', 'kube-system')
    expect(cm.data['config.conf']).toMatch(/^mode: ""$/m)
  })

  it('seedOperatorInstall: operator objects, calico-system workloads, valid Calico resources', async () => {
    seedKubeadmBase(server.store, {nodes: 3})
    seedOperatorInstall(server.store)
    const groups = await kube.apiGroups()
    expect(groups.get('operator.tigera.io')).toEqual(['v1'])
    expect(groups.get('crd.projectcalico.org')).toEqual(['v1'])
    const inst = await kube.get<any>(Resources.installations, 'default')
    expect(inst.spec.calicoNetwork).toMatchObject({
      linuxDataplane: 'Iptables',
      ipPools: [expect.objectContaining({cidr: '192.168.0.0/16', encapsulation: 'VXLANCrossSubnet'})],
    })
    const ds = await kube.get<any>(Resources.daemonSets, 'calico-node', 'calico-system')
    expect(ds.spec.selector.matchLabels).toEqual({'k8s-app': 'calico-node'})
    expect(ds.spec.template.spec.containers[0]).toMatchObject({
      name: 'calico-node',
      image: 'quay.io/calico/node:v3.32.1',
    })
    expect(ds.spec.template.spec.volumes).toContainEqual({
      name: 'bpffs',
      hostPath: {path: '/sys/fs/bpf', type: 'Directory'},
    })
    expect(ds.status).toMatchObject({desiredNumberScheduled: 3, numberReady: 3})
    expect(await kube.list(Resources.pods, 'calico-system', {labelSelector: 'k8s-app=calico-node'})).toHaveLength(3)
    expect(await kube.get(Resources.deployments, 'calico-kube-controllers', 'calico-system')).toBeDefined()
    expect(await kube.get(Resources.deployments, 'calico-typha', 'calico-system')).toBeDefined()
    expect(await kube.get(Resources.deployments, 'tigera-operator', 'tigera-operator')).toBeDefined()
    const ci = await kube.get<any>(Resources.clusterInformations, 'default')
    expect(ci.spec).toMatchObject({calicoVersion: 'v3.32.1', clusterType: 'k8s,operator,bgp'})
    const fc = await kube.get<any>(Resources.felixConfigurations, 'default')
    expect(fc.spec.bpfEnabled).toBe(false)
    expect(fc.metadata.annotations).toEqual({'operator.tigera.io/bpfEnabled': 'false'})
    const pools = await kube.list<any>(Resources.ipPools)
    expect(pools.map((p) => [p.metadata.name, p.spec.cidr, p.spec.vxlanMode])).toEqual([
      ['default-ipv4-ippool', '192.168.0.0/16', 'CrossSubnet'],
    ])
    expect(await kube.list(Resources.tigeraStatuses)).toHaveLength(1)
  })

  it('seedOperatorInstall with calicoVersion and the BPF custom resources', async () => {
    seedKubeadmBase(server.store, {nodes: 1})
    seedOperatorInstall(server.store, {calicoVersion: 'v3.31.2', installation: 'bpf'})
    const inst = await kube.get<any>(Resources.installations, 'default')
    expect(inst.spec.calicoNetwork).toMatchObject({
      linuxDataplane: 'BPF',
      bpfNetworkBootstrap: 'Enabled',
      kubeProxyManagement: 'Enabled',
    })
    const ds = await kube.get<any>(Resources.daemonSets, 'calico-node', 'calico-system')
    expect(ds.spec.template.spec.containers[0].image).toBe('quay.io/calico/node:v3.31.2')
    expect((await kube.get<any>(Resources.felixConfigurations, 'default')).spec.bpfEnabled).toBe(true)
    const init = ds.spec.template.spec.initContainers.find((c: any) => c.name === 'ebpf-bootstrap')
    expect(init.command).toEqual(['calico-node', '-init'])
    expect(init.env).toContainEqual({name: 'KUBERNETES_APISERVER_ENDPOINTS', value: '172.18.0.2:6443'})
    const kp = await kube.get<any>(Resources.daemonSets, 'kube-proxy', 'kube-system')
    expect(kp.spec.template.spec.nodeSelector).toMatchObject({'operator.tigera.io/disable-kube-proxy': 'true'})
    expect(await kube.list(Resources.pods, 'kube-system', {labelSelector: 'k8s-app=kube-proxy'})).toEqual([])
    // already what the operator would render: enabling the simulation changes nothing
    const rv = server.store.resourceVersion()
    enableOperatorSimulation(server)
    expect(server.store.resourceVersion()).toBe(rv)
  })

  it('seedManifestInstall: the real calico.yaml in kube-system plus what calico-node creates', async () => {
    seedKubeadmBase(server.store, {nodes: 2})
    seedManifestInstall(server.store)
    expect(await kube.get(Resources.installations, 'default')).toBeUndefined()
    expect((await kube.apiGroups()).has('operator.tigera.io')).toBe(false)
    const ds = await kube.get<any>(Resources.daemonSets, 'calico-node', 'kube-system')
    expect(ds.spec.template.spec.initContainers.map((c: any) => c.name)).toEqual([
      'upgrade-ipam',
      'install-cni',
      'ebpf-bootstrap',
    ])
    expect(ds.status).toMatchObject({desiredNumberScheduled: 2, numberReady: 2})
    const pods = await kube.list<any>(Resources.pods, 'kube-system', {labelSelector: 'k8s-app=calico-node'})
    expect(pods).toHaveLength(2)
    expect(await kube.get(Resources.configMaps, 'calico-config', 'kube-system')).toBeDefined()
    expect(await kube.get(Resources.deployments, 'calico-kube-controllers', 'kube-system')).toBeDefined()
    const ci = await kube.get<any>(Resources.clusterInformations, 'default')
    expect(ci.spec.clusterType).toBe('k8s,bgp,kubeadm')
    const pool = await kube.get<any>(Resources.ipPools, 'default-ipv4-ippool')
    expect(pool.spec).toMatchObject({cidr: '192.168.0.0/16', ipipMode: 'Always', vxlanMode: 'Never', natOutgoing: true})
    const fc = await kube.get<any>(Resources.felixConfigurations, 'default')
    expect(fc.spec.bpfEnabled).toBeUndefined()
    // ebpfctl's manifest-mode write: bpfEnabled on FelixConfiguration
    const on = await kube.patch<any>(
      Resources.felixConfigurations,
      'default',
      undefined,
      {spec: {bpfEnabled: true, bpfExternalServiceMode: 'DSR'}},
      'merge',
    )
    expect(on.spec).toMatchObject({bpfEnabled: true, bpfExternalServiceMode: 'DSR'})
  })
})

describe('fake-apiserver tigera-operator simulation', () => {
  beforeEach(() => {
    seedKubeadmBase(server.store, {nodes: 3})
    seedOperatorInstall(server.store)
  })

  it('BPF: rolls calico-node, then sets bpfEnabled with the annotation, then disables kube-proxy; and back', async () => {
    const sim = enableOperatorSimulation(server)
    const nodePods = async () =>
      (await kube.list(Resources.pods, 'calico-system', {labelSelector: 'k8s-app=calico-node'})).map(
        (p) => p.metadata.name,
      )
    const kpPods = async () =>
      (await kube.list(Resources.pods, 'kube-system', {labelSelector: 'k8s-app=kube-proxy'})).length
    const before = await nodePods()
    expect(await kpPods()).toBe(3)
    await kube.patch(
      Resources.installations,
      'default',
      undefined,
      {spec: {calicoNetwork: {linuxDataplane: 'BPF', kubeProxyManagement: 'Enabled'}}},
      'merge',
    )
    const after = await nodePods()
    expect(after).toHaveLength(3)
    expect(after.filter((n) => before.includes(n))).toEqual([])
    const ds = await kube.get<any>(Resources.daemonSets, 'calico-node', 'calico-system')
    expect(ds.spec.template.spec.initContainers.find((c: any) => c.name === 'ebpf-bootstrap').command).toEqual([
      'calico-node',
      '-init',
    ])
    const fc = await kube.get<any>(Resources.felixConfigurations, 'default')
    expect(fc.spec).toMatchObject({bpfEnabled: true, nftablesMode: 'Enabled'})
    expect(fc.metadata.annotations['operator.tigera.io/bpfEnabled']).toBe('true')
    const kp = await kube.get<any>(Resources.daemonSets, 'kube-proxy', 'kube-system')
    expect(kp.spec.template.spec.nodeSelector).toEqual({
      'kubernetes.io/os': 'linux',
      'operator.tigera.io/disable-kube-proxy': 'true',
    })
    expect(await kpPods()).toBe(0)
    expect(sim.messages).toContain(
      'kube-proxy DaemonSet patched to disable kube-proxy, since kubeProxyManagement is Enabled and BPFEnabled is true.',
    )
    const inst = await kube.get<any>(Resources.installations, 'default')
    expect(inst.status.computed.calicoNetwork.linuxDataplane).toBe('BPF')
    expect(inst.status.calicoVersion).toBe('v3.32.1')

    await kube.patch(
      Resources.installations,
      'default',
      undefined,
      {spec: {calicoNetwork: {linuxDataplane: 'Iptables'}}},
      'merge',
    )
    expect((await kube.get<any>(Resources.felixConfigurations, 'default')).spec.bpfEnabled).toBe(false)
    expect(
      (await kube.get<any>(Resources.daemonSets, 'kube-proxy', 'kube-system')).spec.template.spec.nodeSelector,
    ).toEqual({'kubernetes.io/os': 'linux'})
    expect(await kpPods()).toBe(3)
  })

  it('waits for the calico-node rollout before setting bpfEnabled', async () => {
    enableOperatorSimulation(server)
    server.setPodHook((pod) => {
      if (pod.metadata.labels?.['k8s-app'] === 'calico-node')
        pod.status.conditions.find((c: any) => c.type === 'Ready').status = 'False'
    })
    await kube.patch(
      Resources.installations,
      'default',
      undefined,
      {spec: {calicoNetwork: {linuxDataplane: 'BPF'}}},
      'merge',
    )
    expect((await kube.get<any>(Resources.felixConfigurations, 'default')).spec.bpfEnabled).toBe(false)
    const ds = await kube.get<any>(Resources.daemonSets, 'calico-node', 'calico-system')
    expect(ds.status).toMatchObject({desiredNumberScheduled: 3, numberReady: 0, numberUnavailable: 3})
    // pods become ready → rollout complete → bpfEnabled
    server.setPodHook(undefined)
    for (const p of server.store
      .list('v1', 'Pod', 'calico-system')
      .filter((p) => p.metadata.labels['k8s-app'] === 'calico-node')) {
      p.status.conditions.find((c: any) => c.type === 'Ready').status = 'True'
      server.store.put(p)
    }
    expect((await kube.get<any>(Resources.felixConfigurations, 'default')).spec.bpfEnabled).toBe(true)
  })

  it('kubernetes-services-endpoint: env on calico-node (rollout), sticky until the operator restarts', async () => {
    const sim = enableOperatorSimulation(server)
    const env = async () => {
      const ds = await kube.get<any>(Resources.daemonSets, 'calico-node', 'calico-system')
      return Object.fromEntries(
        (ds.spec.template.spec.containers[0].env as any[])
          .filter((e) => /^KUBERNETES_SERVICE_(HOST|PORT)$/.test(e.name))
          .map((e) => [e.name, e.value]),
      )
    }
    expect(await env()).toEqual({})
    const before = (await kube.list(Resources.pods, 'calico-system', {labelSelector: 'k8s-app=calico-node'})).map(
      (p) => p.metadata.name,
    )
    await kube.create(Resources.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {name: 'kubernetes-services-endpoint', namespace: 'tigera-operator'},
      data: {KUBERNETES_SERVICE_HOST: '172.18.0.2', KUBERNETES_SERVICE_PORT: '6443'},
    })
    expect(await env()).toEqual({KUBERNETES_SERVICE_HOST: '172.18.0.2', KUBERNETES_SERVICE_PORT: '6443'})
    const after = (await kube.list(Resources.pods, 'calico-system', {labelSelector: 'k8s-app=calico-node'})).map(
      (p) => p.metadata.name,
    )
    expect(after.filter((n) => before.includes(n))).toEqual([])
    await kube.delete(Resources.configMaps, 'kubernetes-services-endpoint', 'tigera-operator')
    expect(await env()).toEqual({KUBERNETES_SERVICE_HOST: '172.18.0.2', KUBERNETES_SERVICE_PORT: '6443'})
    const op = (await kube.list(Resources.pods, 'tigera-operator'))[0]!
    await kube.delete(Resources.pods, op.metadata.name, 'tigera-operator')
    expect(await env()).toEqual({})
    expect(sim.degraded()).toBe('')
  })

  it('refuses to override a bpfEnabled set by someone else', async () => {
    const sim = enableOperatorSimulation(server)
    await kube.patch(Resources.felixConfigurations, 'default', undefined, {spec: {bpfEnabled: true}}, 'merge')
    expect(sim.degraded()).toContain(
      'has been modified by someone else, refusing to override potential user configuration',
    )
    const ts = await kube.get<any>(Resources.tigeraStatuses, 'calico')
    expect(ts.status.conditions).toContainEqual(expect.objectContaining({type: 'Degraded', status: 'True'}))
    expect((await kube.get<any>(Resources.felixConfigurations, 'default')).spec.bpfEnabled).toBe(true)
  })

  it('bpfNetworkBootstrap puts the API server endpoints on ebpf-bootstrap; with Iptables it degrades', async () => {
    const sim = enableOperatorSimulation(server)
    await kube.patch(
      Resources.installations,
      'default',
      undefined,
      {spec: {calicoNetwork: {linuxDataplane: 'BPF', bpfNetworkBootstrap: 'Enabled'}}},
      'merge',
    )
    const ds = await kube.get<any>(Resources.daemonSets, 'calico-node', 'calico-system')
    const init = ds.spec.template.spec.initContainers.find((c: any) => c.name === 'ebpf-bootstrap')
    expect(init.env).toEqual(
      expect.arrayContaining([
        {name: 'KUBERNETES_SERVICE_IPS_PORTS', value: '10.96.0.1:443'},
        {name: 'KUBERNETES_APISERVER_ENDPOINTS', value: '172.18.0.2:6443'},
      ]),
    )
    await kube.patch(
      Resources.installations,
      'default',
      undefined,
      {spec: {calicoNetwork: {linuxDataplane: 'Iptables'}}},
      'merge',
    )
    expect(sim.degraded()).toBe('bpfNetworkBootstrap is enabled but linuxDataplane is not set to BPF')
    expect((await kube.get<any>(Resources.felixConfigurations, 'default')).spec.bpfEnabled).toBe(true) // reconcile stopped
    await kube.patch(
      Resources.installations,
      'default',
      undefined,
      {spec: {calicoNetwork: {bpfNetworkBootstrap: 'Disabled'}}},
      'merge',
    )
    expect(sim.degraded()).toBe('')
    expect((await kube.get<any>(Resources.felixConfigurations, 'default')).spec.bpfEnabled).toBe(false)
  })
})
