import type {KubeClient} from '../kube/client.js'
import type {EndpointSliceObject, ServiceObject} from '../kube/objects.js'
import {
  type DriftFinding,
  type JoinedFrontend,
  type K8sEndpointSlice,
  type K8sService,
  type NatFrontend,
  detectDrift,
  joinFrontends,
} from '../maps/index.js'
import {type NodeTarget, NodeAccessError} from '../nodes/types.js'
import {runOnNodes} from '../nodes/fanout.js'
import {type EntryFilter, frontendMatches} from './dump-filter.js'
import {type DumpSession} from './dump-session.js'
import {DataplaneReadError, type ReadSource, readNat} from './read-maps.js'
import {nodeIps} from './targets.js'

export interface NodeNatResult {
  node: string
  source?: ReadSource
  frontends: JoinedFrontend[]
  unknownLines?: number
  warnings: string[]
  error?: {reason: string; message: string; remedy?: string}
}

export interface NatDumpReport {
  apiVersion: 'ebpfctl/v1'
  kind: 'NatDump'
  nodes: NodeNatResult[]
  drift?: DriftFinding[]
}

export function errorOf(err: unknown): {reason: string; message: string; remedy?: string} {
  // Fan-out wraps everything in a NodeAccessError; the dataplane's own diagnosis is the useful part.
  if (err instanceof NodeAccessError && err.cause instanceof DataplaneReadError) err = err.cause
  if (err instanceof NodeAccessError || err instanceof DataplaneReadError) {
    return {reason: err.reason, message: err.message, remedy: err.remedy}
  }
  return {reason: 'other', message: err instanceof Error ? err.message : String(err)}
}

export async function listServices(kube: KubeClient | undefined): Promise<{services: K8sService[]; slices: K8sEndpointSlice[]}> {
  if (!kube) return {services: [], slices: []}
  const {Resources} = await import('../kube/resources.js')
  const [services, slices] = await Promise.all([
    kube.list<ServiceObject>(Resources.services),
    kube.list<EndpointSliceObject>(Resources.endpointSlices),
  ])
  return {services, slices}
}

/** Reads every target's NAT maps, joins them to Services and EndpointSlices, and optionally detects drift. */
export async function natDump(
  session: DumpSession,
  opts: {filter: EntryFilter; service?: {namespace: string; name: string}; checkDrift: boolean; concurrency: number},
): Promise<NatDumpReport> {
  const {services, slices} = await listServices(session.kube)
  const outcomes = await runOnNodes(session.targets, (node: NodeTarget) => readNat(session.runner, node, session.read), {
    concurrency: opts.concurrency,
    perNodeTimeoutMs: session.read.timeoutMs,
  })
  const raw = new Map<string, NatFrontend[]>()
  const nodes: NodeNatResult[] = outcomes.map((o) => {
    if (!o.ok) return {node: o.node.name, frontends: [], warnings: [], error: errorOf(o.error)}
    raw.set(o.node.name, o.value.frontends)
    const joined = joinFrontends(o.value.frontends, {services, endpointSlices: slices, nodeIps: nodeIps(o.node)})
    const wanted = joined.filter(
      (fe) =>
        frontendMatches(fe, opts.filter) &&
        (!opts.service || (fe.service?.namespace === opts.service.namespace && fe.service?.name === opts.service.name)),
    )
    return {node: o.node.name, source: o.value.source, frontends: wanted, unknownLines: o.value.unknownLines, warnings: o.value.warnings}
  })
  const report: NatDumpReport = {apiVersion: 'ebpfctl/v1', kind: 'NatDump', nodes}
  if (opts.checkDrift) {
    const drift = detectDrift({
      nodes: session.targets
        .filter((t) => raw.has(t.name))
        .map((t) => ({node: t.name, frontends: raw.get(t.name)!, nodeIps: nodeIps(t)})),
      services: session.kube ? services : undefined,
      endpointSlices: session.kube ? slices : undefined,
    })
    // --service limits drift to that Service's ports (refs are NAMESPACE/NAME:PORT), like the listing.
    const svc = opts.service
    report.drift = svc ? drift.filter((d) => d.service?.startsWith(`${svc.namespace}/${svc.name}:`)) : drift
  }
  return report
}
