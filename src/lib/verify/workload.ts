import type {KubeObject} from '../kube/types.js'

/** Everything verify deploys lives here, and the namespace is deleted at the end (unless --keep). */
export const VERIFY_NAMESPACE = 'ebpfctl-verify'
export const VERIFY_APP = 'ebpfctl-verify'
export const LOCAL_SERVICE = 'ebpfctl-verify-local'
export const POLICY_NAME = 'ebpfctl-verify-ipblock'
/** agnhost's netexec: /clientip answers the address the pod saw, /dial probes from inside the cluster. */
export const DEFAULT_IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.53'
export const NETEXEC_PORT = 8080
export const SERVICE_PORT = 80
/** The label that marks the namespace as verify's own: a namespace without it is never deleted. */
export const OWNER_LABEL = 'app.kubernetes.io/managed-by'
export const OWNER_VALUE = 'ebpfctl-verify'

export interface WorkloadOptions {
  image: string
  replicas: number
  /** Also a Service with externalTrafficPolicy: Local. */
  localService: boolean
}

const labels = {app: VERIFY_APP, [OWNER_LABEL]: OWNER_VALUE}

export function namespaceObject(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {name: VERIFY_NAMESPACE, labels: {[OWNER_LABEL]: OWNER_VALUE, 'kubernetes.io/metadata.name': VERIFY_NAMESPACE}},
  }
}

/** agnhost netexec, spread one per node where it can be (hard spread by hostname, preferred anti-affinity). */
export function deploymentObject(opts: WorkloadOptions): KubeObject {
  const selector = {matchLabels: {app: VERIFY_APP}}
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {name: VERIFY_APP, namespace: VERIFY_NAMESPACE, labels},
    spec: {
      replicas: opts.replicas,
      selector,
      template: {
        metadata: {labels},
        spec: {
          topologySpreadConstraints: [
            {maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: selector},
          ],
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {weight: 100, podAffinityTerm: {topologyKey: 'kubernetes.io/hostname', labelSelector: selector}},
              ],
            },
          },
          nodeSelector: {'kubernetes.io/os': 'linux'},
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'netexec',
              image: opts.image,
              args: ['netexec', `--http-port=${NETEXEC_PORT}`],
              ports: [{name: 'http', containerPort: NETEXEC_PORT}],
              readinessProbe: {httpGet: {path: '/hostname', port: NETEXEC_PORT}, periodSeconds: 2},
              resources: {requests: {cpu: '10m', memory: '16Mi'}, limits: {memory: '64Mi'}},
            },
          ],
        },
      },
    },
  }
}

export function serviceObject(name: string, externalTrafficPolicy: 'Cluster' | 'Local'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name, namespace: VERIFY_NAMESPACE, labels},
    spec: {
      type: 'NodePort',
      selector: {app: VERIFY_APP},
      externalTrafficPolicy,
      ports: [{name: 'http', protocol: 'TCP', port: SERVICE_PORT, targetPort: NETEXEC_PORT}],
    },
  }
}

/**
 * The demo's policy: ingress to the echo pods only from `cidr` (this machine's address, /32 or /128). Under kube-proxy
 * the pod sees a node address and this machine is blocked; with the eBPF dataplane it is allowed.
 */
export function policyObject(cidr: string): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {name: POLICY_NAME, namespace: VERIFY_NAMESPACE, labels},
    spec: {
      podSelector: {matchLabels: {app: VERIFY_APP}},
      policyTypes: ['Ingress'],
      ingress: [{from: [{ipBlock: {cidr}}], ports: [{protocol: 'TCP', port: NETEXEC_PORT}]}],
    },
  }
}
