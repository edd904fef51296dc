/** The API resources ebpfctl reads or writes, with the paths the API server serves them on. */
export interface ResourceRef {
  group: string // '' for the core group
  version: string
  plural: string
  kind: string
  namespaced: boolean
}

const ref = (group: string, version: string, plural: string, kind: string, namespaced: boolean): ResourceRef => ({
  group,
  version,
  plural,
  kind,
  namespaced,
})

export const Resources = {
  namespaces: ref('', 'v1', 'namespaces', 'Namespace', false),
  nodes: ref('', 'v1', 'nodes', 'Node', false),
  pods: ref('', 'v1', 'pods', 'Pod', true),
  configMaps: ref('', 'v1', 'configmaps', 'ConfigMap', true),
  services: ref('', 'v1', 'services', 'Service', true),
  daemonSets: ref('apps', 'v1', 'daemonsets', 'DaemonSet', true),
  deployments: ref('apps', 'v1', 'deployments', 'Deployment', true),
  leases: ref('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  endpointSlices: ref('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', true),
  crds: ref('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false),
  installations: ref('operator.tigera.io', 'v1', 'installations', 'Installation', false),
  tigeraStatuses: ref('operator.tigera.io', 'v1', 'tigerastatuses', 'TigeraStatus', false),
  felixConfigurations: ref('crd.projectcalico.org', 'v1', 'felixconfigurations', 'FelixConfiguration', false),
  ipPools: ref('crd.projectcalico.org', 'v1', 'ippools', 'IPPool', false),
  clusterInformations: ref('crd.projectcalico.org', 'v1', 'clusterinformations', 'ClusterInformation', false),
} as const

/** The same Calico resource in another API group (projectcalico.org/v3 when native v3 CRDs are installed). */
export function inGroup(resource: ResourceRef, group: string, version: string): ResourceRef {
  return {...resource, group, version}
}

export function apiVersionOf(resource: ResourceRef): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version
}

export function resourcePath(resource: ResourceRef, namespace?: string, name?: string): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`
  const ns = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''
  const tail = name === undefined ? '' : `/${encodeURIComponent(name)}`
  return `${base}${ns}/${resource.plural}${tail}`
}

/** "daemonsets.apps" style name used in RBAC messages, as kubectl prints it. */
export function qualifiedName(resource: ResourceRef): string {
  return resource.group ? `${resource.plural}.${resource.group}` : resource.plural
}
