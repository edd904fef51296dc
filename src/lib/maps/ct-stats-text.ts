/** Parser for the text output of `calico-node -bpf conntrack stats` (v3.30+). */
import type {ParseResult} from './model.js'
import {forEachLine, LineAccounting} from './agent-lines.js'

export interface AgentConntrackStats {
  mapSize: number
  totalConnections: number
  totalEntries: number
  natConnections: number
  tcp: number
  udp: number
  others: number
  tcpEstablished: number
  tcpClosed: number
  tcpReset: number
  tcpSynSent: number
}

const STATS_LINES: Record<string, keyof AgentConntrackStats> = {
  'Conntrack map size': 'mapSize',
  'Total connections': 'totalConnections',
  'Total entries': 'totalEntries',
  'NAT connections': 'natConnections',
  TCP: 'tcp',
  UDP: 'udp',
  Others: 'others',
  'TCP Established': 'tcpEstablished',
  'TCP Closed': 'tcpClosed',
  'TCP Reset': 'tcpReset',
  'TCP Syn-sent': 'tcpSynSent',
}

/** Parses `conntrack stats` text (§1.11); undefined fields were not printed. */
export function parseConntrackStatsText(text: string): ParseResult<Partial<AgentConntrackStats>> {
  const acc = new LineAccounting()
  const stats: Partial<AgentConntrackStats> = {}
  forEachLine(text, (line, cutOff) => {
    // `Label: N` split at the colon, not one regex: `\s*([A-Za-z -]+?)\s*:` backtracked cubically on long runs of
    // spaces (8 s for a 64 KiB line).
    const colon = line.indexOf(':')
    const key = colon > 0 ? STATS_LINES[line.slice(0, colon).trim()] : undefined
    const value = colon > 0 ? line.slice(colon + 1).trim() : ''
    if (key && /^\d+$/.test(value)) stats[key] = Number(value)
    else acc.other(line, cutOff)
  })
  return acc.result(Object.keys(stats).length > 0 ? [stats] : [])
}
