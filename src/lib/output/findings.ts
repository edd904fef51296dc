import {type CheckInfo, type CheckSummary, type RunChecksResult, summarize} from '../checks/index.js'
import type {CheckScope, CheckStatus, Finding} from '../checks/types.js'
import {paint} from './color.js'
import {wrapLine} from './wrap.js'
import {xmlSafe} from './terminal.js'

/** `ebpfctl check -o json`: the stable, documented report (README "JSON output"). */
export interface CheckReport {
  apiVersion: 'ebpfctl/v1'
  kind: 'CheckReport'
  ebpfctlVersion: string
  /** nodes: `--nodes … --via ssh` without a kubeconfig — the named nodes only, no cluster checks. */
  target: {mode: 'local' | 'cluster' | 'nodes'; server?: string; context?: string; node?: string; nodes?: string[]}
  calico: CalicoInfo | null
  checks: ReportCheck[]
  nodes: ReportNode[]
  summary: CheckSummary
  exitCode: 0 | 1
}

export interface CalicoInfo {
  installType: 'operator' | 'manifest' | 'none'
  version: string | null
  operatorVersion: string | null
  namespace: string | null
  operatorNamespace: string | null
  endpointConfigMapNamespace: string | null
  /** group/version serving FelixConfiguration: crd.projectcalico.org/v1 or projectcalico.org/v3 */
  api: string | null
  linuxDataplane: string | null
  /** Effective: FELIX_BPFENABLED if set, else FelixConfiguration default (unset there: false); null if unknown. */
  bpfEnabled: boolean | null
  /** Where bpfEnabled comes from; 'default': FelixConfiguration default exists without the field (Felix: false). */
  bpfEnabledSource: 'env' | 'felixconfiguration' | 'default' | null
}

export interface ReportCheck {
  id: string
  title: string
  scope: CheckScope
  /** Worst status over every finding of the check, node findings included (fail > warn > pass > skip). */
  status: CheckStatus
  /** Findings counted by status, node findings included. */
  counts: CheckSummary
  /** Findings about the cluster or this check as a whole (no `node`); per-node findings are under nodes[]. */
  findings: Finding[]
}

export interface ReportNode {
  name: string
  status: CheckStatus
  findings: Finding[]
}

const RANK: Record<CheckStatus, number> = {skip: 0, pass: 1, warn: 2, fail: 3}
const worst = (a: CheckStatus, b: CheckStatus): CheckStatus => (RANK[b] > RANK[a] ? b : a)

export function buildReport(
  result: RunChecksResult,
  meta: {ebpfctlVersion: string; target: CheckReport['target']; calico: CalicoInfo | null},
): CheckReport {
  const byCheck = new Map<string, Finding[]>()
  const byNode = new Map<string, Finding[]>()
  for (const f of result.findings) {
    let list = byCheck.get(f.checkId)
    if (!list) byCheck.set(f.checkId, (list = []))
    list.push(f)
    if (f.node !== undefined) {
      let nl = byNode.get(f.node)
      if (!nl) byNode.set(f.node, (nl = []))
      nl.push(f)
    }
  }
  const checks = result.checks.map((c: CheckInfo): ReportCheck => {
    const all = byCheck.get(c.id) ?? []
    return {
      id: c.id,
      title: c.title,
      scope: c.scope,
      status: all.reduce<CheckStatus>((s, f) => worst(s, f.status), 'skip'),
      counts: summarize(all),
      findings: all.filter((f) => f.node === undefined),
    }
  })
  const nodes = [...byNode].map(([name, findings]): ReportNode => ({
    name,
    status: findings.reduce<CheckStatus>((s, f) => worst(s, f.status), 'skip'),
    findings,
  }))
  return {
    apiVersion: 'ebpfctl/v1',
    kind: 'CheckReport',
    ebpfctlVersion: meta.ebpfctlVersion,
    target: meta.target,
    calico: meta.calico,
    checks,
    nodes,
    summary: result.summary,
    exitCode: result.exitCode,
  }
}

const LABEL: Record<CheckStatus, string> = {pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP'}

function statusCell(f: Finding): string {
  const text = f.ignored ? 'WARN' : LABEL[f.status]
  const painted = paint[f.status](text)
  return painted + ' '.repeat(Math.max(0, 4 - text.length))
}

interface Row {
  status: CheckStatus
  finding: Finding
  nodes: string[]
}

/**
 * Groups per-node findings with the same status, summary and remedy into one row ("5000 nodes"), in first-seen
 * order: O(findings). Wide output keeps one row per node.
 */
function rowsOf(findings: Finding[], wide: boolean): Row[] {
  const rows: Row[] = []
  const index = new Map<string, Row>()
  for (const f of findings) {
    if (f.node === undefined || wide) {
      rows.push({status: f.status, finding: f, nodes: f.node === undefined ? [] : [f.node]})
      continue
    }
    const key = `${f.status}\u0000${f.ignored ? 1 : 0}\u0000${f.summary}\u0000${f.remedy ?? ''}`
    const row = index.get(key)
    if (row) row.nodes.push(f.node)
    else {
      const r = {status: f.status, finding: f, nodes: [f.node]}
      index.set(key, r)
      rows.push(r)
    }
  }
  return rows
}

export function summaryLine(s: CheckSummary): string {
  return `${s.passed} passed, ${s.warnings} warnings, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped` : ''}`
}

/**
 * The default table: one block per check, a row per finding (per-node findings collapsed by identical verdict
 * unless wide), the remedy under each failure and warning, then the summary line.
 */
export function renderFindingsTable(report: CheckReport, opts: {wide?: boolean; width?: number} = {}): string {
  const wide = opts.wide ?? false
  const width = opts.width
  const lines: string[] = []
  const header =
    report.target.mode === 'local'
      ? `Checking this machine (${report.target.node ?? 'local'})`
      : report.target.mode === 'nodes'
        ? `Checking nodes ${(report.target.nodes ?? []).join(', ')} over SSH (no cluster)`
        : `Checking cluster ${report.target.server ?? ''}${report.target.context ? ` (context ${report.target.context})` : ''}`
  lines.push(header)
  if (report.calico) {
    const c = report.calico
    lines.push(
      c.installType === 'none'
        ? 'Calico: not installed'
        : `Calico: ${c.installType} install, ${c.version ?? 'version unknown'}, namespace ${c.namespace ?? '?'}, API ${c.api ?? 'none'}`,
    )
  }
  const nodeFindings = new Map<string, Finding[]>()
  for (const n of report.nodes) {
    for (const f of n.findings) {
      let l = nodeFindings.get(f.checkId)
      if (!l) nodeFindings.set(f.checkId, (l = []))
      l.push(f)
    }
  }
  for (const check of report.checks) {
    lines.push('')
    lines.push(paint.bold(`${check.id}`) + paint.dim(`  ${check.title}`))
    const findings = [...check.findings, ...(nodeFindings.get(check.id) ?? [])]
    const rows = rowsOf(findings, wide)
    const nodeWidth = Math.min(32, Math.max(0, ...rows.map((r) => whoOf(r).length)))
    for (const r of rows) {
      const who = whoOf(r)
      const f = r.finding
      const ignored = f.ignored ? paint.dim(' (ignored failure)') : ''
      const indent = `        ${nodeWidth ? ' '.repeat(nodeWidth + 2) : ''}`
      // Wrapped to the terminal at word boundaries, continuations under the text they continue (colour per line).
      const [first, ...rest] = wrapLine(`${f.summary}`, width, indent, indent)
      lines.push(`  ${statusCell(f)}  ${nodeWidth ? who.padEnd(nodeWidth) + '  ' : ''}${first!.slice(indent.length)}${rest.length ? '' : ignored}`)
      rest.forEach((l, i) => lines.push(l + (i === rest.length - 1 ? ignored : '')))
      const block = (text: string, painted: (s: string) => string = (s) => s) =>
        lines.push(...wrapLine(text, width, indent).map(painted))
      if (r.nodes.length > 1 && !wide) {
        const shown = r.nodes.slice(0, 5).join(', ')
        block(`nodes: ${shown}${r.nodes.length > 5 ? `, … (${r.nodes.length - 5} more; -o wide lists all)` : ''}`, paint.dim)
      }
      if ((f.status === 'fail' || f.status === 'warn') && f.detail) block(f.detail, paint.dim)
      if ((f.status === 'fail' || f.status === 'warn') && f.remedy) block(`Remedy: ${f.remedy}`)
      if (wide && f.status === 'pass' && f.detail) block(f.detail, paint.dim)
    }
  }
  lines.push('')
  lines.push(summaryLine(report.summary))
  return lines.join('\n') + '\n'
}

function whoOf(r: Row): string {
  if (r.nodes.length === 0) return ''
  if (r.nodes.length === 1) return r.nodes[0]!
  return `${r.nodes.length} nodes`
}

// XML 1.0 forbids most control characters, U+FFFE/U+FFFF and lone surrogates, even escaped: xmlSafe replaces them.
const xml = (s: string) =>
  xmlSafe(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/**
 * JUnit XML: one <testsuite> per check, one <testcase> per finding. fail → <failure>; warn → passes, with a
 * property status=warn and the text in <system-out>; skip → <skipped>. Ignored failures are warnings with a
 * property ignored=true.
 */
export function renderJunit(
  report: Pick<CheckReport, 'checks' | 'nodes' | 'summary'>,
  opts: {suite?: string} = {},
): string {
  const suite = opts.suite ?? 'check'
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>']
  const total = report.summary
  const tests = total.passed + total.warnings + total.failed + total.skipped
  out.push(
    `<testsuites name="ebpfctl ${suite}" tests="${tests}" failures="${total.failed}" errors="0" skipped="${total.skipped}">`,
  )
  const perCheck = new Map<string, Finding[]>()
  for (const c of report.checks) perCheck.set(c.id, [...c.findings])
  for (const n of report.nodes) for (const f of n.findings) perCheck.get(f.checkId)?.push(f)
  for (const c of report.checks) {
    const findings = perCheck.get(c.id) ?? []
    out.push(
      `  <testsuite name="${xml(c.id)}" tests="${findings.length}" failures="${c.counts.failed}" errors="0" skipped="${c.counts.skipped}">`,
    )
    for (const f of findings) {
      const name = f.node ? `${f.node}: ${f.summary}` : f.summary
      out.push(`    <testcase classname="ebpfctl.${suite}.${xml(c.id)}" name="${xml(name)}">`)
      const text = [f.detail, f.remedy ? `Remedy: ${f.remedy}` : undefined].filter(Boolean).join('\n')
      if (f.status === 'fail') out.push(`      <failure message="${xml(f.summary)}" type="${xml(c.id)}">${xml(text)}</failure>`)
      else if (f.status === 'skip') out.push(`      <skipped message="${xml(f.summary)}"/>`)
      else if (f.status === 'warn') {
        out.push('      <properties>')
        out.push('        <property name="status" value="warn"/>')
        if (f.ignored) out.push('        <property name="ignored" value="true"/>')
        out.push('      </properties>')
        out.push(`      <system-out>${xml(`WARNING: ${f.summary}${text ? `\n${text}` : ''}`)}</system-out>`)
      }
      out.push('    </testcase>')
    }
    out.push('  </testsuite>')
  }
  out.push('</testsuites>')
  return out.join('\n') + '\n'
}
