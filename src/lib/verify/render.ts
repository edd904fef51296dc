import {renderJunit} from '../output/findings.js'
import {paint} from '../output/color.js'
import type {VerifyReport} from './run.js'

const LABEL = {pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP'} as const

/** The table: a block per probe (like `check`), the latency figures, the before → after line, the summary. */
export function renderVerifyTable(r: VerifyReport): string {
  const lines: string[] = []
  const d = r.dataplane
  lines.push(`Verifying cluster ${r.server}: dataplane ${d.label}${d.bpfEnabled ? ` (bpfExternalServiceMode ${d.externalServiceMode})` : ''}`)
  for (const p of r.probes) {
    lines.push('')
    lines.push(paint.bold(p.id) + paint.dim(`  ${p.title}`))
    const width = Math.min(32, Math.max(0, ...p.findings.map((f) => (f.node ?? '').length)))
    for (const f of p.findings) {
      lines.push(`  ${paint[f.status](LABEL[f.status])}  ${width ? `${(f.node ?? '').padEnd(width)}  ` : ''}${f.summary}`)
      const indent = ' '.repeat(8 + (width ? width + 2 : 0))
      if (f.status !== 'pass' && f.detail) lines.push(paint.dim(`${indent}${f.detail}`))
      if ((f.status === 'fail' || f.status === 'warn') && f.remedy) lines.push(`${indent}Remedy: ${f.remedy}`)
    }
  }
  if (r.latency.length) {
    lines.push('')
    lines.push(`Latency (ms, one new connection per request; external service mode ${d.externalServiceMode}${d.bpfEnabled ? '' : ', not used: kube-proxy'}):`)
    lines.push(`  ${'node'.padEnd(20)} ${'requests'.padStart(8)} ${'errors'.padStart(6)} ${'mean'.padStart(7)} ${'p50'.padStart(7)} ${'p90'.padStart(7)} ${'p99'.padStart(7)}`)
    for (const l of r.latency)
      lines.push(`  ${l.node.padEnd(20)} ${String(l.requests).padStart(8)} ${String(l.errors).padStart(6)} ${fx(l.meanMs)} ${fx(l.p50Ms)} ${fx(l.p90Ms)} ${fx(l.p99Ms)}`)
  }
  if (r.beforeAfter) {
    lines.push('')
    lines.push(`Before/after: ${r.beforeAfter}`)
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`)
  if (r.workload.kept) lines.push(`Kept: namespace ${r.workload.namespace} (kubectl delete namespace ${r.workload.namespace})`)
  lines.push('')
  const s = r.summary
  lines.push(`${s.passed} passed, ${s.warnings} warnings, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped` : ''}`)
  return lines.join('\n') + '\n'
}

const fx = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–').padStart(7)

export function renderVerifyJunit(r: VerifyReport): string {
  const checks = r.probes.map((p) => ({
    id: p.id,
    title: p.title,
    scope: 'cluster' as const,
    status: p.status,
    counts: {
      passed: p.findings.filter((f) => f.status === 'pass').length,
      warnings: p.findings.filter((f) => f.status === 'warn').length,
      failed: p.findings.filter((f) => f.status === 'fail').length,
      skipped: p.findings.filter((f) => f.status === 'skip').length,
    },
    findings: p.findings,
  }))
  return renderJunit({checks, nodes: [], summary: r.summary}, {suite: 'verify'})
}
