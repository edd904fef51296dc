/**
 * Parsers for the text output of `calico-node -bpf nat dump` and `nat aff`, every version (calico-bpf.md §1.2–§1.4,
 * §1.8). Tolerant: unknown lines are counted, never fatal.
 */
import {protoFromNumber, type NatAffinityEntry, type NatFrontend, type ParseResult} from './model.js'
import {forEachLine, goDurationToNs, LineAccounting, parseHostPort} from './agent-lines.js'

// ---------------------------------------------------------------------------------------------------------------
// nat dump

const FE_LINE =
  /^\s*(\S+) +port +(\d+) +proto +(\d+) +id +(\d+) +count +(-?\d+) +local +(\d+)(?: +flags +(.*?))?(?: +src +(\S+))?\s*$/
const BE_LINE = /^\s*(\d+):(\d+)\s+(.*?)\s*$/
const BLACKHOLE_U32 = 4294967295

export interface NatTextOptions {
  /**
   * `--group-by-service` output prints several frontend lines, then their shared backends once. `'auto'` (default)
   * attaches backends to every consecutive frontend with the same id that has no backends yet; `false` attaches them
   * to the last frontend only.
   */
  grouped?: boolean | 'auto'
}

/** Splits the `flags` text (`external-local, internal-local`; v3.26.0–4 print stray `, `) into names. */
function splitNatFlags(text: string | undefined): string[] {
  if (!text) return []
  const out: string[] = []
  for (const part of text.split(',')) {
    const name = part.trim()
    if (name) out.push(name)
  }
  return out
}

function finishFrontend(fe: NatFrontend, seen: number): void {
  if (fe.count > 0 && seen < fe.count && !fe.blackhole) fe.truncated = true
  fe.backends.sort((x, y) => x.ordinal - y.ordinal)
  if (fe.missingOrdinals) fe.missingOrdinals.sort((x, y) => x - y)
}

/**
 * Parses `nat dump` text (flat or `--group-by-service`) of any version into frontends with their backends,
 * in input order.
 */
export function parseNatDumpText(text: string, opts: NatTextOptions = {}): ParseResult<NatFrontend> {
  const grouped = opts.grouped ?? 'auto'
  const acc = new LineAccounting()
  const entries: NatFrontend[] = []
  // The frontends the next backend lines belong to (one, or a --group-by-service group), and lines seen for them.
  let group: NatFrontend[] = []
  let groupSeen = 0
  let groupHasBackends = false

  const closeGroup = () => {
    for (const fe of group) finishFrontend(fe, groupSeen)
    group = []
    groupSeen = 0
    groupHasBackends = false
  }

  forEachLine(text, (line, cutOff) => {
    let m = FE_LINE.exec(line)
    if (m) {
      const rawCount = Number(m[5])
      const blackhole = rawCount === -1 || rawCount === BLACKHOLE_U32
      const fe: NatFrontend = {
        ip: m[1]!,
        port: Number(m[2]),
        proto: protoFromNumber(Number(m[3])),
        serviceId: Number(m[4]),
        count: blackhole ? -1 : rawCount,
        localCount: Number(m[6]),
        flags: splitNatFlags(m[7]),
        backends: [],
      }
      if (m[8]) fe.srcRange = m[8]
      if (blackhole) fe.blackhole = true
      const joinGroup =
        grouped !== false && group.length > 0 && !groupHasBackends && group[0]!.serviceId === fe.serviceId
      if (!joinGroup) closeGroup()
      group.push(fe)
      entries.push(fe)
      return
    }
    m = BE_LINE.exec(line)
    if (m) {
      const id = Number(m[1])
      const ordinal = Number(m[2])
      const payload = m[3]!
      const owner = group.length > 0 && group[0]!.serviceId === id ? group : undefined
      if (payload === 'is missing') {
        if (!owner) {
          acc.errors.push(`backend line without its frontend: ${line.trim()}`)
          return
        }
        if (owner[0]!.blackhole) {
          // ≤ v3.26 prints ~4.29e9 "is missing" lines after a blackhole frontend; they carry nothing.
          acc.noiseLines++
          return
        }
        for (const fe of owner) {
          fe.missingBackends = (fe.missingBackends ?? 0) + 1
          ;(fe.missingOrdinals ??= []).push(ordinal)
        }
        groupSeen++
        groupHasBackends = true
        return
      }
      const ep = parseHostPort(payload)
      if (ep) {
        if (!owner) {
          acc.errors.push(`backend line without its frontend: ${line.trim()}`)
          return
        }
        for (const fe of owner) fe.backends.push({ordinal, ip: ep.ip, port: ep.port})
        groupSeen++
        groupHasBackends = true
        return
      }
    }
    acc.other(line, cutOff)
  })
  closeGroup()
  return acc.result(entries)
}

// ---------------------------------------------------------------------------------------------------------------
// nat aff

const AFF_OLD =
  /AffinityKey\{ClientIP:(\S+) FrontEndAffinityKey\{Proto:(\d+) Addr:(\S+) Port:(\d+)\}\}\s+AffinityValue\{Timestamp:(\d+),\s*Backend:NATBackendValue\{Addr:(\S+) Port:(\d+)\}\}/g
const AFF_NEW = /^\s*client (\S+) svc proto (\d+) (\S+) -> (\S+) ts (\S+)\s*$/

/** Parses `nat aff` text: v3.23–v3.31.6 `AffinityKey{…} AffinityValue{…}` (v3.23 without newlines) and v3.31.7+ `client …`. */
export function parseNatAffinityText(text: string): ParseResult<NatAffinityEntry> {
  const acc = new LineAccounting()
  const entries: NatAffinityEntry[] = []
  forEachLine(text, (line, cutOff) => {
    let found = false
    if (line.includes('AffinityKey{')) {
      for (const m of line.matchAll(AFF_OLD)) {
        found = true
        entries.push({
          clientIp: m[1]!,
          frontend: {ip: m[3]!, port: Number(m[4]), proto: protoFromNumber(Number(m[2]))},
          backend: {ip: m[6]!, port: Number(m[7])},
          timestampNs: m[5]!,
        })
      }
      if (found) return
    }
    const m = AFF_NEW.exec(line)
    if (m) {
      const fe = parseHostPort(m[3]!)
      const be = parseHostPort(m[4]!)
      if (fe && be) {
        const entry: NatAffinityEntry = {
          clientIp: m[1]!,
          frontend: {ip: fe.ip, port: fe.port, proto: protoFromNumber(Number(m[2]))},
          backend: be,
        }
        const ns = goDurationToNs(m[5]!)
        if (ns !== undefined) entry.timestampNs = ns
        entries.push(entry)
        return
      }
    }
    acc.other(line, cutOff)
  })
  return acc.result(entries)
}
