/**
 * Calico's Maglev lookup table (`cali_v4_mglv2`, v3.32+): per service id, ordinal → backend. Sources:
 * `nat maglev` text (`svc %d ordinal %d -> host:port`, v3.32.1+), `nat maglev --json`
 * (`[{svc_id, ordinal, addr, port}]`), or the pinned map (key {svc_id u32 LE, ordinal u32 LE}, value = a NAT backend).
 */
import type {Endpoint} from './model.js'
import {extractJsonList} from './agent-json.js'
import {forEachLine, LineAccounting, parseHostPort} from './agent-lines.js'

export interface MaglevEntry {
  serviceId: number
  ordinal: number
  backend: Endpoint
}

export const MAGLEV_MAPS = ['cali_v4_mglv2'] as const

export interface MaglevParse {
  entries: MaglevEntry[]
  /** Lines (or JSON elements) that were not an entry, up to 20, each at most 200 characters. */
  unknown: string[]
  /** Recognised non-data lines (`Using config file:`, prompts, echoed commands, info/warn log lines). */
  noise: number
  /** Error-level log lines, `Error:` lines, or why a JSON document could not be read. */
  errors: string[]
}

const MAX_UNKNOWN = 20

/** `nat maglev` text: `svc %d ordinal %d -> host:port` lines; noise around them is counted, errors collected. */
export function parseMaglevText(text: string): MaglevParse {
  const entries: MaglevEntry[] = []
  const unknown: string[] = []
  const acc = new LineAccounting(0)
  forEachLine(text, (raw, cutOff) => {
    const line = raw.trim()
    const m = /^svc (\d+) ordinal (\d+) -> (\S+)$/.exec(line)
    const be = m ? parseHostPort(m[3]!) : undefined
    if (m && be) {
      entries.push({serviceId: Number(m[1]), ordinal: Number(m[2]), backend: be})
      return
    }
    const before = acc.unknownLines + (acc.truncatedLastLine ? 1 : 0)
    acc.other(raw, cutOff)
    if (acc.unknownLines + (acc.truncatedLastLine ? 1 : 0) > before && unknown.length < MAX_UNKNOWN) unknown.push(line.slice(0, 200))
  })
  return {entries, unknown, noise: acc.noiseLines, errors: acc.errors}
}

/**
 * `nat maglev --json`: `[{svc_id, ordinal, addr, port}]`, or `null` for an empty map. Lines around the document are
 * skipped and accounted for; output without a readable document is reported in `errors`, never thrown.
 */
export function parseMaglevJson(text: string): MaglevParse {
  const {items, acc} = extractJsonList(text, 'nat maglev')
  const entries: MaglevEntry[] = []
  const unknown: string[] = []
  for (const e of items as Record<string, unknown>[]) {
    if (typeof e?.svc_id === 'number' && typeof e.ordinal === 'number' && typeof e.addr === 'string' && typeof e.port === 'number') {
      entries.push({serviceId: e.svc_id, ordinal: e.ordinal, backend: {ip: e.addr, port: e.port}})
    } else if (unknown.length < MAX_UNKNOWN) unknown.push(String(JSON.stringify(e)).slice(0, 200))
  }
  return {entries, unknown, noise: acc.noiseLines, errors: acc.errors}
}
