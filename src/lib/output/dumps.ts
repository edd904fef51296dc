import type {ConntrackEntry, ConntrackStats, DriftFinding, JoinedFrontend} from '../maps/index.js'
import {paint} from './color.js'
import {renderTable} from './table.js'
import type {ConntrackStatsReport} from '../dataplane/conntrack-stats.js'
import type {CountersReport} from '../dataplane/counters.js'
import type {NatDumpReport} from '../dataplane/nat-dump.js'
import type {NatAffReport, NatMaglevReport} from '../dataplane/nat-tables.js'

const protoName = (p: unknown) => (typeof p === 'number' ? String(p) : String(p).toUpperCase())

function frontendText(fe: JoinedFrontend): string {
  return `${fe.ip}:${fe.port}/${protoName(fe.proto)}${fe.srcRange ? ` src ${fe.srcRange}` : ''}`
}

function backendsText(fe: JoinedFrontend, wide: boolean): string {
  if (fe.blackhole) return paint.warn('blackhole (drop)')
  const list = fe.backends.map((b) => `${b.ip}:${b.port}${wide && b.pod ? ` (${b.pod})` : ''}`)
  const missing = fe.missingBackends ? paint.fail(` ${fe.missingBackends} missing`) : ''
  if (list.length === 0) return paint.dim('none') + missing
  if (!wide && list.length > 3) return `${list.slice(0, 3).join(', ')} +${list.length - 3} more${missing}`
  return list.join(', ') + missing
}

export function renderNatTable(report: NatDumpReport, wide: boolean): string {
  const head = wide ? ['NODE', 'FRONTEND', 'SERVICE', 'VIA', 'ID', 'LOCAL', 'FLAGS', 'BACKENDS'] : ['NODE', 'FRONTEND', 'SERVICE', 'BACKENDS']
  const rows: string[][] = []
  const notes: string[] = []
  for (const n of report.nodes) {
    if (n.error) continue // on stderr (writeNodeErrors), like every command's per-node errors
    const sorted = [...n.frontends].sort((a, b) => (a.service?.ref ?? '~').localeCompare(b.service?.ref ?? '~') || a.ip.localeCompare(b.ip) || a.port - b.port)
    for (const fe of sorted) {
      const service = fe.service?.ref ?? paint.dim('-')
      rows.push(
        wide
          ? [n.node, frontendText(fe), service, fe.service?.via ?? '', String(fe.serviceId), String(fe.localCount), fe.flags.join(',') || '-', backendsText(fe, true)]
          : [n.node, frontendText(fe), service, backendsText(fe, false)],
      )
    }
    if (n.unknownLines) notes.push(`${paint.warn('warn')} ${n.node}: ${n.unknownLines} lines of the agent's output were not understood`)
    for (const w of n.warnings.slice(0, 5)) notes.push(`${paint.warn('warn')} ${n.node}: ${w}`)
  }
  const failed = report.nodes.filter((n) => n.error).length
  const empty = failed === report.nodes.length ? `No NAT map could be read (${failed} node(s) failed).` : 'No NAT entries matched.'
  const parts = [rows.length ? renderTable(head, rows) : empty]
  if (report.drift) parts.push(renderDrift(report.drift))
  if (notes.length) parts.push(notes.join('\n'))
  return parts.join('\n\n')
}

export function renderDrift(drift: DriftFinding[]): string {
  if (drift.length === 0) return `${paint.pass('No drift')}: every node's NAT map agrees with the EndpointSlices and with the other nodes.`
  const rows = drift.map((d) => [d.kind, d.node ?? (d.nodes ?? []).join(','), d.frontend, d.service ?? '-', d.message])
  return `${paint.fail(`Drift found (${drift.length})`)}:\n${renderTable(['KIND', 'NODE', 'FRONTEND', 'SERVICE', 'DETAIL'], rows)}`
}

const ep = (e: {ip: string; port: number}) => `${e.ip}:${e.port}`

/** One conntrack row: fixed-width columns, so millions of entries stream without measuring them first. */
export function conntrackRow(node: string, e: ConntrackEntry, wide: boolean): string {
  const cols = [
    node.padEnd(16),
    protoName(e.proto).padEnd(5),
    ep(e.src).padEnd(21),
    ep(e.dst).padEnd(21),
    e.type.padEnd(11),
    (e.tcpState ?? '-').padEnd(11),
    (e.origDst ? ep(e.origDst) : '-').padEnd(21),
  ]
  if (wide) {
    const legs = e.legs
    cols.push(
      (e.tunnelIp ?? '-').padEnd(15),
      legs ? `${legs.ab.packets ?? '?'}/${legs.ba.packets ?? '?'}`.padEnd(13) : '-'.padEnd(13),
      legs ? `${legs.ab.bytes ?? '?'}/${legs.ba.bytes ?? '?'}`.padEnd(17) : '-'.padEnd(17),
      (e.activeAgoSeconds !== undefined ? `${e.activeAgoSeconds}s` : '-').padEnd(7),
    )
  }
  cols.push(e.flags.join(',') || '-')
  return cols.join(' ').trimEnd()
}

export function conntrackHeader(wide: boolean): string {
  const cols = ['NODE'.padEnd(16), 'PROTO', 'SRC'.padEnd(21), 'DST'.padEnd(21), 'TYPE'.padEnd(11), 'STATE'.padEnd(11), 'ORIG-DST'.padEnd(21)]
  if (wide) cols.push('TUNNEL'.padEnd(15), 'PKTS(A/B)'.padEnd(13), 'BYTES(A/B)'.padEnd(17), 'ACTIVE'.padEnd(7))
  cols.push('FLAGS')
  return cols.join(' ')
}

export function renderConntrackStats(perNode: {node: string; stats?: ConntrackStats; error?: string}[]): string {
  const rows: string[][] = []
  for (const n of perNode) {
    if (!n.stats) {
      rows.push([n.node, paint.fail('error'), '', '', '', '', n.error ?? ''])
      continue
    }
    const s = n.stats
    const protos = Object.entries(s.byProto).map(([p, c]) => `${p.toUpperCase()} ${c}`).join(', ')
    const tcp = Object.entries(s.tcpStates).filter(([, c]) => c > 0).map(([st, c]) => `${st} ${c}`).join(', ')
    const fill = `${(s.fillRatio * 100).toFixed(1)}% of ${s.mapSize}`
    const fillText = s.fillRatio >= 0.9 ? paint.fail(fill) : s.fillRatio >= 0.7 ? paint.warn(fill) : fill
    rows.push([n.node, String(s.entries), `normal ${s.byType.normal}, nat-fwd ${s.byType['nat-forward']}, nat-rev ${s.byType['nat-reverse']}`, protos, tcp || '-', fillText, ''])
  }
  return renderTable(['NODE', 'ENTRIES', 'BY TYPE', 'BY PROTO', 'TCP STATES', 'FILL', 'ERROR'], rows)
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`

/** `conntrack stats`: one row per node, fullest first, then the sizing advice. */
export function renderConntrackStatsReport(report: ConntrackStatsReport, wide: boolean): string {
  const read = report.nodes.filter((n) => n.stats).sort((a, b) => b.stats!.fill - a.stats!.fill || a.node.localeCompare(b.node))
  const head = ['NODE', 'ENTRIES', 'MAP SIZE', 'FILL', 'NAT', 'TCP EST/SYN/CLOSED/RESET']
  if (wide) head.push('TCP/UDP/OTHER', 'SOURCE')
  const rows = read.map((n) => {
    const s = n.stats!
    const fill = percent(s.fill)
    const row = [
      n.node,
      String(s.entries),
      `${s.mapSize}${s.mapSizeFrom === 'map' ? '' : ` (${s.mapSizeFrom})`}`,
      s.fill > 0.85 ? paint.fail(fill) : s.fill > 0.7 ? paint.warn(fill) : fill,
      `${s.natConnections} (${percent(s.natShare)})`,
      `${s.tcp.established}/${s.tcp.synSent}/${s.tcp.closed}/${s.tcp.reset}`,
    ]
    if (wide) row.push(`${s.byProto.tcp}/${s.byProto.udp}/${s.byProto.other}`, `${s.source} ${s.method}`)
    return row
  })
  const failed = report.nodes.length - read.length
  const parts = [rows.length ? renderTable(head, rows) : `No conntrack map could be read (${failed} node(s) failed).`]
  const mark = {ok: paint.pass('ok'), warn: paint.warn('warn'), fail: paint.fail('fail')}
  if (report.advice.length) parts.push(report.advice.map((a) => `${mark[a.level]}  ${a.message}`).join('\n'))
  return parts.join('\n\n')
}

/** `dataplane counters`: per node totals and its worst drop reason, then drops by reason over the fleet. */
export function renderCountersReport(report: CountersReport, wide: boolean): string {
  const read = report.nodes.filter((n) => n.summary)
  if (read.length === 0) return `No counters could be read (${report.nodes.length} node(s) failed).`
  const sorted = [...read].sort((a, b) => b.summary!.dropped - a.summary!.dropped || a.node.localeCompare(b.node))
  const rows: string[][] = []
  for (const n of sorted) {
    const s = n.summary!
    const drops = wide ? s.drops : s.drops.slice(0, 1)
    const where = (d: (typeof s.drops)[number]) => d.top.slice(0, 2).map((t) => `${t.interface} ${t.hook} ${t.packets}`).join(', ')
    const first = drops[0]
    rows.push([n.node, String(s.packets), String(s.accepted), s.dropped ? paint.warn(String(s.dropped)) : '0', String(s.redirected), first ? `${first.reason}: ${first.packets} (${where(first)})` : '-'])
    for (const d of drops.slice(1)) rows.push(['', '', '', '', '', `${d.reason}: ${d.packets} (${where(d)})`])
  }
  const parts = [renderTable(['NODE', 'PACKETS', 'ACCEPTED', 'DROPPED', 'REDIRECTED', wide ? 'DROPS BY REASON' : 'TOP DROP REASON'], rows)]
  if (report.fleet.length) {
    const fleetRows = report.fleet.map((f) => [f.reason, String(f.packets), f.nodes.slice(0, 3).map((x) => `${x.node} ${x.packets}`).join(', ') + (f.nodes.length > 3 ? ` +${f.nodes.length - 3} more` : '')])
    parts.push(`Drops by reason, all nodes:\n${renderTable(['REASON', 'PACKETS', 'NODES'], fleetRows)}`)
  } else parts.push(paint.pass('No drops counted.'))
  return parts.join('\n\n')
}

const serviceText = (ref: {ref: string} | undefined, fallback: string) => ref?.ref ?? paint.dim(fallback)

/** `nat aff`: one row per pinned client. */
export function renderNatAffTable(report: NatAffReport, wide: boolean): string {
  const rows: string[][] = []
  for (const n of report.nodes) {
    for (const e of n.entries) {
      const fe = `${e.frontend.ip}:${e.frontend.port}/${protoName(e.frontend.proto)}`
      const be = `${e.backend.ip}:${e.backend.port}${e.pod ? ` (${e.pod})` : ''}`
      const row = [n.node, e.clientIp, serviceText(e.service, fe), be]
      if (wide) row.push(fe, e.timestampNs ?? '-')
      rows.push(row)
    }
  }
  if (rows.length === 0) return report.nodes.every((n) => n.error) ? `No affinity table could be read (${report.nodes.length} node(s) failed).` : 'No affinity entries.'
  return renderTable(wide ? ['NODE', 'CLIENT', 'SERVICE', 'BACKEND', 'FRONTEND', 'TS(ns since boot)'] : ['NODE', 'CLIENT', 'SERVICE', 'BACKEND'], rows)
}

/** `nat maglev`: per node and Service, the backends' share of the lookup table. */
export function renderNatMaglevTable(report: NatMaglevReport, wide: boolean): string {
  const rows: string[][] = []
  for (const n of report.nodes) {
    for (const s of n.services) {
      const list = s.backends.map((b) => `${b.ip}:${b.port}${wide && b.pod ? ` (${b.pod})` : ''} ${b.slots}`)
      const shown = wide || list.length <= 4 ? list.join(', ') : `${list.slice(0, 4).join(', ')} +${list.length - 4} more`
      rows.push([n.node, serviceText(s.service, `id ${s.serviceId}`), String(s.slots), shown])
    }
  }
  if (rows.length === 0) return report.nodes.every((n) => n.error) ? `No Maglev table could be read (${report.nodes.length} node(s) failed).` : 'No Maglev entries.'
  return renderTable(['NODE', 'SERVICE', 'SLOTS', 'BACKENDS (slots)'], rows)
}
