/**
 * `ebpfctl nat aff` and `nat maglev`: the NAT affinity table (clients pinned to a backend by sessionAffinity) and the
 * Maglev lookup table, per node, joined to Services and pods as `nat dump` joins frontends.
 */
import {decodeNatAffinity, decodeNatBackend, type JoinedBackend, joinFrontends, type NatAffinityEntry, type NatFrontend, parseNatAffinityJson, parseNatAffinityText, type ServiceRef} from '../maps/index.js'
import {MAGLEV_MAPS, type MaglevEntry, parseMaglevJson, parseMaglevText} from '../maps/maglev.js'
import {runOnNodes} from '../nodes/fanout.js'
import type {NodeRunner, NodeTarget} from '../nodes/types.js'
import {errorOf, listServices} from './nat-dump.js'
import {type DataplaneReadOptions, DataplaneReadError, type ReadSource, limits, noJsonIn, notActive, readNat, runAgent, withFallback} from './read-maps.js'
import type {DumpSession} from './dump-session.js'
import {dumpFirstPinned} from './small-maps.js'
import {nodeIps} from './targets.js'

const notUnderstood = (node: string, what: string, sample?: string) =>
  new DataplaneReadError(node, 'not-understood', `the Calico BPF tool's ${what} output was not understood${sample ? `: ${JSON.stringify(sample.slice(0, 120))}` : ''}`, 'Read the map directly with --source bpftool.')

export async function readAffinity(runner: NodeRunner, node: NodeTarget, opts: DataplaneReadOptions): Promise<{source: ReadSource; entries: NatAffinityEntry[]}> {
  return withFallback<{source: ReadSource; entries: NatAffinityEntry[]}>(
    opts,
    async () => {
      const ran = await runAgent(runner, node, ['nat', 'aff'], opts)
      const json = ran.json && !noJsonIn(ran.stdout)
      const parsed = json ? parseNatAffinityJson(ran.stdout) : parseNatAffinityText(ran.stdout)
      if (parsed.entries.length === 0 && (parsed.unknownLines > 0 || parsed.errors.length > 0)) throw notUnderstood(node.name, 'nat aff', parsed.samples[0] ?? parsed.errors[0])
      return {source: json ? 'agent-json' : 'agent-text', entries: parsed.entries}
    },
    async () => {
      const dump = await dumpFirstPinned(runner, node, ['cali_v4_nat_aff'], {timeoutMs: opts.timeoutMs, maxBytes: limits(opts).whole})
      if (!dump) throw notActive(node.name, 'no cali_v4_nat_aff map is pinned')
      return {source: 'bpftool', entries: dump.entries.flatMap((e) => (e.value ? [decodeNatAffinity(e.key, e.value)] : []))}
    },
  )
}

export async function readMaglev(runner: NodeRunner, node: NodeTarget, opts: DataplaneReadOptions): Promise<{source: ReadSource; entries: MaglevEntry[]}> {
  return withFallback<{source: ReadSource; entries: MaglevEntry[]}>(
    opts,
    async () => {
      const ran = await runAgent(runner, node, ['nat', 'maglev'], opts)
      const json = ran.json && !noJsonIn(ran.stdout)
      const parsed = json ? parseMaglevJson(ran.stdout) : parseMaglevText(ran.stdout)
      const notRead = parsed.unknown[0] ?? parsed.errors[0]
      if (parsed.entries.length === 0 && notRead !== undefined) throw notUnderstood(node.name, 'nat maglev', notRead)
      return {source: json ? 'agent-json' : 'agent-text', entries: parsed.entries}
    },
    async () => {
      const dump = await dumpFirstPinned(runner, node, MAGLEV_MAPS, {timeoutMs: opts.timeoutMs, maxBytes: limits(opts).whole})
      if (!dump) throw notActive(node.name, 'no cali_v4_mglv2 map is pinned (Maglev needs Calico v3.32+)')
      return {
        source: 'bpftool',
        entries: dump.entries.flatMap((e) => {
          if (!e.value) return []
          const b = decodeNatBackend(e.key, e.value)
          return [{serviceId: b.serviceId, ordinal: b.ordinal, backend: {ip: b.ip, port: b.port}}]
        }),
      }
    },
  )
}

type NodeError = {reason: string; message: string; remedy?: string}

export interface JoinedAffinity extends NatAffinityEntry {
  service?: ServiceRef
  /** The backend's pod (EndpointSlices), when known. */
  pod?: string
}

export interface NatAffReport {
  apiVersion: 'ebpfctl/v1'
  kind: 'NatAffinity'
  nodes: {node: string; source?: ReadSource; entries: JoinedAffinity[]; error?: NodeError}[]
}

export async function natAffReport(session: DumpSession, opts: {concurrency: number; service?: {namespace: string; name: string}}): Promise<NatAffReport> {
  const {services, slices} = await listServices(session.kube)
  const outcomes = await runOnNodes(session.targets, (n) => readAffinity(session.runner, n, session.read), {
    concurrency: opts.concurrency,
    perNodeTimeoutMs: session.read.timeoutMs,
  })
  const nodes = outcomes.map((o) => {
    if (!o.ok) return {node: o.node.name, entries: [], error: errorOf(o.error)}
    // The same join as nat dump: each entry as a one-backend frontend.
    const asFrontends: NatFrontend[] = o.value.entries.map((e) => ({...e.frontend, serviceId: 0, count: 1, localCount: 0, flags: [], backends: [{ordinal: 0, ...e.backend}]}))
    const joined = joinFrontends(asFrontends, {services, endpointSlices: slices, nodeIps: nodeIps(o.node)})
    const entries: JoinedAffinity[] = o.value.entries.map((e, i) => {
      const fe = joined[i]
      const be = fe?.backends[0] as JoinedBackend | undefined
      return {...e, ...(fe?.service ? {service: fe.service} : {}), ...(be?.pod ? {pod: be.pod} : {})}
    })
    const svc = opts.service
    const wanted = svc ? entries.filter((e) => e.service?.namespace === svc.namespace && e.service?.name === svc.name) : entries
    return {node: o.node.name, source: o.value.source, entries: wanted}
  })
  return {apiVersion: 'ebpfctl/v1', kind: 'NatAffinity', nodes}
}

export interface MaglevService {
  serviceId: number
  service?: ServiceRef
  /** Lookup-table slots of this service. */
  slots: number
  /** Backends with their share of the slots, most slots first. */
  backends: {ip: string; port: number; pod?: string; slots: number}[]
}

export interface NatMaglevReport {
  apiVersion: 'ebpfctl/v1'
  kind: 'NatMaglev'
  nodes: {node: string; source?: ReadSource; services: MaglevService[]; error?: NodeError}[]
}

/** Maglev table per service id, joined to the Service through the NAT frontends that carry that id on the node. */
export async function natMaglevReport(session: DumpSession, opts: {concurrency: number; service?: {namespace: string; name: string}}): Promise<NatMaglevReport> {
  const {services, slices} = await listServices(session.kube)
  const outcomes = await runOnNodes(
    session.targets,
    async (n) => {
      const mg = await readMaglev(session.runner, n, session.read)
      const nat = await readNat(session.runner, n, session.read).catch(() => undefined)
      return {mg, frontends: nat?.frontends ?? []}
    },
    {concurrency: opts.concurrency, perNodeTimeoutMs: session.read.timeoutMs},
  )
  const nodes = outcomes.map((o) => {
    if (!o.ok) return {node: o.node.name, services: [], error: errorOf(o.error)}
    const joined = joinFrontends(o.value.frontends, {services, endpointSlices: slices, nodeIps: nodeIps(o.node)})
    const refById = new Map<number, ServiceRef>()
    const podOf = new Map<string, string>()
    for (const fe of joined) {
      if (fe.service && !refById.has(fe.serviceId)) refById.set(fe.serviceId, fe.service)
      for (const b of fe.backends) if (b.pod) podOf.set(`${b.ip}:${b.port}`, b.pod)
    }
    const byId = new Map<number, MaglevEntry[]>()
    for (const e of o.value.mg.entries) byId.set(e.serviceId, [...(byId.get(e.serviceId) ?? []), e])
    let list: MaglevService[] = [...byId].sort((a, b) => a[0] - b[0]).map(([serviceId, entries]) => {
      const count = new Map<string, {ip: string; port: number; slots: number}>()
      for (const e of entries) {
        const k = `${e.backend.ip}:${e.backend.port}`
        const c = count.get(k) ?? {ip: e.backend.ip, port: e.backend.port, slots: 0}
        c.slots++
        count.set(k, c)
      }
      const backends = [...count.entries()]
        .map(([k, c]) => ({...c, ...(podOf.has(k) ? {pod: podOf.get(k)} : {})}))
        .sort((a, b) => b.slots - a.slots || `${a.ip}:${a.port}`.localeCompare(`${b.ip}:${b.port}`))
      const service = refById.get(serviceId)
      return {serviceId, ...(service ? {service} : {}), slots: entries.length, backends}
    })
    const svc = opts.service
    if (svc) list = list.filter((s) => s.service?.namespace === svc.namespace && s.service?.name === svc.name)
    return {node: o.node.name, source: o.value.mg.source, services: list}
  })
  return {apiVersion: 'ebpfctl/v1', kind: 'NatMaglev', nodes}
}
