import type {KubeObject} from './types.js'

/** Shapes of the objects ebpfctl reads, core (v1, apps/v1, discovery/v1) and Calico's, typed only as far as it uses them. */
export interface NodeObject extends KubeObject {
  spec?: {providerID?: string; taints?: {key: string; effect: string}[]; podCIDR?: string}
  status?: {
    addresses?: {type: string; address: string}[]
    nodeInfo?: {
      kernelVersion?: string
      osImage?: string
      architecture?: string
      operatingSystem?: string
      containerRuntimeVersion?: string
      kubeletVersion?: string
    }
    conditions?: {type: string; status: string}[]
  }
}

export interface PodSpecLike {
  nodeSelector?: Record<string, string>
  containers?: ContainerLike[]
  initContainers?: ContainerLike[]
  volumes?: {name: string; hostPath?: {path: string; type?: string}}[]
  affinity?: unknown
}

export interface ContainerLike {
  name: string
  image?: string
  command?: string[]
  args?: string[]
  env?: {name: string; value?: string; valueFrom?: unknown}[]
  envFrom?: {configMapRef?: {name: string; optional?: boolean}}[]
}

export interface DaemonSetObject extends KubeObject {
  spec?: {
    selector?: {matchLabels?: Record<string, string>}
    template?: {metadata?: {labels?: Record<string, string>; annotations?: Record<string, string>}; spec?: PodSpecLike}
  }
  status?: {
    desiredNumberScheduled?: number
    currentNumberScheduled?: number
    updatedNumberScheduled?: number
    numberReady?: number
    numberAvailable?: number
    numberUnavailable?: number
    numberMisscheduled?: number
    observedGeneration?: number
  }
}

export interface DeploymentObject extends KubeObject {
  spec?: {replicas?: number; template?: {spec?: PodSpecLike}}
  status?: {readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number; observedGeneration?: number}
}

export interface PodObject extends KubeObject {
  spec?: PodSpecLike & {nodeName?: string}
  status?: {
    phase?: string
    podIP?: string
    conditions?: {type: string; status: string}[]
    containerStatuses?: {name: string; ready: boolean; restartCount?: number}[]
  }
}

export interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>
}

export interface ServiceObject extends KubeObject {
  spec?: {
    type?: string
    clusterIP?: string
    clusterIPs?: string[]
    externalIPs?: string[]
    ports?: {name?: string; port: number; protocol?: string; nodePort?: number; targetPort?: number | string}[]
  }
  status?: {loadBalancer?: {ingress?: {ip?: string; hostname?: string}[]}}
}

/** discovery.k8s.io/v1 EndpointSlice; the API sends null for several absent fields. */
export interface EndpointSliceObject extends KubeObject {
  addressType?: string
  endpoints?:
    | {
        addresses: string[]
        conditions?: {ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null}
        targetRef?: {kind?: string; name?: string; namespace?: string}
        nodeName?: string
      }[]
    | null
  ports?: {name?: string | null; port?: number | null; protocol?: string | null}[] | null
}

export interface InstallationObject extends KubeObject {
  spec?: {
    variant?: string
    kubernetesProvider?: string
    calicoNetwork?: {
      linuxDataplane?: string
      bpfNetworkBootstrap?: string
      kubeProxyManagement?: string
      hostPorts?: string
      ipPools?: {cidr: string; encapsulation?: string; natOutgoing?: string}[]
    }
  }
  status?: {variant?: string; calicoVersion?: string; computed?: InstallationObject['spec']}
}

export interface FelixConfigurationObject extends KubeObject {
  spec?: Record<string, unknown> & {
    bpfEnabled?: boolean
    bpfExternalServiceMode?: string
    bpfKubeProxyIptablesCleanupEnabled?: boolean
    bpfKubeProxyHealthzPort?: number
    bpfMapSizeConntrack?: number
    nodeSelector?: string
  }
}

export interface IPPoolObject extends KubeObject {
  spec?: {cidr: string; ipipMode?: string; vxlanMode?: string; natOutgoing?: boolean; disabled?: boolean}
}

export interface ClusterInformationObject extends KubeObject {
  spec?: {calicoVersion?: string; clusterType?: string; datastoreReady?: boolean; clusterGUID?: string}
}
