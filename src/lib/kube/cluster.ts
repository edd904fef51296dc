import type {KubeClient} from './client.js'
import type {
  ClusterInformationObject,
  ConfigMapObject,
  DaemonSetObject,
  DeploymentObject,
  EndpointSliceObject,
  FelixConfigurationObject,
  InstallationObject,
  IPPoolObject,
  NodeObject,
  ServiceObject,
} from './objects.js'
import {type ResourceRef, Resources, inGroup} from './resources.js'

export const SERVICES_ENDPOINT_CONFIGMAP = 'kubernetes-services-endpoint'
export const DEFAULT_OPERATOR_NAMESPACE = 'tigera-operator'

/**
 * Everything `check`, `enable` and `status` need to know about a cluster, read with a fixed number of list requests
 * (about 16, whatever the node count: nodes are paginated at 1,000) so that logic over it is pure and testable.
 */
export interface ClusterState {
  server: string
  apiGroups: Map<string, string[]>
  nodes: NodeObject[]
  installation?: InstallationObject
  clusterInformation?: ClusterInformationObject
  felixConfigurations: FelixConfigurationObject[]
  ipPools: IPPoolObject[]
  /** calico-node and kube-proxy DaemonSets, wherever they are. */
  daemonSets: DaemonSetObject[]
  /** tigera-operator, calico-kube-controllers and calico-typha Deployments. */
  deployments: DeploymentObject[]
  /** Every ConfigMap named kubernetes-services-endpoint, in any namespace (a wrong namespace is a classic mistake). */
  servicesEndpointConfigMaps: ConfigMapObject[]
  kubeProxyConfigMap?: ConfigMapObject
  kubernetesService?: ServiceObject
  kubernetesEndpointSlices: EndpointSliceObject[]
  /** The FelixConfiguration/IPPool API group in use (crd.projectcalico.org/v1 or native projectcalico.org/v3). */
  calicoApi: {group: string; version: string} | undefined
}

/** Which API serves Calico's resources, decided exactly as libcalico-go's UsingV3CRDs does. */
export function calicoApiGroup(groups: Map<string, string[]>): {group: string; version: string} | undefined {
  if (groups.has('crd.projectcalico.org')) return {group: 'crd.projectcalico.org', version: 'v1'}
  if (groups.has('projectcalico.org')) return {group: 'projectcalico.org', version: 'v3'}
  return undefined
}

export function calicoResource(state: Pick<ClusterState, 'calicoApi'>, resource: ResourceRef): ResourceRef {
  return state.calicoApi ? inGroup(resource, state.calicoApi.group, state.calicoApi.version) : resource
}

export async function collectClusterState(kube: KubeClient): Promise<ClusterState> {
  const apiGroups = await kube.apiGroups()
  const calicoApi = calicoApiGroup(apiGroups)
  const hasOperator = apiGroups.has('operator.tigera.io')
  const calico = (r: ResourceRef) => calicoResource({calicoApi}, r)
  const [
    nodes,
    installation,
    clusterInformation,
    felixConfigurations,
    ipPools,
    daemonSets,
    deployments,
    servicesEndpointConfigMaps,
    kubeProxyConfigMap,
    kubernetesService,
    kubernetesEndpointSlices,
  ] = await Promise.all([
    kube.list<NodeObject>(Resources.nodes, undefined, {pageSize: 1000}),
    hasOperator ? kube.get<InstallationObject>(Resources.installations, 'default') : undefined,
    calicoApi ? kube.get<ClusterInformationObject>(calico(Resources.clusterInformations), 'default') : undefined,
    calicoApi ? kube.list<FelixConfigurationObject>(calico(Resources.felixConfigurations)) : [],
    calicoApi ? kube.list<IPPoolObject>(calico(Resources.ipPools)) : [],
    kube.list<DaemonSetObject>(Resources.daemonSets, undefined, {labelSelector: 'k8s-app in (calico-node,kube-proxy)'}),
    kube.list<DeploymentObject>(Resources.deployments, undefined, {
      labelSelector: 'k8s-app in (tigera-operator,calico-kube-controllers,calico-typha)',
    }),
    kube.list<ConfigMapObject>(Resources.configMaps, undefined, {fieldSelector: `metadata.name=${SERVICES_ENDPOINT_CONFIGMAP}`}),
    kube.get<ConfigMapObject>(Resources.configMaps, 'kube-proxy', 'kube-system'),
    kube.get<ServiceObject>(Resources.services, 'kubernetes', 'default'),
    kube.list<EndpointSliceObject>(Resources.endpointSlices, 'default', {labelSelector: 'kubernetes.io/service-name=kubernetes'}),
  ])
  return {
    server: kube.server,
    apiGroups,
    nodes,
    installation,
    clusterInformation,
    felixConfigurations,
    ipPools,
    daemonSets,
    deployments,
    servicesEndpointConfigMaps,
    kubeProxyConfigMap,
    kubernetesService,
    kubernetesEndpointSlices,
    calicoApi,
  }
}

export type InstallType = 'operator' | 'manifest' | 'none'

export interface InstallInfo {
  type: InstallType
  /** Namespace of calico-node (calico-system for operator installs, kube-system for manifests). */
  calicoNamespace?: string
  /** Where kubernetes-services-endpoint must live: the operator's namespace, or kube-system. */
  endpointConfigMapNamespace?: string
  operatorNamespace?: string
  calicoVersion?: string
  operatorVersion?: string
  calicoNode?: DaemonSetObject
  kubeProxy?: DaemonSetObject
  felixDefault?: FelixConfigurationObject
  /** A FELIX_BPFENABLED env var on calico-node overrides FelixConfiguration (Felix precedence). */
  felixBpfEnabledEnv?: {container: string; value: string; enabled: boolean | undefined}
  /** bpfNetworkBootstrap exists on operator installs from Calico v3.31. */
  supportsBootstrap: boolean
}

const imageTag = (image: string | undefined) => image?.match(/:([^:/@]+)(?:@.*)?$/)?.[1]

export function detectInstall(state: ClusterState): InstallInfo {
  const byName = (name: string) => state.daemonSets.filter((ds) => ds.metadata.name === name)
  const kubeProxy = byName('kube-proxy').find((ds) => ds.metadata.namespace === 'kube-system') ?? byName('kube-proxy')[0]
  const operatorDeployment = state.deployments.find((d) => d.metadata.name === 'tigera-operator')
  const felixDefault = state.felixConfigurations.find((f) => f.metadata.name === 'default')
  const calicoVersion =
    state.clusterInformation?.spec?.calicoVersion || state.installation?.status?.calicoVersion || undefined

  let type: InstallType = 'none'
  let calicoNode: DaemonSetObject | undefined
  let calicoNamespace: string | undefined
  let operatorNamespace: string | undefined
  let endpointConfigMapNamespace: string | undefined
  if (state.installation) {
    type = 'operator'
    calicoNamespace = 'calico-system'
    operatorNamespace = operatorDeployment?.metadata.namespace ?? DEFAULT_OPERATOR_NAMESPACE
    endpointConfigMapNamespace = operatorNamespace
    calicoNode = byName('calico-node').find((ds) => ds.metadata.namespace === 'calico-system')
  } else {
    calicoNode = byName('calico-node').find((ds) => ds.metadata.namespace === 'kube-system') ?? byName('calico-node')[0]
    if (calicoNode) {
      type = 'manifest'
      calicoNamespace = calicoNode.metadata.namespace
      endpointConfigMapNamespace = 'kube-system'
    }
  }
  const nodeContainer = calicoNode?.spec?.template?.spec?.containers?.find((c) => c.name === 'calico-node')
  const envVar = nodeContainer?.env?.find((e) => e.name.toUpperCase() === 'FELIX_BPFENABLED' && e.value !== undefined)
  const version = calicoVersion ?? imageTag(nodeContainer?.image)
  return {
    type,
    calicoNamespace,
    endpointConfigMapNamespace,
    operatorNamespace,
    calicoVersion: version,
    operatorVersion: imageTag(operatorDeployment?.spec?.template?.spec?.containers?.[0]?.image),
    calicoNode,
    kubeProxy,
    felixDefault,
    felixBpfEnabledEnv: envVar ? {container: 'calico-node', value: envVar.value!, enabled: parseFelixBool(envVar.value!)} : undefined,
    supportsBootstrap: type === 'operator' && versionAtLeast(version, [3, 31, 0]),
  }
}

/**
 * A boolean as Felix reads it from env/config (felix/config BoolParam): true|1|yes|y|t and false|0|no|n|f, any case;
 * anything else is not a boolean (undefined). The one parser for FELIX_* bool values, so every command agrees.
 */
export function parseFelixBool(raw: string | undefined): boolean | undefined {
  const v = raw?.trim().toLowerCase()
  if (v === undefined) return undefined
  if (['true', '1', 'yes', 'y', 't'].includes(v)) return true
  if (['false', '0', 'no', 'n', 'f'].includes(v)) return false
  return undefined
}

/** Compares a Calico version tag (v3.31.2, v3.32.0-0.dev, master) against a minimum; unknown/dev builds count as new. */
export function versionAtLeast(version: string | undefined, min: [number, number, number]): boolean {
  const m = version?.match(/^v?(\d+)\.(\d+)(?:\.(\d+))?/)
  if (!m) return version !== undefined && /master|latest|dev/i.test(version)
  const have = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]
  for (let i = 0; i < 3; i++) {
    if (have[i]! !== min[i]!) return have[i]! > min[i]!
  }
  return true
}
