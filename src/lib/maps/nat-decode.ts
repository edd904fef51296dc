/** Decoding Calico's NAT maps (frontends, backends, affinity) from bpftool dumps into the model (calico-bpf.md §2). */
import {natFlagNames, protoFromNumber, type NatAffinityEntry, type NatBackend, type NatFrontend} from './model.js'
import {type ByteSource, type ScanStats, scanBpftoolDump} from './bpftool-scanner.js'
import {ipv4At, ipv6At, u16, u32, u64s} from './map-bytes.js'
import type {MapLayoutId} from './map-layouts.js'

/** Frontend key+value (`nat-fe3`, `nat-fe2`, `nat-fe3-v6`); backends are attached by `assembleNat`. */
export function decodeNatFrontend(key: Uint8Array, value: Uint8Array, layout: MapLayoutId = 'nat-fe3'): NatFrontend {
  const v6 = key.length >= 40 || layout === 'nat-fe3-v6'
  const prefixLen = u32(key, 0)
  const ip = v6 ? ipv6At(key, 4) : ipv4At(key, 4)
  const port = u16(key, v6 ? 20 : 8)
  const proto = key[v6 ? 22 : 10]!
  const srcPrefix = prefixLen - (v6 ? 152 : 56)
  const rawCount = u32(value, 4)
  const blackhole = rawCount === 0xffffffff
  const flagBits = value.length >= 20 ? u32(value, 16) : 0
  const fe: NatFrontend = {
    ip,
    port,
    proto: protoFromNumber(proto),
    serviceId: u32(value, 0),
    count: blackhole ? -1 : rawCount,
    localCount: u32(value, 8),
    flags: natFlagNames(flagBits),
    backends: [],
  }
  if (value.length >= 20) fe.flagBits = flagBits
  if (value.length >= 16) fe.affinityTimeoutSec = u32(value, 12)
  if (srcPrefix > 0) fe.srcRange = `${v6 ? ipv6At(key, 23) : ipv4At(key, 11)}/${srcPrefix}`
  if (blackhole) fe.blackhole = true
  return fe
}

/** Backend key+value → `{serviceId, ordinal, ip, port}`. */
export function decodeNatBackend(key: Uint8Array, value: Uint8Array): NatBackend & {serviceId: number} {
  const v6 = value.length >= 20
  return {
    serviceId: u32(key, 0),
    ordinal: u32(key, 4),
    ip: v6 ? ipv6At(value, 0) : ipv4At(value, 0),
    port: u16(value, v6 ? 16 : 4),
  }
}

/** Affinity key+value (v4 16/16, v6 40/32, §2.5). */
export function decodeNatAffinity(key: Uint8Array, value: Uint8Array): NatAffinityEntry {
  const v6 = key.length >= 40
  if (v6) {
    return {
      clientIp: ipv6At(key, 20),
      frontend: {ip: ipv6At(key, 0), port: u16(key, 16), proto: protoFromNumber(key[18]!)},
      backend: {ip: ipv6At(value, 0), port: u16(value, 16)},
      timestampNs: u64s(value, 24),
    }
  }
  return {
    clientIp: ipv4At(key, 8),
    frontend: {ip: ipv4At(key, 0), port: u16(key, 4), proto: protoFromNumber(key[6]!)},
    backend: {ip: ipv4At(value, 0), port: u16(value, 4)},
    timestampNs: u64s(value, 8),
  }
}

export interface NatAssembly {
  frontends: NatFrontend[]
  /** Backend entries whose (id, ordinal) no frontend references (ordinal ≥ count, or unknown id). */
  orphanBackends: (NatBackend & {serviceId: number})[]
}

/** Attaches backends (ordinal in [0, count)) to frontends; missing ordinals go to `missingOrdinals`. */
export function assembleNat(
  frontends: NatFrontend[],
  backends: Iterable<NatBackend & {serviceId: number}>,
): NatAssembly {
  const byId = new Map<number, Map<number, NatBackend & {serviceId: number}>>()
  for (const be of backends) {
    let m = byId.get(be.serviceId)
    if (!m) byId.set(be.serviceId, (m = new Map()))
    m.set(be.ordinal, be)
  }
  const used = new Set<string>()
  for (const fe of frontends) {
    fe.backends = []
    delete fe.missingBackends
    delete fe.missingOrdinals
    if (fe.blackhole || fe.count <= 0) continue
    const m = byId.get(fe.serviceId)
    for (let o = 0; o < fe.count; o++) {
      const be = m?.get(o)
      if (be) {
        fe.backends.push({ordinal: o, ip: be.ip, port: be.port})
        used.add(`${fe.serviceId}:${o}`)
      } else {
        fe.missingBackends = (fe.missingBackends ?? 0) + 1
        ;(fe.missingOrdinals ??= []).push(o)
      }
    }
  }
  const orphanBackends: (NatBackend & {serviceId: number})[] = []
  for (const [id, m] of byId) for (const [o, be] of m) if (!used.has(`${id}:${o}`)) orphanBackends.push(be)
  orphanBackends.sort((x, y) => x.serviceId - y.serviceId || x.ordinal - y.ordinal)
  return {frontends, orphanBackends}
}

/** Reads a frontend dump and a backend dump (bpftool JSON streams) and assembles them. */
export async function decodeNatDump(input: {
  frontends: ByteSource
  backends: ByteSource
  frontendLayout?: MapLayoutId
}): Promise<NatAssembly & {frontendStats: ScanStats; backendStats: ScanStats}> {
  const fes: NatFrontend[] = []
  const bes: (NatBackend & {serviceId: number})[] = []
  const layout = input.frontendLayout ?? 'nat-fe3'
  const frontendStats = await scanBpftoolDump(input.frontends, (k, v) => fes.push(decodeNatFrontend(k, v, layout)))
  const backendStats = await scanBpftoolDump(input.backends, (k, v) => bes.push(decodeNatBackend(k, v)))
  return {...assembleNat(fes, bes), frontendStats, backendStats}
}

/** Reads an affinity dump stream. */
export async function decodeAffinityDump(input: ByteSource): Promise<{entries: NatAffinityEntry[]; stats: ScanStats}> {
  const entries: NatAffinityEntry[] = []
  const stats = await scanBpftoolDump(input, (k, v) => entries.push(decodeNatAffinity(k, v)))
  return {entries, stats}
}
