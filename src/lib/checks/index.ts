import {UserError} from '../errors.js'
import {closest} from '../cli/suggest.js'
import {CHECK_IDS, CHECKS} from './registry.js'
import type {Check, CheckContext, CheckScope, Finding} from './types.js'

export {CHECK_IDS, CHECKS, findCheck} from './registry.js'
export type {Check, CheckContext, CheckScope, CheckStatus, Finding, NodeFacts} from './types.js'
export {architectureVerdict, compareVersions, kernelVerdict, parseVersion, type KernelVerdict} from './kernel.js'
export {parseKernelConfig, parseMounts, readLocalFacts} from './facts.js'

export interface RunChecksOptions {
  /** Run only these check IDs (case-insensitive). Unknown IDs: UserError, exit 2. */
  only?: string[]
  /** Demote these checks' failures to warnings marked ignored: true (kubeadm-style); 'all' ignores every check. */
  ignore?: string[]
  /** Warnings fail too (ignored findings never do). */
  strict?: boolean
}

export interface CheckSummary {
  passed: number
  warnings: number
  failed: number
  skipped: number
}

export interface CheckInfo {
  id: string
  title: string
  scope: CheckScope
}

export interface RunChecksResult {
  findings: Finding[]
  summary: CheckSummary
  exitCode: 0 | 1
  /** The checks that ran, in report order. */
  checks: CheckInfo[]
}

/** Lower-cases and validates check IDs; unknown IDs are a usage error listing the valid ones. */
export function normalizeCheckIds(ids: string[] | undefined, flag: string, allowAll = false): string[] | undefined {
  if (!ids) return undefined
  const wanted = ids.flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase()).filter(Boolean)
  const unknown = wanted.filter((id) => !CHECK_IDS.includes(id) && !(allowAll && id === 'all'))
  if (unknown.length > 0) {
    // Each mistyped ID with the closest valid one, as for mistyped flags, commands and node names.
    const valid = allowAll ? [...CHECK_IDS, 'all'] : CHECK_IDS
    const named = unknown.map((id) => {
      const guess = closest(id, valid)
      if (!guess) return id
      return unknown.length === 1 ? `${id}; did you mean "${guess}"?` : `${id} (did you mean "${guess}"?)`
    })
    throw new UserError(`unknown check ID${unknown.length > 1 ? 's' : ''} for --${flag}: ${named.join(', ')}`, {
      remedy: `Valid IDs: ${CHECK_IDS.join(', ')}${allowAll ? ', all' : ''}.`,
    })
  }
  if (allowAll && wanted.includes('all') && wanted.length > 1) {
    throw new UserError(`--${flag}: do not name individual checks together with "all"`, {remedy: 'Use --ignore all alone.'})
  }
  return wanted
}

export function summarize(findings: Finding[]): CheckSummary {
  const s: CheckSummary = {passed: 0, warnings: 0, failed: 0, skipped: 0}
  for (const f of findings) {
    if (f.status === 'pass') s.passed++
    else if (f.status === 'warn') s.warnings++
    else if (f.status === 'fail') s.failed++
    else s.skipped++
  }
  return s
}

async function runOne(check: Check, ctx: CheckContext): Promise<Finding[]> {
  try {
    return await check.run(ctx)
  } catch (err) {
    if (err instanceof UserError) throw err
    return [{checkId: check.id, status: 'fail', summary: `the check itself failed: ${(err as Error).message}`, detail: (err as Error).stack}]
  }
}

/**
 * Runs the registry's checks over a context and returns plain data. `ebpfctl check` renders it; `ebpfctl enable`
 * uses it as its preflight gate: `runChecks({cluster: {state, install, kubeconfigServer}})`.
 */
export async function runChecks(ctx: CheckContext, opts: RunChecksOptions = {}): Promise<RunChecksResult> {
  const only = normalizeCheckIds(opts.only, 'only')
  const ignore = new Set(normalizeCheckIds(opts.ignore, 'ignore', true) ?? [])
  const selected = CHECKS.filter((c) => !only || only.includes(c.id))
  const perCheck = await Promise.all(selected.map((c) => runOne(c, ctx)))
  const findings: Finding[] = []
  const ran: CheckInfo[] = []
  selected.forEach((check, i) => {
    const list = perCheck[i]!
    if (list.length === 0) return // not applicable in this mode (e.g. cluster checks in local mode)
    ran.push({id: check.id, title: check.title, scope: check.scope})
    const ignored = ignore.has('all') || ignore.has(check.id)
    for (const f of list) findings.push(ignored && f.status === 'fail' ? {...f, status: 'warn', ignored: true} : f)
  })
  const summary = summarize(findings)
  const strictWarnings = opts.strict ? findings.some((f) => f.status === 'warn' && !f.ignored) : false
  return {findings, summary, exitCode: summary.failed > 0 || strictWarnings ? 1 : 0, checks: ran}
}
