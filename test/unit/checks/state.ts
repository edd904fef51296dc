/** Hand-built ClusterStates for the cluster-check unit tests (no API server involved). */
import type {
  ConfigMapObject,
  DaemonSetObject,
  FelixConfigurationObject,
  InstallationObject,
  IPPoolObject,
  NodeObject,
} from '../../../src/lib/kube/objects.js'
import {type ClusterState, detectInstall} from '../../../src/lib/kube/cluster.js'
import type {CheckContext} from '../../../src/lib/checks/types.js'

export function node(name: string, o: {kernel?: string; os?: string; arch?: string; osImage?: string; providerID?: string; labels?: Record<string, string>} = {}): NodeObject {
  return {
    metadata: {name, labels: o.labels},
    spec: o.providerID ? {providerID: o.providerID} : {},
    status: {
      nodeInfo: {
        kernelVersion: o.kernel ?? '6.8.0-45-generic',
        osImage: o.osImage ?? 'Ubuntu 24.04.1 LTS',
        architecture: o.arch ?? 'amd64',
        operatingSystem: o.os ?? 'linux',
      },
    },
  }
}

export function ds(name: string, namespace: string, o: Partial<{desired: number; ready: number; nodeSelector: Record<string, string>; labels: Record<string, string>; annotations: Record<string, string>; env: {name: string; value: string}[]; image: string}> = {}): DaemonSetObject {
  return {
    metadata: {name, namespace, labels: {'k8s-app': name, ...o.labels}, annotations: o.annotations},
    spec: {
      template: {
        spec: {
          nodeSelector: {'kubernetes.io/os': 'linux', ...o.nodeSelector},
          containers: [{name, image: o.image ?? `quay.io/calico/node:v3.32.1`, env: o.env}],
        },
      },
    },
    status: {desiredNumberScheduled: o.desired ?? 3, numberReady: o.ready ?? o.desired ?? 3, updatedNumberScheduled: o.desired ?? 3},
  }
}

export function kubeProxyConfigMap(mode: string, server = 'https://10.0.0.10:6443'): ConfigMapObject {
  return {
    metadata: {name: 'kube-proxy', namespace: 'kube-system'},
    data: {
      'config.conf': `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: "${mode}"\n`,
      'kubeconfig.conf': `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: ${server}\n  name: default\n`,
    },
  }
}

export function felix(name: string, spec: Record<string, unknown> = {}, annotations?: Record<string, string>): FelixConfigurationObject {
  return {metadata: {name, annotations}, spec}
}

export function pool(name: string, cidr: string, spec: Partial<IPPoolObject['spec']> = {}): IPPoolObject {
  return {metadata: {name}, spec: {cidr, ...spec}}
}

export function baseState(over: Partial<ClusterState> = {}): ClusterState {
  return {
    server: 'https://10.0.0.10:6443',
    apiGroups: new Map([['', ['v1']], ['apps', ['v1']], ['crd.projectcalico.org', ['v1']]]),
    nodes: [node('node-1'), node('node-2'), node('node-3')],
    installation: undefined,
    clusterInformation: {metadata: {name: 'default'}, spec: {calicoVersion: 'v3.32.1', clusterType: 'k8s,bgp,kubeadm'}},
    felixConfigurations: [felix('default')],
    ipPools: [pool('default-ipv4-ippool', '192.168.0.0/16', {vxlanMode: 'Always', ipipMode: 'Never'})],
    daemonSets: [ds('calico-node', 'kube-system'), ds('kube-proxy', 'kube-system', {image: 'registry.k8s.io/kube-proxy:v1.33.1'})],
    deployments: [],
    servicesEndpointConfigMaps: [],
    kubeProxyConfigMap: kubeProxyConfigMap(''),
    kubernetesService: {metadata: {name: 'kubernetes', namespace: 'default'}, spec: {clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1']}},
    kubernetesEndpointSlices: [
      {metadata: {name: 'kubernetes', namespace: 'default'}, endpoints: [{addresses: ['10.0.0.10']}], ports: [{name: 'https', port: 6443}]},
    ],
    calicoApi: {group: 'crd.projectcalico.org', version: 'v1'},
    ...over,
  }
}

export function operatorState(over: Partial<ClusterState> = {}, calicoNetwork: Record<string, unknown> = {}): ClusterState {
  const installation: InstallationObject = {
    metadata: {name: 'default'},
    spec: {calicoNetwork: {linuxDataplane: 'Iptables', ...calicoNetwork}},
    status: {calicoVersion: 'v3.32.1'},
  }
  return baseState({
    apiGroups: new Map([['', ['v1']], ['apps', ['v1']], ['crd.projectcalico.org', ['v1']], ['operator.tigera.io', ['v1']]]),
    installation,
    clusterInformation: {metadata: {name: 'default'}, spec: {calicoVersion: 'v3.32.1', clusterType: 'k8s,operator,bgp'}},
    felixConfigurations: [felix('default', {bpfEnabled: false}, {'operator.tigera.io/bpfEnabled': 'false'})],
    daemonSets: [ds('calico-node', 'calico-system'), ds('kube-proxy', 'kube-system')],
    deployments: [{metadata: {name: 'tigera-operator', namespace: 'tigera-operator'}, spec: {template: {spec: {containers: [{name: 'tigera-operator', image: 'quay.io/tigera/operator:v1.42.3'}]}}}}],
    ...over,
  })
}

export function ctxOf(state: ClusterState): CheckContext {
  return {cluster: {state, install: detectInstall(state), kubeconfigServer: state.server}}
}
