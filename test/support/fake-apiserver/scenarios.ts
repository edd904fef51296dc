/**
 * Scenario builders: seed a FakeStore with the objects of a kubeadm cluster and of a Calico install (operator or
 * manifest), taken from the real v3.32.1 manifests in test/fixtures/calico where they exist.
 */
import {createHash} from 'node:crypto'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {stringify} from 'yaml'

import {type FakeStore, loadYaml} from './store.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'calico')
export const fixturePath = (...parts: string[]) => join(FIXTURES, ...parts)

export const CALICO_YAML = fixturePath('v3.32.1', 'manifests', 'calico.yaml')
export const TIGERA_OPERATOR_YAML = fixturePath('v3.32.1', 'manifests', 'tigera-operator.yaml')
export const CUSTOM_RESOURCES_YAML = fixturePath('v3.32.1', 'manifests', 'custom-resources.yaml')
export const CUSTOM_RESOURCES_BPF_YAML = fixturePath('v3.32.1', 'manifests', 'custom-resources-bpf.yaml')
export const INSTALLATION_CRD_YAML = fixturePath(
  'v3.32.1',
  'charts',
  'crd.projectcalico.org.v1',
  'templates',
  'operator.tigera.io_installations.yaml',
)
/** Hand-written (not from Calico): a TigeraStatus CRD; see test/fixtures/calico/SOURCE.md. */
export const TIGERASTATUS_CRD_YAML = fixturePath('synthetic', 'operator.tigera.io_tigerastatuses.yaml')

export interface NodeSpec {
  name: string
  kernelVersion?: string
  osImage?: string
  architecture?: string
  operatingSystem?: string
  providerID?: string
  labels?: Record<string, string>
  /** Extra annotations. */
  annotations?: Record<string, string>
  internalIP?: string
  /** Data only: false picks an old kernel (4.15) / Ubuntu 18.04 unless kernelVersion/osImage are given. */
  bpfSupported?: boolean
  /** Adds the control-plane role label and NoSchedule taint (default: true for the first node only). */
  controlPlane?: boolean
  /** Node Ready condition (default true). */
  ready?: boolean
}

export interface KubeadmOptions {
  /** A count (names node-1 … node-N, node-1 is the control plane) or explicit specs. */
  nodes: number | NodeSpec[]
  /** Endpoint IPs of the API server (EndpointSlice default/kubernetes), default ['172.18.0.2']. */
  apiServers?: string[]
  /** kube-proxy `mode:`; kubeadm's default is "" (iptables). */
  kubeProxyMode?: 'iptables' | 'ipvs' | 'nftables' | ''
  kubernetesVersion?: string
  /** Also seed CoreDNS (Deployment coredns + Service kube-dns), default true. */
  coreDNS?: boolean
}

export const DEFAULT_KERNEL = '6.8.0-45-generic'
export const DEFAULT_OS_IMAGE = 'Ubuntu 24.04.1 LTS'

function hex(seed: string, n = 32): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, n)
}

export function nodeObject(spec: NodeSpec, i: number, kubeletVersion = 'v1.33.1'): object {
  const arch = spec.architecture ?? 'amd64'
  const os = spec.operatingSystem ?? 'linux'
  const ip = spec.internalIP ?? `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`
  const old = spec.bpfSupported === false
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': os,
    'kubernetes.io/arch': arch,
    'kubernetes.io/hostname': spec.name,
    'kubernetes.io/os': os,
    ...(spec.controlPlane
      ? {'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': ''}
      : {}),
    ...spec.labels,
  }
  const ts = '2026-11-01T10:00:00Z'
  const ready = spec.ready ?? true
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels,
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///var/run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        ...spec.annotations,
      },
    },
    spec: {
      podCIDR: `10.244.${i % 256}.0/24`,
      podCIDRs: [`10.244.${i % 256}.0/24`],
      ...(spec.providerID ? {providerID: spec.providerID} : {}),
      ...(spec.controlPlane ? {taints: [{effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane'}]} : {}),
    },
    status: {
      addresses: [
        {address: ip, type: 'InternalIP'},
        {address: spec.name, type: 'Hostname'},
      ],
      allocatable: {cpu: '4', 'ephemeral-storage': '100Gi', memory: '16Gi', pods: '110'},
      capacity: {cpu: '4', 'ephemeral-storage': '100Gi', memory: '16Gi', pods: '110'},
      conditions: [
        {
          type: 'MemoryPressure',
          status: 'False',
          reason: 'KubeletHasSufficientMemory',
          message: 'kubelet has sufficient memory available',
          lastHeartbeatTime: ts,
          lastTransitionTime: ts,
        },
        {
          type: 'DiskPressure',
          status: 'False',
          reason: 'KubeletHasNoDiskPressure',
          message: 'kubelet has no disk pressure',
          lastHeartbeatTime: ts,
          lastTransitionTime: ts,
        },
        {
          type: 'PIDPressure',
          status: 'False',
          reason: 'KubeletHasSufficientPID',
          message: 'kubelet has sufficient PID available',
          lastHeartbeatTime: ts,
          lastTransitionTime: ts,
        },
        ready
          ? {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'kubelet is posting ready status',
              lastHeartbeatTime: ts,
              lastTransitionTime: ts,
            }
          : {
              type: 'Ready',
              status: 'Unknown',
              reason: 'NodeStatusUnknown',
              message: 'Kubelet stopped posting node status.',
              lastHeartbeatTime: ts,
              lastTransitionTime: ts,
            },
      ],
      daemonEndpoints: {kubeletEndpoint: {Port: 10250}},
      nodeInfo: {
        architecture: arch,
        bootID: hex(`boot/${spec.name}`, 36),
        containerRuntimeVersion: 'containerd://1.7.24',
        kernelVersion: spec.kernelVersion ?? (old ? '4.15.0-213-generic' : DEFAULT_KERNEL),
        kubeProxyVersion: kubeletVersion,
        kubeletVersion,
        machineID: hex(`machine/${spec.name}`),
        operatingSystem: os,
        osImage: spec.osImage ?? (old ? 'Ubuntu 18.04.6 LTS' : DEFAULT_OS_IMAGE),
        systemUUID: hex(`uuid/${spec.name}`, 36),
      },
    },
  }
}

function kubeProxyConfig(mode: string): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    bindAddress: '0.0.0.0',
    bindAddressHardFail: false,
    clientConnection: {
      acceptContentTypes: '',
      burst: 0,
      contentType: '',
      kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf',
      qps: 0,
    },
    clusterCIDR: '192.168.0.0/16',
    configSyncPeriod: '0s',
    conntrack: {
      maxPerCore: null,
      min: null,
      tcpBeLiberal: false,
      tcpCloseWaitTimeout: null,
      tcpEstablishedTimeout: null,
      udpStreamTimeout: '0s',
      udpTimeout: '0s',
    },
    detectLocal: {bridgeInterface: '', interfaceNamePrefix: ''},
    detectLocalMode: '',
    enableProfiling: false,
    healthzBindAddress: '',
    hostnameOverride: '',
    iptables: {
      localhostNodePorts: null,
      masqueradeAll: false,
      masqueradeBit: null,
      minSyncPeriod: '0s',
      syncPeriod: '0s',
    },
    ipvs: {
      excludeCIDRs: null,
      minSyncPeriod: '0s',
      scheduler: '',
      strictARP: false,
      syncPeriod: '0s',
      tcpFinTimeout: '0s',
      tcpTimeout: '0s',
      udpTimeout: '0s',
    },
    kind: 'KubeProxyConfiguration',
    logging: {flushFrequency: 0, options: {json: {infoBufferSize: '0'}, text: {infoBufferSize: '0'}}, verbosity: 0},
    metricsBindAddress: '',
    mode,
    nftables: {masqueradeAll: false, masqueradeBit: null, minSyncPeriod: '0s', syncPeriod: '0s'},
    nodePortAddresses: null,
    oomScoreAdj: null,
    portRange: '',
    showHiddenMetricsForAlphaFeatures: false,
    winkernel: {
      enableDSR: false,
      forwardHealthCheckVip: false,
      networkName: '',
      rootHnsEndpointName: '',
      sourceVip: '',
    },
  })
}

function kubeProxyKubeconfig(server: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        cluster: {'certificate-authority': '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', server},
        name: 'default',
      },
    ],
    contexts: [{context: {cluster: 'default', namespace: 'default', user: 'default'}, name: 'default'}],
    'current-context': 'default',
    users: [{name: 'default', user: {tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token'}}],
  })
}

/** The kube-proxy DaemonSet as kubeadm v1.33 creates it. */
export function kubeProxyDaemonSet(version = 'v1.33.1'): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      name: 'kube-proxy',
      namespace: 'kube-system',
      labels: {'k8s-app': 'kube-proxy'},
      annotations: {'deprecated.daemonset.template.generation': '1'},
    },
    spec: {
      revisionHistoryLimit: 10,
      selector: {matchLabels: {'k8s-app': 'kube-proxy'}},
      template: {
        metadata: {labels: {'k8s-app': 'kube-proxy'}},
        spec: {
          containers: [
            {
              command: [
                '/usr/local/bin/kube-proxy',
                '--config=/var/lib/kube-proxy/config.conf',
                '--hostname-override=$(NODE_NAME)',
              ],
              env: [{name: 'NODE_NAME', valueFrom: {fieldRef: {apiVersion: 'v1', fieldPath: 'spec.nodeName'}}}],
              image: `registry.k8s.io/kube-proxy:${version}`,
              imagePullPolicy: 'IfNotPresent',
              name: 'kube-proxy',
              resources: {},
              securityContext: {privileged: true},
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'File',
              volumeMounts: [
                {mountPath: '/var/lib/kube-proxy', name: 'kube-proxy'},
                {mountPath: '/run/xtables.lock', name: 'xtables-lock'},
                {mountPath: '/lib/modules', name: 'lib-modules', readOnly: true},
              ],
            },
          ],
          dnsPolicy: 'ClusterFirst',
          hostNetwork: true,
          nodeSelector: {'kubernetes.io/os': 'linux'},
          priorityClassName: 'system-node-critical',
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          securityContext: {},
          serviceAccount: 'kube-proxy',
          serviceAccountName: 'kube-proxy',
          terminationGracePeriodSeconds: 30,
          tolerations: [{operator: 'Exists'}],
          volumes: [
            {configMap: {defaultMode: 420, name: 'kube-proxy'}, name: 'kube-proxy'},
            {hostPath: {path: '/run/xtables.lock', type: 'FileOrCreate'}, name: 'xtables-lock'},
            {hostPath: {path: '/lib/modules', type: ''}, name: 'lib-modules'},
          ],
        },
      },
      updateStrategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}, type: 'RollingUpdate'},
    },
  }
}

/** Namespaces, Nodes, default/kubernetes Service + EndpointSlice + Endpoints, kube-proxy DaemonSet + ConfigMap, kubeadm-config, CoreDNS. */
export function seedKubeadmBase(store: FakeStore, opts: KubeadmOptions): void {
  const apiServers = opts.apiServers?.length ? opts.apiServers : ['172.18.0.2']
  const version = opts.kubernetesVersion ?? 'v1.33.1'
  const specs: NodeSpec[] =
    typeof opts.nodes === 'number'
      ? Array.from({length: opts.nodes}, (_, i) => ({name: `node-${i + 1}`, controlPlane: i === 0}))
      : opts.nodes
  const objects: object[] = [
    ...['default', 'kube-system', 'kube-public', 'kube-node-lease'].map((name) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {name, labels: {'kubernetes.io/metadata.name': name}},
      spec: {finalizers: ['kubernetes']},
      status: {phase: 'Active'},
    })),
    ...specs.map((s, i) => nodeObject(s, i, version)),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {name: 'kubernetes', namespace: 'default', labels: {component: 'apiserver', provider: 'kubernetes'}},
      spec: {
        clusterIP: '10.96.0.1',
        clusterIPs: ['10.96.0.1'],
        internalTrafficPolicy: 'Cluster',
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        ports: [{name: 'https', port: 443, protocol: 'TCP', targetPort: 6443}],
        sessionAffinity: 'None',
        type: 'ClusterIP',
      },
      status: {loadBalancer: {}},
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {name: 'kubernetes', namespace: 'default', labels: {'kubernetes.io/service-name': 'kubernetes'}},
      addressType: 'IPv4',
      endpoints: apiServers.map((ip) => ({addresses: [ip], conditions: {ready: true}})),
      ports: [{name: 'https', port: 6443, protocol: 'TCP'}],
    },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {name: 'kubernetes', namespace: 'default', labels: {'endpointslice.kubernetes.io/skip-mirror': 'true'}},
      subsets: [{addresses: apiServers.map((ip) => ({ip})), ports: [{name: 'https', port: 6443, protocol: 'TCP'}]}],
    },
    {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'kube-proxy', namespace: 'kube-system'}},
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {name: 'kube-proxy', namespace: 'kube-system', labels: {app: 'kube-proxy'}},
      data: {
        'config.conf': kubeProxyConfig(opts.kubeProxyMode ?? ''),
        'kubeconfig.conf': kubeProxyKubeconfig(`https://${apiServers[0]}:6443`),
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {name: 'kubeadm-config', namespace: 'kube-system'},
      data: {
        ClusterConfiguration: stringify({
          apiVersion: 'kubeadm.k8s.io/v1beta4',
          kind: 'ClusterConfiguration',
          clusterName: 'kubernetes',
          controlPlaneEndpoint: `${apiServers[0]}:6443`,
          kubernetesVersion: version,
          networking: {dnsDomain: 'cluster.local', podSubnet: '192.168.0.0/16', serviceSubnet: '10.96.0.0/12'},
        }),
      },
    },
    kubeProxyDaemonSet(version),
  ]
  if (opts.coreDNS ?? true) {
    objects.push(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'kube-dns',
          namespace: 'kube-system',
          labels: {'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS'},
        },
        spec: {
          clusterIP: '10.96.0.10',
          clusterIPs: ['10.96.0.10'],
          selector: {'k8s-app': 'kube-dns'},
          type: 'ClusterIP',
          ports: [
            {name: 'dns', port: 53, protocol: 'UDP', targetPort: 53},
            {name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53},
          ],
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {name: 'coredns', namespace: 'kube-system', labels: {'k8s-app': 'kube-dns'}},
        spec: {
          replicas: 2,
          selector: {matchLabels: {'k8s-app': 'kube-dns'}},
          template: {
            metadata: {labels: {'k8s-app': 'kube-dns'}},
            spec: {
              containers: [
                {
                  name: 'coredns',
                  image: 'registry.k8s.io/coredns/coredns:v1.12.0',
                  args: ['-conf', '/etc/coredns/Corefile'],
                },
              ],
              nodeSelector: {'kubernetes.io/os': 'linux'},
              priorityClassName: 'system-cluster-critical',
              serviceAccountName: 'coredns',
              tolerations: [
                {key: 'CriticalAddonsOnly', operator: 'Exists'},
                {effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane'},
              ],
            },
          },
        },
      },
    )
  }
  store.seed(objects)
}

export interface CalicoOptions {
  calicoVersion?: string
}

export interface OperatorInstallOptions extends CalicoOptions {
  /** Which shipped custom resources to start from: custom-resources.yaml (default) or custom-resources-bpf.yaml. */
  installation?: 'default' | 'bpf'
  /** Merged into Installation default .spec.calicoNetwork (e.g. {linuxDataplane: 'BPF'}). */
  calicoNetwork?: Record<string, unknown>
  /** Number of nodes, for the calico-typha replica count (default: number of Node objects in the store). */
  nodeCount?: number
  /** Seed TigeraStatus 'calico' (Available) with a synthetic TigeraStatus CRD (default true). */
  tigeraStatus?: boolean
}

function retag<T>(obj: T, version: string): T {
  if (version === 'v3.32.1') return obj
  return JSON.parse(JSON.stringify(obj).replace(/(quay\.io\/calico\/[a-z0-9-]+):v3\.32\.1/g, `$1:${version}`))
}

/** The crd.projectcalico.org CRDs embedded in the real calico.yaml (the operator installs the same set). */
export function calicoCrds(): object[] {
  return loadYaml(CALICO_YAML).filter((o: any) => o.kind === 'CustomResourceDefinition')
}

const clusterGUID = (seed: string) => hex(`guid/${seed}`)

function felixDefault(annotations?: Record<string, string>, extra: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'FelixConfiguration',
    metadata: {name: 'default', ...(annotations ? {annotations} : {})},
    // What calico-node's startup (ensureDefaultConfig) writes.
    spec: {bpfLogLevel: '', floatingIPs: 'Disabled', logSeverityScreen: 'Info', reportingInterval: '0s', ...extra},
  }
}

/** calico-system/calico-node as tigera-operator v1.42 renders it (trimmed to what matters to ebpfctl). */
export function operatorCalicoNode(version: string): any {
  const img = (n: string) => `quay.io/calico/${n}:${version}`
  const hp = (name: string, path: string, type = 'DirectoryOrCreate') => ({name, hostPath: {path, type}})
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      name: 'calico-node',
      namespace: 'calico-system',
      labels: {'app.kubernetes.io/name': 'calico-node', 'k8s-app': 'calico-node'},
      annotations: {'deprecated.daemonset.template.generation': '1'},
      ownerReferences: [
        {
          apiVersion: 'operator.tigera.io/v1',
          kind: 'Installation',
          name: 'default',
          uid: hex('installation', 36),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      revisionHistoryLimit: 10,
      selector: {matchLabels: {'k8s-app': 'calico-node'}},
      template: {
        metadata: {
          labels: {'app.kubernetes.io/name': 'calico-node', 'k8s-app': 'calico-node'},
          annotations: {
            'hash.operator.tigera.io/cni-config': hex('cni-config', 40),
            'hash.operator.tigera.io/system': hex('system', 40),
            'tigera-operator.hash.operator.tigera.io/tigera-ca-private': hex('ca', 40),
          },
        },
        spec: {
          containers: [
            {
              name: 'calico-node',
              image: img('node'),
              imagePullPolicy: 'IfNotPresent',
              env: [
                {name: 'DATASTORE_TYPE', value: 'kubernetes'},
                {name: 'WAIT_FOR_DATASTORE', value: 'true'},
                {name: 'CLUSTER_TYPE', value: 'k8s,operator,bgp'},
                {name: 'CALICO_DISABLE_FILE_LOGGING', value: 'false'},
                {name: 'FELIX_DEFAULTENDPOINTTOHOSTACTION', value: 'ACCEPT'},
                {name: 'FELIX_HEALTHENABLED', value: 'true'},
                {name: 'FELIX_HEALTHPORT', value: '9099'},
                {name: 'NODENAME', valueFrom: {fieldRef: {apiVersion: 'v1', fieldPath: 'spec.nodeName'}}},
                {name: 'NAMESPACE', valueFrom: {fieldRef: {apiVersion: 'v1', fieldPath: 'metadata.namespace'}}},
                {name: 'FELIX_TYPHAK8SNAMESPACE', value: 'calico-system'},
                {name: 'FELIX_TYPHAK8SSERVICENAME', value: 'calico-typha'},
                {name: 'FELIX_TYPHACAFILE', value: '/etc/pki/tls/certs/tigera-ca-bundle.crt'},
                {name: 'FELIX_TYPHACERTFILE', value: '/node-certs/tls.crt'},
                {name: 'FELIX_TYPHAKEYFILE', value: '/node-certs/tls.key'},
                {name: 'CALICO_MANAGE_CNI', value: 'true'},
                {name: 'CALICO_NETWORKING_BACKEND', value: 'bird'},
                {name: 'IP', value: 'autodetect'},
                {name: 'IP_AUTODETECTION_METHOD', value: 'first-found'},
                {name: 'IP6', value: 'none'},
                {name: 'FELIX_IPV6SUPPORT', value: 'false'},
                {name: 'KUBERNETES_SERVICE_CA_LOC', value: '/etc/pki/tls/certs/tigera-ca-bundle.crt'},
              ],
              lifecycle: {preStop: {exec: {command: ['/bin/calico-node', '-shutdown']}}},
              livenessProbe: {
                failureThreshold: 3,
                httpGet: {host: 'localhost', path: '/liveness', port: 9099, scheme: 'HTTP'},
                periodSeconds: 60,
                timeoutSeconds: 10,
              },
              readinessProbe: {
                exec: {command: ['/bin/calico-node', '-bird-ready', '-felix-ready']},
                periodSeconds: 30,
                timeoutSeconds: 10,
              },
              securityContext: {
                allowPrivilegeEscalation: true,
                capabilities: {drop: ['ALL']},
                privileged: true,
                runAsGroup: 0,
                runAsNonRoot: false,
                runAsUser: 0,
                seccompProfile: {type: 'RuntimeDefault'},
              },
              volumeMounts: [
                {mountPath: '/lib/modules', name: 'lib-modules', readOnly: true},
                {mountPath: '/run/xtables.lock', name: 'xtables-lock'},
                {mountPath: '/var/run/nodeagent', name: 'policysync'},
                {mountPath: '/etc/pki/tls/certs', name: 'tigera-ca-bundle', readOnly: true},
                {mountPath: '/node-certs', name: 'node-certs', readOnly: true},
                {mountPath: '/var/run/calico', name: 'var-run-calico'},
                {mountPath: '/var/lib/calico', name: 'var-lib-calico'},
                {mountPath: '/var/log/calico/cni', name: 'cni-log-dir'},
                {mountPath: '/host/etc/cni/net.d', name: 'cni-net-dir'},
                {mountPath: '/sys/fs/bpf', name: 'bpffs'},
              ],
            },
          ],
          initContainers: [
            {
              name: 'flexvol-driver',
              image: img('pod2daemon-flexvol'),
              imagePullPolicy: 'IfNotPresent',
              volumeMounts: [{mountPath: '/host/driver', name: 'flexvol-driver-host'}],
              securityContext: {privileged: true},
            },
            {
              name: 'install-cni',
              image: img('cni'),
              imagePullPolicy: 'IfNotPresent',
              command: ['/opt/cni/bin/install'],
              env: [
                {name: 'CNI_CONF_NAME', value: '10-calico.conflist'},
                {name: 'SLEEP', value: 'false'},
                {name: 'CNI_NET_DIR', value: '/etc/cni/net.d'},
              ],
              volumeMounts: [
                {mountPath: '/host/opt/cni/bin', name: 'cni-bin-dir'},
                {mountPath: '/host/etc/cni/net.d', name: 'cni-net-dir'},
              ],
              securityContext: {privileged: true},
            },
            {
              name: 'ebpf-bootstrap',
              image: img('node'),
              imagePullPolicy: 'IfNotPresent',
              command: ['calico-node', '-init', '-best-effort'],
              volumeMounts: [
                {mountPath: '/sys/fs', mountPropagation: 'Bidirectional', name: 'sys-fs'},
                {mountPath: '/var/run/calico', mountPropagation: 'Bidirectional', name: 'var-run-calico'},
                {mountPath: '/nodeproc', name: 'nodeproc', readOnly: true},
              ],
              securityContext: {privileged: true},
            },
          ],
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          nodeSelector: {'kubernetes.io/os': 'linux'},
          priorityClassName: 'system-node-critical',
          serviceAccountName: 'calico-node',
          serviceAccount: 'calico-node',
          terminationGracePeriodSeconds: 5,
          tolerations: [
            {key: 'CriticalAddonsOnly', operator: 'Exists'},
            {effect: 'NoSchedule', operator: 'Exists'},
            {effect: 'NoExecute', operator: 'Exists'},
          ],
          volumes: [
            hp('lib-modules', '/lib/modules', ''),
            hp('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
            hp('policysync', '/var/run/nodeagent'),
            {name: 'tigera-ca-bundle', configMap: {defaultMode: 420, name: 'tigera-ca-bundle'}},
            {name: 'node-certs', secret: {defaultMode: 420, secretName: 'node-certs'}},
            hp('var-run-calico', '/var/run/calico'),
            hp('var-lib-calico', '/var/lib/calico'),
            hp('cni-bin-dir', '/opt/cni/bin'),
            hp('cni-net-dir', '/etc/cni/net.d'),
            hp('cni-log-dir', '/var/log/calico/cni'),
            hp('flexvol-driver-host', '/usr/libexec/kubernetes/kubelet-plugins/volume/exec/nodeagent~uds'),
            hp('bpffs', '/sys/fs/bpf', 'Directory'),
            hp('sys-fs', '/sys/fs/'),
            hp('nodeproc', '/proc', ''),
          ],
        },
      },
      updateStrategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}, type: 'RollingUpdate'},
    },
  }
}

function operatorDeployment(
  name: string,
  image: string,
  replicas: number,
  extra: {hostNetwork?: boolean; env?: object[]} = {},
): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: 'calico-system',
      labels: {'app.kubernetes.io/name': name, 'k8s-app': name},
      ownerReferences: [
        {
          apiVersion: 'operator.tigera.io/v1',
          kind: 'Installation',
          name: 'default',
          uid: hex('installation', 36),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas,
      revisionHistoryLimit: 10,
      selector: {matchLabels: {'k8s-app': name}},
      strategy: {rollingUpdate: {maxSurge: '25%', maxUnavailable: '25%'}, type: 'RollingUpdate'},
      template: {
        metadata: {labels: {'app.kubernetes.io/name': name, 'k8s-app': name}},
        spec: {
          containers: [{name, image, imagePullPolicy: 'IfNotPresent', env: extra.env ?? []}],
          ...(extra.hostNetwork ? {hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet'} : {}),
          nodeSelector: {'kubernetes.io/os': 'linux'},
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: name,
          tolerations: [
            {key: 'CriticalAddonsOnly', operator: 'Exists'},
            {effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane'},
          ],
        },
      },
    },
  }
}

/** The operator's default-filled Installation spec (what `kubectl get installation default -o yaml` shows). */
function defaultedInstallationSpec(spec: any): any {
  const cn = spec.calicoNetwork ?? {}
  return {
    ...spec,
    calicoNetwork: {
      bgp: 'Enabled',
      hostPorts: 'Enabled',
      linuxDataplane: 'Iptables',
      linuxPolicySetupTimeoutSeconds: 0,
      multiInterfaceMode: 'None',
      nodeAddressAutodetectionV4: {firstFound: true},
      windowsDataplane: 'Disabled',
      ...cn,
      ipPools: (cn.ipPools ?? []).map((p: any) => ({
        allowedUses: ['Workload', 'Tunnel'],
        assignmentMode: 'Automatic',
        blockSize: 26,
        disableBGPExport: false,
        disableNewAllocations: false,
        natOutgoing: 'Enabled',
        nodeSelector: 'all()',
        ...p,
      })),
    },
    cni: {ipam: {type: 'Calico'}, type: 'Calico'},
    controlPlaneReplicas: 2,
    flexVolumePath: '/usr/libexec/kubernetes/kubelet-plugins/volume/exec/',
    kubeletVolumePluginPath: '/var/lib/kubelet',
    logging: {cni: {logFileMaxAgeDays: 30, logFileMaxCount: 10, logFileMaxSize: '100Mi', logSeverity: 'Info'}},
    nodeUpdateStrategy: {rollingUpdate: {maxUnavailable: 1}, type: 'RollingUpdate'},
    nonPrivileged: 'Disabled',
    variant: 'Calico',
  }
}

function encapToModes(encap: string): {ipipMode: string; vxlanMode: string} {
  switch (encap) {
    case 'IPIP':
      return {ipipMode: 'Always', vxlanMode: 'Never'}
    case 'IPIPCrossSubnet':
      return {ipipMode: 'CrossSubnet', vxlanMode: 'Never'}
    case 'VXLAN':
      return {ipipMode: 'Never', vxlanMode: 'Always'}
    case 'VXLANCrossSubnet':
      return {ipipMode: 'Never', vxlanMode: 'CrossSubnet'}
    default:
      return {ipipMode: 'Never', vxlanMode: 'Never'}
  }
}

/**
 * An operator install: Calico CRDs + Installation CRD (+ a synthetic TigeraStatus CRD), tigera-operator.yaml (Namespace,
 * RBAC, Deployment), Installation default (defaulted as the operator writes it back), calico-system with calico-node,
 * calico-typha and calico-kube-controllers, ClusterInformation/FelixConfiguration default and the IPPools.
 */
export function seedOperatorInstall(store: FakeStore, opts: OperatorInstallOptions = {}): void {
  const version = opts.calicoVersion ?? 'v3.32.1'
  const crs = loadYaml(opts.installation === 'bpf' ? CUSTOM_RESOURCES_BPF_YAML : CUSTOM_RESOURCES_YAML)
  const installation = crs.find((o: any) => o.kind === 'Installation') as any
  installation.spec = defaultedInstallationSpec({
    ...installation.spec,
    calicoNetwork: {...installation.spec.calicoNetwork, ...opts.calicoNetwork},
  })
  const bpf = installation.spec.calicoNetwork.linuxDataplane === 'BPF'
  installation.status = {
    calicoVersion: version,
    variant: 'Calico',
    mtu: 1450,
    computed: structuredClone(installation.spec),
  }
  const nodes = opts.nodeCount ?? store.list('v1', 'Node').length
  const typhaReplicas = Math.max(1, nodes <= 200 ? Math.min(3, nodes) : Math.min(20, Math.ceil(nodes / 200) + 2))
  const pools = (installation.spec.calicoNetwork.ipPools ?? []).map((p: any) => ({
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'IPPool',
    metadata: {name: p.name, labels: {'app.kubernetes.io/managed-by': 'tigera-operator'}},
    spec: {
      cidr: p.cidr,
      blockSize: p.blockSize,
      ...encapToModes(p.encapsulation),
      natOutgoing: p.natOutgoing === 'Enabled',
      nodeSelector: p.nodeSelector,
      allowedUses: p.allowedUses,
      assignmentMode: p.assignmentMode,
    },
  }))
  // Render calico-node as the operator would for this Installation (see operator.ts).
  const calicoNode = retag(operatorCalicoNode(version), version)
  const cn = installation.spec.calicoNetwork
  const bootstrapInit = calicoNode.spec.template.spec.initContainers.find((c: any) => c.name === 'ebpf-bootstrap')
  if (bpf) bootstrapInit.command = ['calico-node', '-init']
  if (bpf && cn.bpfNetworkBootstrap === 'Enabled') {
    const svc = store.get('v1', 'Service', 'kubernetes', 'default')
    const slices = store
      .list('discovery.k8s.io/v1', 'EndpointSlice', 'default')
      .filter((e: any) => e.metadata.labels?.['kubernetes.io/service-name'] === 'kubernetes')
    const eps = slices.flatMap((sl: any) =>
      (sl.endpoints ?? []).flatMap((e: any) =>
        (e.addresses ?? []).map((a: string) => `${a}:${sl.ports?.[0]?.port ?? 6443}`),
      ),
    )
    bootstrapInit.env = [
      {
        name: 'KUBERNETES_SERVICE_IPS_PORTS',
        value: `${svc?.spec?.clusterIP ?? '10.96.0.1'}:${svc?.spec?.ports?.[0]?.port ?? 443}`,
      },
      {name: 'KUBERNETES_APISERVER_ENDPOINTS', value: eps.length ? eps.join(',') : '172.18.0.2:6443'},
    ]
  }
  const extra: object[] = []
  const kubeProxy = store.get('apps/v1', 'DaemonSet', 'kube-proxy', 'kube-system')
  if (bpf && cn.kubeProxyManagement === 'Enabled' && kubeProxy) {
    kubeProxy.spec.template.spec.nodeSelector = {
      ...kubeProxy.spec.template.spec.nodeSelector,
      'operator.tigera.io/disable-kube-proxy': 'true',
    }
    extra.push(kubeProxy)
  }
  const objects: object[] = [
    ...extra,
    ...calicoCrds(),
    ...loadYaml(INSTALLATION_CRD_YAML),
    ...((opts.tigeraStatus ?? true) ? loadYaml(TIGERASTATUS_CRD_YAML) : []),
    ...loadYaml(TIGERA_OPERATOR_YAML),
    installation,
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'calico-system',
        labels: {
          name: 'calico-system',
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    },
    ...['calico-node', 'calico-typha', 'calico-kube-controllers'].map((name) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {name, namespace: 'calico-system'},
    })),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {name: 'tigera-ca-bundle', namespace: 'calico-system'},
      data: {'tigera-ca-bundle.crt': '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n'},
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {name: 'calico-typha', namespace: 'calico-system', labels: {'k8s-app': 'calico-typha'}},
      spec: {
        clusterIP: '10.96.100.100',
        ports: [{name: 'calico-typha', port: 5473, protocol: 'TCP', targetPort: 'calico-typha'}],
        selector: {'k8s-app': 'calico-typha'},
        type: 'ClusterIP',
      },
    },
    calicoNode,
    operatorDeployment('calico-typha', `quay.io/calico/typha:${version}`, typhaReplicas, {hostNetwork: true}),
    operatorDeployment('calico-kube-controllers', `quay.io/calico/kube-controllers:${version}`, 1, {
      env: [
        {name: 'DATASTORE_TYPE', value: 'kubernetes'},
        {name: 'ENABLED_CONTROLLERS', value: 'node,loadbalancer'},
      ],
    }),
    {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'ClusterInformation',
      metadata: {name: 'default'},
      spec: {
        calicoVersion: version,
        clusterGUID: clusterGUID('operator'),
        clusterType: 'k8s,operator,bgp',
        datastoreReady: true,
      },
    },
    felixDefault(
      {'operator.tigera.io/bpfEnabled': String(bpf)},
      {bpfEnabled: bpf, healthPort: 9099, nftablesMode: bpf ? 'Enabled' : 'Disabled', vxlanPort: 4789, vxlanVNI: 4096},
    ),
    ...pools,
  ]
  if (opts.tigeraStatus ?? true) {
    const ts = '2026-11-01T10:05:00Z'
    objects.push({
      apiVersion: 'operator.tigera.io/v1',
      kind: 'TigeraStatus',
      metadata: {name: 'calico'},
      spec: {},
      status: {
        conditions: [
          {
            type: 'Available',
            status: 'True',
            reason: 'AllObjectsAvailable',
            message: 'All Objects Available',
            lastTransitionTime: ts,
            observedGeneration: 1,
          },
          {
            type: 'Progressing',
            status: 'False',
            reason: 'AllObjectsAvailable',
            message: 'All Objects Available',
            lastTransitionTime: ts,
            observedGeneration: 1,
          },
          {
            type: 'Degraded',
            status: 'False',
            reason: 'AllObjectsAvailable',
            message: 'All Objects Available',
            lastTransitionTime: ts,
            observedGeneration: 1,
          },
        ],
      },
    })
  }
  store.seed(objects)
}

/**
 * A manifest install from the real calico.yaml (everything in kube-system: calico-node DaemonSet,
 * calico-kube-controllers, CRDs, calico-config, RBAC), plus what calico-node creates at start-up: ClusterInformation
 * default (k8s,bgp,kubeadm), FelixConfiguration default and the default IPPool 192.168.0.0/16 with ipipMode Always.
 */
export function seedManifestInstall(store: FakeStore, opts: CalicoOptions = {}): void {
  const version = opts.calicoVersion ?? 'v3.32.1'
  const objects = loadYaml(CALICO_YAML).map((o) => retag(o, version))
  objects.push(
    {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'ClusterInformation',
      metadata: {name: 'default'},
      spec: {
        calicoVersion: version,
        clusterGUID: clusterGUID('manifest'),
        clusterType: 'k8s,bgp,kubeadm',
        datastoreReady: true,
      },
    },
    felixDefault(),
    {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'IPPool',
      metadata: {name: 'default-ipv4-ippool'},
      spec: {
        allowedUses: ['Workload', 'Tunnel'],
        assignmentMode: 'Automatic',
        blockSize: 26,
        cidr: '192.168.0.0/16',
        ipipMode: 'Always',
        natOutgoing: true,
        nodeSelector: 'all()',
        vxlanMode: 'Never',
      },
    },
    {
      apiVersion: 'crd.projectcalico.org/v1',
      kind: 'KubeControllersConfiguration',
      metadata: {name: 'default'},
      spec: {
        controllers: {
          namespace: {reconcilerPeriod: '5m'},
          node: {leakGracePeriod: '15m', reconcilerPeriod: '5m', syncLabels: 'Enabled'},
          policy: {reconcilerPeriod: '5m'},
          serviceAccount: {reconcilerPeriod: '5m'},
          workloadEndpoint: {reconcilerPeriod: '5m'},
        },
        etcdV3CompactionPeriod: '10m',
        healthChecks: 'Enabled',
        logSeverityScreen: 'Info',
      },
    },
  )
  store.seed(objects)
}
