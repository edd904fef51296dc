import {isIP} from 'node:net'

import {parse as parseYaml} from 'yaml'

import {parseHostPort} from '../host-port.js'
import {type ClusterState, type InstallInfo, SERVICES_ENDPOINT_CONFIGMAP} from './cluster.js'

export interface ApiEndpoint {
  host: string
  port: number
}

export type EndpointSource = 'configmap' | 'bootstrap' | 'endpointslice' | 'kube-proxy-kubeconfig' | 'kubeconfig'

export interface EndpointCandidate extends ApiEndpoint {
  source: Exclude<EndpointSource, 'configmap' | 'bootstrap'>
  why: string
}

export interface EndpointProblem {
  severity: 'warn' | 'fail'
  summary: string
  remedy: string
}

export interface ApiEndpointAssessment {
  /** How calico-node reaches the API server today in BPF mode (or would). */
  configured?: {source: 'configmap'; namespace: string; endpoint?: ApiEndpoint} | {source: 'bootstrap'}
  /** The address enable would write when nothing is configured, best first. */
  candidates: EndpointCandidate[]
  problems: EndpointProblem[]
}

/** `host:port` or `[v6]:port` with a port from 1 to 65535 (an address calico-node can be given), else undefined. */
export function parseApiEndpoint(text: string): ApiEndpoint | undefined {
  const {host, port} = parseHostPort(text.trim())
  if (!host || port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) return undefined
  return {host, port}
}

function fromUrl(url: string): ApiEndpoint | undefined {
  try {
    const u = new URL(url)
    const port = u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : 443
    return {host: u.hostname.replace(/^\[|\]$/g, ''), port}
  } catch {
    return undefined
  }
}

const isLoopback = (host: string) => host === 'localhost' || host.startsWith('127.') || host === '::1'

function serviceClusterIPs(state: ClusterState): string[] {
  const spec = state.kubernetesService?.spec
  return [...(spec?.clusterIPs ?? []), ...(spec?.clusterIP ? [spec.clusterIP] : [])]
}

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i

/**
 * Why text is not a hostname or IP address calico-node could dial (spaces, control characters, the unspecified
 * address, a malformed name), or undefined when it is one. Used for --api-server and the services-endpoint ConfigMap
 * alike, since both end up in every calico-node's environment.
 */
export function hostProblem(host: string): string | undefined {
  if (host === '') return 'the host is empty'
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001F\u007F-\u009F]/.test(host)) return `${JSON.stringify(host)} contains a space or a control character`
  const ip = isIP(host)
  if (ip === 4) {
    if (host === '0.0.0.0') return '0.0.0.0 is the unspecified address, not an address a node can connect to'
    if (host === '255.255.255.255') return '255.255.255.255 is the broadcast address'
    return undefined
  }
  if (ip === 6) {
    if (/^(0*:)*:?0*$/.test(host)) return `${host} is the unspecified address, not an address a node can connect to`
    return undefined
  }
  if (/^[\d.]+$/.test(host)) return `${JSON.stringify(host)} is not a valid IPv4 address`
  const name = host.endsWith('.') ? host.slice(0, -1) : host
  if (name.length > 253 || !name.split('.').every((l) => HOST_LABEL.test(l))) {
    return `${JSON.stringify(host)} is not a valid hostname or IP address`
  }
  return undefined
}

/** Why an address is unusable as calico-node's direct API address, or undefined when it is fine. */
export function unusableReason(state: ClusterState, endpoint: ApiEndpoint): string | undefined {
  const bad = hostProblem(endpoint.host)
  if (bad) return bad
  if (isLoopback(endpoint.host)) return `${endpoint.host} is a loopback address, which only works on the control-plane node`
  if (serviceClusterIPs(state).includes(endpoint.host)) {
    return `${endpoint.host} is the ClusterIP of the kubernetes Service, which needs kube-proxy or BPF to be running already`
  }
  return undefined
}

export function assessApiEndpoint(
  state: ClusterState,
  install: InstallInfo,
  kubeconfigServer: string,
): ApiEndpointAssessment {
  const problems: EndpointProblem[] = []
  const wantedNs = install.endpointConfigMapNamespace
  const configMaps = state.servicesEndpointConfigMaps
  const inPlace = configMaps.find((cm) => cm.metadata.namespace === wantedNs)
  const misplaced = configMaps.filter((cm) => cm.metadata.namespace !== wantedNs)
  for (const cm of misplaced) {
    if (install.type === 'operator' && cm.metadata.namespace === 'kube-system') continue // the operator migrates it
    problems.push({
      severity: inPlace ? 'warn' : 'fail',
      summary: `ConfigMap ${SERVICES_ENDPOINT_CONFIGMAP} is in namespace "${cm.metadata.namespace}", where Calico does not read it`,
      remedy: wantedNs
        ? `Create it in namespace "${wantedNs}" (${install.type} install), e.g. with ebpfctl enable.`
        : 'Install Calico first.',
    })
  }
  const bootstrap = state.installation?.spec?.calicoNetwork?.bpfNetworkBootstrap === 'Enabled'
  let configured: ApiEndpointAssessment['configured']
  if (inPlace) {
    const host = inPlace.data?.KUBERNETES_SERVICE_HOST?.trim()
    const portText = inPlace.data?.KUBERNETES_SERVICE_PORT?.trim()
    const where = `${wantedNs}/${SERVICES_ENDPOINT_CONFIGMAP}`
    let endpoint: ApiEndpoint | undefined
    if (!host || !portText) {
      problems.push({
        severity: 'fail',
        summary: `ConfigMap ${where} lacks ${!host ? 'KUBERNETES_SERVICE_HOST' : 'KUBERNETES_SERVICE_PORT'}`,
        remedy: 'Set both KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (the operator ignores the ConfigMap otherwise).',
      })
    } else if (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      problems.push({
        severity: 'fail',
        summary: `ConfigMap ${where} has a non-numeric KUBERNETES_SERVICE_PORT "${portText}"`,
        remedy: 'Set KUBERNETES_SERVICE_PORT to the API server port number, e.g. 6443.',
      })
    } else {
      endpoint = {host, port: Number(portText)}
      const reason = unusableReason(state, endpoint)
      if (reason) {
        problems.push({
          severity: 'fail',
          summary: `ConfigMap ${where} points at ${host}:${portText}: ${reason}`,
          remedy: 'Use the address of a load balancer in front of the API servers, or of a single API server (not the ClusterIP).',
        })
      }
    }
    configured = {source: 'configmap', namespace: wantedNs!, endpoint}
    if (bootstrap) {
      problems.push({
        severity: 'fail',
        summary: `bpfNetworkBootstrap is Enabled and ConfigMap ${where} exists: the operator refuses both`,
        remedy: `Delete the ConfigMap (kubectl delete configmap -n ${wantedNs} ${SERVICES_ENDPOINT_CONFIGMAP}) or set bpfNetworkBootstrap: Disabled.`,
      })
    }
  } else if (bootstrap) {
    configured = {source: 'bootstrap'}
  }

  const candidates: EndpointCandidate[] = []
  const sliceEndpoints = state.kubernetesEndpointSlices.flatMap((slice) => {
    const port = slice.ports?.find((p) => p.name === 'https')?.port ?? slice.ports?.[0]?.port
    return (slice.endpoints ?? []).flatMap((e) => e.addresses.map((address) => ({address, port})))
  })
  const kubeProxyServer = kubeProxyKubeconfigServer(state)
  const kubeconfigEndpoint = fromUrl(kubeconfigServer)
  if (kubeProxyServer) {
    const ep = fromUrl(kubeProxyServer)
    if (ep && !unusableReason(state, ep)) {
      candidates.push({...ep, source: 'kube-proxy-kubeconfig', why: 'the server in the kube-proxy ConfigMap kubeconfig'})
    }
  }
  if (sliceEndpoints.length === 1 && sliceEndpoints[0]!.port) {
    const {address, port} = sliceEndpoints[0]!
    candidates.push({host: address, port: port!, source: 'endpointslice', why: 'the single endpoint of default/kubernetes'})
  }
  if (kubeconfigEndpoint && !unusableReason(state, kubeconfigEndpoint) && isIP(kubeconfigEndpoint.host) !== 0) {
    candidates.push({...kubeconfigEndpoint, source: 'kubeconfig', why: "the current kubeconfig's server"})
  } else if (kubeconfigEndpoint && !unusableReason(state, kubeconfigEndpoint)) {
    candidates.push({...kubeconfigEndpoint, source: 'kubeconfig', why: "the current kubeconfig's server (a DNS name)"})
  }
  // Several API servers and no load-balancer address: any one we pick is a single point of failure.
  const viaLoadBalancer = candidates.some(
    (c) => c.source !== 'endpointslice' && !sliceEndpoints.some((e) => e.address === c.host),
  )
  if (!configured && sliceEndpoints.length > 1 && !viaLoadBalancer) {
    problems.push({
      severity: 'warn',
      summary: `${sliceEndpoints.length} API servers (${sliceEndpoints.map((e) => e.address).join(', ')}) and no load-balancer address found`,
      remedy: 'Pass --api-server HOST:PORT with a load balancer or VIP in front of all API servers; one server is a single point of failure.',
    })
    if (candidates.length === 0 && sliceEndpoints[0]?.port) {
      candidates.push({
        host: sliceEndpoints[0].address,
        port: sliceEndpoints[0].port,
        source: 'endpointslice',
        why: 'the first of several endpoints of default/kubernetes',
      })
    }
  }
  return {configured, candidates: dedupe(candidates), problems}
}

function dedupe(candidates: EndpointCandidate[]): EndpointCandidate[] {
  const seen = new Set<string>()
  return candidates.filter((c) => {
    const key = `${c.host}:${c.port}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

export function kubeProxyKubeconfigServer(state: ClusterState): string | undefined {
  const text = state.kubeProxyConfigMap?.data?.['kubeconfig.conf'] ?? state.kubeProxyConfigMap?.data?.kubeconfig
  if (!text) return undefined
  try {
    const doc = parseYaml(text) as {clusters?: {cluster?: {server?: string}}[]}
    return doc.clusters?.[0]?.cluster?.server
  } catch {
    return text.match(/server:\s*(\S+)/)?.[1]
  }
}

/** kube-proxy's mode from its KubeProxyConfiguration ('' means the default, iptables). */
export function kubeProxyMode(state: ClusterState): string | undefined {
  const text = state.kubeProxyConfigMap?.data?.['config.conf']
  if (text === undefined) return undefined
  try {
    const doc = parseYaml(text) as {mode?: string}
    return doc?.mode ?? ''
  } catch {
    return text.match(/^mode:\s*"?([a-z]*)"?/m)?.[1] ?? ''
  }
}
