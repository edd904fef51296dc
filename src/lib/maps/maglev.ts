/**
 * Calico's Maglev lookup table (`cali_v4_mglv2`, v3.32+): per service id, ordinal → backend. Sources:
 * `nat maglev` text (`svc %d ordinal %d -> host:port`, v3.32.1+), `nat maglev --json`
 * (`[{svc_id, ordinal, addr, port}]`), or the pinned map (key {svc_id u32 LE, ordinal u32 LE}, value = a NAT backend).
 */
import type {Endpoint} from './model.js'
import {parseHostPort} from './agent-lines.js'

export interface MaglevEntry {
  serviceId: number
  ordinal: number
  backend: Endpoint
}

export const MAGLEV_MAPS = ['cali_v4_mglv2'] as const

export function parseMaglevText(text: string): {entries: MaglevEntry[]; unknown: string[]} {
  const entries: MaglevEntry[] = []
  const unknown: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line) continue
    const m = /^svc (\d+) ordinal (\d+) -> (\S+)$/.exec(line)
    const be = m ? parseHostPort(m[3]!) : undefined
    if (m && be) entries.push({serviceId: Number(m[1]), ordinal: Number(m[2]), backend: be})
    else unknown.push(line)
  }
  return {entries, unknown}
}

export function parseMaglevJson(text: string): {entries: MaglevEntry[]; unknown: string[]} {
  const doc = JSON.parse(text) as unknown
  if (doc === null) return {entries: [], unknown: []}
  if (!Array.isArray(doc)) throw new Error('nat maglev JSON is not an array')
  const entries: MaglevEntry[] = []
  const unknown: string[] = []
  for (const e of doc as Record<string, unknown>[]) {
    if (typeof e?.svc_id === 'number' && typeof e.ordinal === 'number' && typeof e.addr === 'string' && typeof e.port === 'number') {
      entries.push({serviceId: e.svc_id, ordinal: e.ordinal, backend: {ip: e.addr, port: e.port}})
    } else unknown.push(JSON.stringify(e).slice(0, 200))
  }
  return {entries, unknown}
}
