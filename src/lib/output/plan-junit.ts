/**
 * `enable|revert --dry-run -o junit`: the dry-run plan as JUnit for CI gates, in the same shape as `check -o junit`
 * (one <testsuite> per group, one <testcase> per finding). Groups: preflight, permissions, and one per plan step; a
 * step's testcases are its writes as the API server judged them (server dry run) or as planned (client dry run).
 * A failure wherever the real run would refuse or a write would be rejected, so a CI job fails exactly when the
 * command's exit status does.
 */
import type {CheckStatus, Finding} from '../checks/types.js'
import type {planDocument} from '../plan/document.js'
import {renderJunit} from './findings.js'

type PlanDocument = ReturnType<typeof planDocument>

interface Group {
  id: string
  findings: Finding[]
}

function countOf(findings: Finding[], status: CheckStatus): number {
  return findings.filter((f) => f.status === status).length
}

function preflightGroup(doc: PlanDocument, force: boolean): Group {
  const id = 'preflight'
  const findings: Finding[] = doc.preflightFailures.map((f) => ({
    checkId: id,
    node: f.node,
    status: force ? 'warn' : 'fail',
    ignored: force || undefined,
    summary: `${f.checkId}: ${f.summary}${force ? ' (overridden by --force)' : ''}`,
    remedy: f.remedy,
  }))
  for (const f of doc.ignoredFailures)
    findings.push({checkId: id, node: f.node, status: 'warn', ignored: true, summary: `${f.checkId}: ${f.summary} (--ignore)`, remedy: f.remedy})
  if (findings.length === 0) findings.push({checkId: id, status: 'pass', summary: 'no preflight failure'})
  return {id, findings}
}

function permissionsGroup(doc: PlanDocument): Group {
  const id = 'permissions'
  const permissions = doc.permissions
  if (!permissions) return {id, findings: [{checkId: id, status: 'skip', summary: 'permissions were not checked'}]}
  const findings: Finding[] = permissions.missing.map((p) => ({
    checkId: id,
    status: 'fail',
    summary: `missing permission: ${p}`,
    remedy: 'Grant it (or run as a user who has it); the real run would refuse before its first write.',
  }))
  if (findings.length === 0) findings.push({checkId: id, status: 'pass', summary: 'every planned write is allowed'})
  return {id, findings}
}

function stepGroup(step: PlanDocument['steps'][number]): Group {
  const id = `step-${step.number}-${step.id}`
  if (step.alreadyDone) return {id, findings: [{checkId: id, status: 'skip', summary: `${step.title}: already done`}]}
  const judged = step.serverDryRun
  if (judged) {
    const findings: Finding[] = judged.map((r) => {
      const summary = `${r.object} (${r.action})`
      if (r.outcome === 'refused') {
        const why = [r.error?.code, r.error?.reason].filter(Boolean).join(' ')
        return {checkId: id, status: 'fail', summary: `${summary}: refused by the API server`, detail: `${why ? `${why}: ` : ''}${r.error?.message ?? ''}`}
      }
      const notAsPlanned = (r.fields ?? []).filter((f) => !f.asPlanned).map((f) => f.path)
      if (notAsPlanned.length > 0)
        return {checkId: id, status: 'warn', summary: `${summary}: would land, but not as planned: ${notAsPlanned.join(', ')}`}
      return {checkId: id, status: 'pass', summary: `${summary}: ${r.outcome === 'unchanged' ? 'unchanged (live already has it)' : 'would land'}`}
    })
    if (findings.length > 0) return {id, findings}
  }
  const findings: Finding[] = step.changes.map((c) => ({
    checkId: id,
    status: 'pass',
    summary: `${c.object} (${c.action}) planned`,
    detail: c.fields.map((f) => `${f.path}: ${JSON.stringify(f.before)} → ${JSON.stringify(f.after)}`).join('\n') || undefined,
  }))
  if (findings.length === 0) findings.push({checkId: id, status: 'pass', summary: `${step.title}: ${step.description}`})
  return {id, findings}
}

export function renderPlanJunit(doc: PlanDocument, opts: {force?: boolean} = {}): string {
  const groups = [preflightGroup(doc, opts.force ?? false), permissionsGroup(doc), ...doc.steps.map(stepGroup)]
  const all = groups.flatMap((g) => g.findings)
  const counts = (fs: Finding[]) => ({
    passed: countOf(fs, 'pass'),
    warnings: countOf(fs, 'warn'),
    failed: countOf(fs, 'fail'),
    skipped: countOf(fs, 'skip'),
  })
  return renderJunit(
    {
      checks: groups.map((g) => ({
        id: g.id,
        title: g.id,
        scope: 'cluster' as const,
        status: g.findings.some((f) => f.status === 'fail') ? 'fail' : 'pass',
        counts: counts(g.findings),
        findings: g.findings,
      })),
      nodes: [],
      summary: counts(all),
    },
    {suite: doc.kind === 'EnablePlan' ? 'enable-dry-run' : 'revert-dry-run'},
  )
}
