/**
 * Calico's per-interface packet counters (felix/bpf/counters): accepted / dropped / redirected, per drop reason and
 * hook. Three sources, one model (`IfaceCounters`):
 * - `counters dump --json` (v3.32+, backported to v3.31.5): one JSON document per interface, concatenated;
 * - `counters dump` text: one table per interface, captioned `dumped <iface> counters.`;
 * - the pinned `cali_counters<N>` map (percpu_hash): key {ifindex u32 LE, hook u32 LE (0 ingress, 1 egress, 2 xdp)},
 *   value per CPU = one u64 LE per counter, indexed as in bpf-gpl/reasons.h; summed over CPUs.
 */
import {forEachLine, LineAccounting} from './agent-lines.js'

/** Counter index → (category, type) as Calico prints them (felix/bpf/counters/counters.go, HEAD; indexes only grow). */
export const COUNTER_DESCRIPTIONS: ReadonlyArray<readonly [string, string]> = [
  ['Total', 'packets'],
  ['Accepted', 'by failsafe'],
  ['Accepted', 'by policy'],
  ['Accepted', 'by another program'],
  ['Dropped', 'by policy'],
  ['Dropped', 'too short packets'],
  ['Dropped', 'incorrect checksum'],
  ['Dropped', 'packets with unsupported IP options'],
  ['Dropped', 'malformed IP packets'],
  ['Dropped', 'failed encapsulation'],
  ['Dropped', 'failed decapsulation'],
  ['Dropped', 'packets with unknown source'],
  ['Dropped', 'packets with unknown route'],
  ['Dropped', 'packets hitting blackhole route'],
  ['Other', 'packets hitting NAT source collision'],
  ['Dropped', 'NAT source collision resolution failed'],
  ['Dropped', 'failed to create conntrack'],
  ['Redirect', 'plain'],
  ['Redirect', 'neigh'],
  ['Redirect', 'peer'],
  ['Dropped', 'fragment of yet incomplete packet'],
  ['Dropped', 'fragment out of order within host'],
  ['Dropped', 'fragments not supported'],
  ['Dropped', 'QoS control limit'],
  ['Reserved', 'reserved'],
  ['Dropped', 'Maglev lookup found no backends for service IP'],
  ['Dropped', 'VXLAN encap when host IP unknown'],
]

/** The pinned map names, newest first. */
export const COUNTERS_MAPS = ['cali_counters6', 'cali_counters5', 'cali_counters4', 'cali_counters3', 'cali_counters2'] as const

export type Hook = 'ingress' | 'egress' | 'xdp'
const HOOKS: Hook[] = ['ingress', 'egress', 'xdp']

export interface CounterRow {
  category: string
  type: string
  ingress?: number
  egress?: number
  xdp?: number
}

export interface IfaceCounters {
  interface: string
  counters: CounterRow[]
}

/** Per-CPU values of one map entry summed: counter index → packets. */
export function sumPerCpu(values: Uint8Array[]): number[] {
  const n = Math.floor((values[0]?.length ?? 0) / 8)
  const out = new Array<number>(n).fill(0)
  for (const v of values) {
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength)
    for (let i = 0; i < n && i * 8 + 8 <= v.length; i++) out[i]! += Number(dv.getBigUint64(i * 8, true))
  }
  return out
}

/** Map entries (key bytes + per-CPU values) grouped per interface; names from ifindex (the ifstate map), else `if<N>`. */
export function countersFromMap(
  entries: {key: Uint8Array; values: Uint8Array[]}[],
  nameOf: (ifindex: number) => string | undefined,
): IfaceCounters[] {
  const byIface = new Map<number, Partial<Record<Hook, number[]>>>()
  for (const e of entries) {
    if (e.key.length < 8) continue
    const kv = new DataView(e.key.buffer, e.key.byteOffset, e.key.byteLength)
    const ifindex = kv.getUint32(0, true)
    const hook = HOOKS[kv.getUint32(4, true)]
    if (!hook) continue
    const cur = byIface.get(ifindex) ?? {}
    cur[hook] = sumPerCpu(e.values)
    byIface.set(ifindex, cur)
  }
  return [...byIface]
    .sort((a, b) => a[0] - b[0])
    .map(([ifindex, hooks]) => {
      const n = Math.max(...HOOKS.map((h) => hooks[h]?.length ?? 0))
      const counters: CounterRow[] = []
      for (let i = 0; i < n; i++) {
        const [category, type] = COUNTER_DESCRIPTIONS[i] ?? ['Unknown', `counter ${i}`]
        const row: CounterRow = {category, type}
        for (const h of HOOKS) if (hooks[h]) row[h] = hooks[h]![i] ?? 0
        counters.push(row)
      }
      return {interface: nameOf(ifindex) ?? `if${ifindex}`, counters}
    })
}

/** `counters dump --json`: concatenated (indented) JSON documents, one per interface. */
export function parseCountersJson(text: string): {interfaces: IfaceCounters[]; unknown: number} {
  const interfaces: IfaceCounters[] = []
  let unknown = 0
  let depth = 0
  let start = -1
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') inString = true
    else if (c === '{' || c === '[') {
      if (depth++ === 0) start = i
    } else if ((c === '}' || c === ']') && depth > 0 && --depth === 0) {
      try {
        const doc = JSON.parse(text.slice(start, i + 1)) as {interface?: unknown; counters?: unknown}
        if (typeof doc?.interface === 'string' && Array.isArray(doc.counters)) {
          const counters = (doc.counters as Record<string, unknown>[]).filter((r) => typeof r?.category === 'string').map((r) => {
            const row: CounterRow = {category: String(r.category), type: String(r.type ?? '')}
            for (const h of HOOKS) if (typeof r[h] === 'number') row[h] = r[h] as number
            return row
          })
          interfaces.push({interface: doc.interface, counters})
        } else unknown++
      } catch {
        unknown++
      }
    }
  }
  return {interfaces, unknown}
}

/** What the text parser read, and what it did not. */
export interface CountersTextParse {
  interfaces: IfaceCounters[]
  /** Lines that were neither a table line, a caption nor recognised noise (rows of a table without its caption count). */
  unknown: number
  /** Recognised non-data lines: shell prompts, echoed commands, kubectl messages, log lines. */
  noise: number
  /** Error-level log lines and `Error:` lines, trimmed. */
  errors: string[]
  /** Up to 5 of the unknown lines. */
  samples: string[]
  /** The output ended in the middle of a line (no final newline, and the line was not complete). */
  truncatedLastLine: boolean
}

/**
 * `counters dump` text: a table per interface (`| CATEGORY | TYPE | INGRESS | EGRESS | XDP |`; v3.24 has no XDP column),
 * the category merged down its rows, then the caption `dumped <iface> counters.`. Every release up to v3.32.x renders it
 * with olekukonko/tablewriter, which wraps a TYPE longer than 30 columns onto a row of its own; v3.33 renders it with
 * go-pretty (felix/cmd/calico-bpf/commands/counters.go). `N/A` is a hook without counters. Prompts, echoed commands and
 * log lines around the tables are counted as noise.
 */
export function parseCountersText(text: string): CountersTextParse {
  const acc = new LineAccounting()
  const interfaces: IfaceCounters[] = []
  let rows: CounterRow[] = []
  let category = ''
  // The hook of each count column, from the header: v3.24 printed INGRESS and EGRESS only, later releases add XDP.
  let hookColumns: (Hook | undefined)[] = HOOKS
  forEachLine(text, (raw, cutOff) => {
    const line = raw.trim()
    // Borders (`+----+----+`).
    if (/^[+\-=|\s]+$/.test(line)) return
    const caption = /^\|?\s*dumped (.+) counters\.\s*\|?$/.exec(line)
    if (caption) {
      interfaces.push({interface: caption[1]!, counters: rows})
      rows = []
      category = ''
      return
    }
    if (line.startsWith('|')) {
      const cells = line.split('|').slice(1, -1).map((c) => c.trim())
      if (cells[0] === 'CATEGORY') {
        hookColumns = cells.slice(2).map((c) => HOOKS.find((h) => h === c.toLowerCase()))
        return
      }
      if (cells.length < 2 + hookColumns.length) {
        acc.other(raw, cutOff)
        return
      }
      // tablewriter wraps a TYPE longer than 30 columns (real output: `packets hitting blackhole` /
      // `route`): the continuation row has no category and no counts, and belongs to the row above.
      const prev = rows.at(-1)
      if (prev && !cells[0] && cells.slice(2).every((c) => c === '') && cells[1]) {
        prev.type = `${prev.type} ${cells[1]}`
        return
      }
      if (cells[0]) category = cells[0]
      const row: CounterRow = {category, type: cells[1]!}
      hookColumns.forEach((h, i) => {
        const v = cells[2 + i]!
        if (h && /^\d+$/.test(v)) row[h] = Number(v)
      })
      rows.push(row)
      return
    }
    acc.other(raw, cutOff)
  })
  // Rows of a table whose caption never came (a cut-off output) name no interface: counted, not invented.
  const r = acc.result(interfaces)
  return {
    interfaces,
    unknown: r.unknownLines + rows.length,
    noise: r.noiseLines,
    errors: r.errors,
    samples: r.samples,
    truncatedLastLine: r.truncatedLastLine,
  }
}

export interface DropReason {
  reason: string
  packets: number
  /** Interfaces and hooks with these drops, largest first (at most 5). */
  top: {interface: string; hook: Hook; packets: number}[]
}

export interface CountersSummary {
  packets: number
  accepted: number
  dropped: number
  redirected: number
  /** Drop reasons with packets, largest first. */
  drops: DropReason[]
}

/** Totals and drops by reason (summed over interfaces and hooks), top offenders first. */
export function summarizeCounters(ifaces: IfaceCounters[]): CountersSummary {
  const sum = {packets: 0, accepted: 0, dropped: 0, redirected: 0}
  const drops = new Map<string, DropReason>()
  for (const iface of ifaces) {
    for (const row of iface.counters) {
      for (const hook of HOOKS) {
        const n = row[hook]
        if (!n) continue
        if (row.category === 'Total') sum.packets += n
        else if (row.category === 'Accepted') sum.accepted += n
        else if (row.category === 'Redirect') sum.redirected += n
        else if (row.category === 'Dropped') {
          sum.dropped += n
          const d = drops.get(row.type) ?? {reason: row.type, packets: 0, top: []}
          d.packets += n
          d.top.push({interface: iface.interface, hook, packets: n})
          drops.set(row.type, d)
        }
      }
    }
  }
  const list = [...drops.values()].sort((a, b) => b.packets - a.packets || a.reason.localeCompare(b.reason))
  for (const d of list) d.top = d.top.sort((a, b) => b.packets - a.packets).slice(0, 5)
  return {...sum, drops: list}
}
