/**
 * Pure functions joining NAT map contents to Kubernetes objects, and drift detection
 * (peers.md §4 #9: projectcalico/calico#13279, #8650).
 *
 * - Frontends → Service ports: ClusterIP/ClusterIPs, LoadBalancer ingress IPs and externalIPs by (ip, port, proto);
 *   NodePorts by (nodePort, proto) on `255.255.255.255` (Calico's wildcard) or a node IP; anything else that shares a
 *   `serviceId` with a matched frontend inherits its Service (`via: 'service-id'`).
 * - Backends → pods via EndpointSlices (`kubernetes.io/service-name` label, port by name, addresses + targetRef).
 */
import type {EndpointSliceObject, ServiceObject} from '../kube/objects.js'
import {
  endpointString,
  frontendKey,
  type DriftFinding,
  type DriftKind,
  type IpProto,
  type JoinedBackend,
  type JoinedFrontend,
  type NatFrontend,
  type ServiceRef,
} from './model.js'

/** The Service and EndpointSlice fields used (plain JSON as the API returns it). */
export type K8sService = Pick<ServiceObject, 'metadata' | 'spec' | 'status'>
export type K8sEndpointSlice = Pick<EndpointSliceObject, 'metadata' | 'addressType' | 'endpoints' | 'ports'>

export interface JoinInput {
  services: K8sService[]
  endpointSlices?: K8sEndpointSlice[]
  /** IPs of the node the dump came from (NodePort frontends `<node IP>:<nodePort>`); if absent any IP matches. */
  nodeIps?: string[]
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name'

function k8sProto(p: string | undefined | null): IpProto {
  const s = (p ?? 'TCP').toUpperCase()
  return s === 'UDP' ? 'udp' : s === 'SCTP' ? 'sctp' : 'tcp'
}

interface EndpointInfo {
  pod?: string
  nodeName?: string
  ready: boolean
  serving: boolean
  terminating: boolean
}

/** Indexes built once per join. */
class Index {
  readonly byVip = new Map<string, ServiceRef>()
  readonly byNodePort = new Map<string, ServiceRef>()
  /** `ns/name:portName/proto` → `ip:port` → endpoint. */
  readonly endpoints = new Map<string, Map<string, EndpointInfo>>()
  readonly servicePorts: {ref: ServiceRef; clusterIps: string[]}[] = []

  constructor(input: JoinInput) {
    for (const svc of input.services) {
      const ns = svc.metadata.namespace ?? 'default'
      const name = svc.metadata.name
      const spec = svc.spec ?? {}
      if (spec.type === 'ExternalName') continue
      const clusterIps = (
        spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP ?? '']
      ).filter((ip) => ip && ip !== 'None')
      const lbIps = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip)
      const extIps = spec.externalIPs ?? []
      for (const p of spec.ports ?? []) {
        const proto = k8sProto(p.protocol)
        const portName = p.name ?? ''
        const base = {namespace: ns, name, portName, port: p.port, proto, ref: `${ns}/${name}:${portName || p.port}`}
        const add = (ip: string, port: number, via: ServiceRef['via'], map = this.byVip) => {
          const k = `${ip}|${port}|${proto}`
          if (!map.has(k)) map.set(k, {...base, via})
        }
        for (const ip of clusterIps) add(ip, p.port, 'cluster-ip')
        for (const ip of lbIps) add(ip, p.port, 'load-balancer')
        for (const ip of extIps) add(ip, p.port, 'external-ip')
        if (p.nodePort) this.byNodePort.set(`${p.nodePort}|${proto}`, {...base, via: 'node-port'})
        this.servicePorts.push({ref: {...base, via: 'cluster-ip'}, clusterIps})
      }
    }
    for (const slice of input.endpointSlices ?? []) {
      const svcName = slice.metadata.labels?.[SERVICE_NAME_LABEL]
      if (!svcName) continue
      const ns = slice.metadata.namespace ?? 'default'
      for (const sp of slice.ports ?? []) {
        if (sp.port === null || sp.port === undefined) continue
        const key = `${ns}/${svcName}:${sp.name ?? ''}/${k8sProto(sp.protocol)}`
        let m = this.endpoints.get(key)
        if (!m) this.endpoints.set(key, (m = new Map()))
        for (const ep of slice.endpoints ?? []) {
          const c = ep.conditions ?? {}
          const info: EndpointInfo = {
            ready: c.ready !== false,
            serving: c.serving ?? c.ready !== false,
            terminating: c.terminating === true,
          }
          if (ep.targetRef?.name) info.pod = `${ep.targetRef.namespace ?? ns}/${ep.targetRef.name}`
          if (ep.nodeName) info.nodeName = ep.nodeName
          for (const addr of ep.addresses) m.set(endpointString({ip: addr, port: sp.port}), info)
        }
      }
    }
  }

  endpointsOf(ref: ServiceRef): Map<string, EndpointInfo> | undefined {
    return this.endpoints.get(`${ref.namespace}/${ref.name}:${ref.portName}/${ref.proto}`)
  }

  /** Backends Calico should program: ready endpoints; if none, serving (terminating) ones. */
  expectedOf(ref: ServiceRef): string[] | undefined {
    const m = this.endpointsOf(ref)
    if (!m) return undefined
    let out = [...m].filter(([, i]) => i.ready).map(([k]) => k)
    if (out.length === 0) out = [...m].filter(([, i]) => i.serving).map(([k]) => k)
    return out.sort()
  }
}

function matchFrontends(frontends: NatFrontend[], index: Index, nodeIps?: string[]): (ServiceRef | undefined)[] {
  const nodeIpSet = nodeIps ? new Set(nodeIps) : undefined
  const refs = frontends.map((fe): ServiceRef | undefined => {
    const vip = index.byVip.get(`${fe.ip}|${fe.port}|${fe.proto}`)
    if (vip) return vip
    const np = index.byNodePort.get(`${fe.port}|${fe.proto}`)
    if (np && (fe.ip === '255.255.255.255' || !nodeIpSet || nodeIpSet.has(fe.ip))) return np
    return undefined
  })
  const byId = new Map<number, ServiceRef>()
  refs.forEach((r, i) => {
    if (r && !byId.has(frontends[i]!.serviceId)) byId.set(frontends[i]!.serviceId, r)
  })
  return refs.map((r, i) => {
    if (r) return r
    const inherited = byId.get(frontends[i]!.serviceId)
    return inherited ? {...inherited, via: 'service-id' as const} : undefined
  })
}

/** Joins each frontend to its Service port and each backend to its pod. Order and fields of the input are kept. */
export function joinFrontends(frontends: NatFrontend[], input: JoinInput): JoinedFrontend[] {
  const index = new Index(input)
  const refs = matchFrontends(frontends, index, input.nodeIps)
  return frontends.map((fe, i) => {
    const ref = refs[i]
    const eps = ref ? index.endpointsOf(ref) : undefined
    const backends = fe.backends.map((be): JoinedBackend => {
      const info = eps?.get(endpointString(be))
      const out: JoinedBackend = {...be}
      if (info) {
        if (info.pod) out.pod = info.pod
        if (info.nodeName) out.nodeName = info.nodeName
        out.ready = info.ready
        out.serving = info.serving
        out.terminating = info.terminating
      }
      return out
    })
    const joined: JoinedFrontend = {...fe, backends}
    if (ref) joined.service = ref
    return joined
  })
}

/** One node's NAT dump. */
export interface NodeNatDump {
  node: string
  frontends: NatFrontend[]
  /** IPs of this node (for NodePort matching). */
  nodeIps?: string[]
  /** false when the dump is partial (grep'ed, filtered): missing-service findings are then not reported. Default true. */
  complete?: boolean
}

export interface DriftInput {
  nodes: NodeNatDump[]
  services?: K8sService[]
  endpointSlices?: K8sEndpointSlice[]
  /** Also check that every Service's ClusterIP has a frontend (default true). */
  checkMissingServices?: boolean
}

const KIND_ORDER: DriftKind[] = [
  'node-disagreement',
  'stale-backend',
  'missing-backend',
  'backend-hole',
  'missing-service',
  'unexpected-frontend',
]

const backendSet = (fe: NatFrontend): string[] => fe.backends.map((b) => endpointString(b)).sort()

/**
 * Drift findings, sorted by kind, then frontend, then node:
 * - per node against EndpointSlices: stale-backend, missing-backend (for frontends whose Service has EndpointSlices),
 *   backend-hole (`is missing` ordinals), missing-service (a ClusterIP port with ready endpoints and no frontend; only
 *   for complete dumps), unexpected-frontend (matches no Service; only when Services were given);
 * - across nodes: node-disagreement (same frontend key, different backend sets).
 * Truncated frontends (cut-off text) and blackhole entries are not compared.
 */
export function detectDrift(input: DriftInput): DriftFinding[] {
  const findings: DriftFinding[] = []
  const haveServices = input.services !== undefined
  const index = haveServices
    ? new Index({services: input.services ?? [], endpointSlices: input.endpointSlices})
    : undefined
  for (const dump of input.nodes) {
    const refs = index ? matchFrontends(dump.frontends, index, dump.nodeIps) : dump.frontends.map(() => undefined)
    const present = new Set<string>()
    dump.frontends.forEach((fe, i) => {
      const key = frontendKey(fe)
      present.add(`${fe.ip}|${fe.port}|${fe.proto}`)
      const ref = refs[i]
      if (fe.missingOrdinals && fe.missingOrdinals.length > 0) {
        findings.push({
          kind: 'backend-hole',
          frontend: key,
          ...(ref ? {service: ref.ref} : {}),
          node: dump.node,
          backends: fe.missingOrdinals.map((o) => `${fe.serviceId}:${o}`),
          message: `${key} on ${dump.node}: ${fe.missingOrdinals.length} of ${fe.count} backend ordinals have no backend entry`,
        })
      }
      if (!index) return
      if (!ref) {
        findings.push({
          kind: 'unexpected-frontend',
          frontend: key,
          node: dump.node,
          actual: backendSet(fe),
          message: `${key} (id ${fe.serviceId}) on ${dump.node} matches no Service`,
        })
        return
      }
      if (fe.truncated || fe.blackhole || fe.count === 0) return
      const expected = index.expectedOf(ref)
      if (!expected) return
      const actual = backendSet(fe)
      const exp = new Set(expected)
      const act = new Set(actual)
      const stale = actual.filter((b) => !exp.has(b))
      const missing = expected.filter((b) => !act.has(b))
      if (stale.length > 0) {
        findings.push({
          kind: 'stale-backend',
          frontend: key,
          service: ref.ref,
          node: dump.node,
          expected,
          actual,
          backends: stale,
          message: `${key} (${ref.ref}) on ${dump.node} has backends not in its EndpointSlices: ${stale.join(', ')}`,
        })
      }
      if (missing.length > 0) {
        findings.push({
          kind: 'missing-backend',
          frontend: key,
          service: ref.ref,
          node: dump.node,
          expected,
          actual,
          backends: missing,
          message: `${key} (${ref.ref}) on ${dump.node} lacks endpoints: ${missing.join(', ')}`,
        })
      }
    })
    if (index && dump.complete !== false && input.checkMissingServices !== false) {
      const v6 = dump.frontends.some((fe) => fe.ip.includes(':'))
      const v4 = dump.frontends.some((fe) => !fe.ip.includes(':'))
      for (const {ref, clusterIps} of index.servicePorts) {
        const expected = index.expectedOf(ref)
        if (!expected || expected.length === 0) continue
        for (const ip of clusterIps) {
          const fam6 = ip.includes(':')
          if ((fam6 && !v6) || (!fam6 && !v4)) continue
          if (present.has(`${ip}|${ref.port}|${ref.proto}`)) continue
          findings.push({
            kind: 'missing-service',
            frontend: frontendKey({ip, port: ref.port, proto: ref.proto}),
            service: ref.ref,
            node: dump.node,
            expected,
            message: `${ref.ref} (${frontendKey({ip, port: ref.port, proto: ref.proto})}) has no frontend on ${dump.node}`,
          })
        }
      }
    }
  }
  findings.push(...compareNodes(input.nodes, index))
  const order = (k: DriftKind) => KIND_ORDER.indexOf(k)
  return findings.sort(
    (x, y) =>
      order(x.kind) - order(y.kind) ||
      (x.frontend < y.frontend ? -1 : x.frontend > y.frontend ? 1 : 0) ||
      ((x.node ?? '') < (y.node ?? '') ? -1 : (x.node ?? '') > (y.node ?? '') ? 1 : 0),
  )
}

/** Cross-node comparison only: the same frontend key with different backend sets. */
export function compareNodes(nodes: NodeNatDump[], index?: unknown): DriftFinding[] {
  const idx = index instanceof Index ? index : undefined
  const byKey = new Map<string, {fe: NatFrontend; node: string; nodeIps?: string[]}[]>()
  for (const dump of nodes) {
    for (const fe of dump.frontends) {
      if (fe.truncated || fe.blackhole) continue
      const key = frontendKey(fe)
      let list = byKey.get(key)
      if (!list) byKey.set(key, (list = []))
      list.push({fe, node: dump.node, nodeIps: dump.nodeIps})
    }
  }
  const out: DriftFinding[] = []
  for (const [key, list] of byKey) {
    if (list.length < 2) continue
    const byNode: Record<string, string[]> = {}
    for (const {fe, node} of list) byNode[node] = backendSet(fe)
    const sets = new Set(Object.values(byNode).map((s) => s.join(',')))
    if (sets.size <= 1) continue
    const nodesInvolved = list.map((l) => l.node).sort()
    let service: string | undefined
    if (idx) service = matchFrontends([list[0]!.fe], idx, list[0]!.nodeIps)[0]?.ref
    out.push({
      kind: 'node-disagreement',
      frontend: key,
      ...(service ? {service} : {}),
      nodes: nodesInvolved,
      byNode,
      message: `${key} has different backends on ${nodesInvolved.join(', ')}`,
    })
  }
  return out
}
