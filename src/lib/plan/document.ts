/**
 * enable/revert as machine documents (`-o json|yaml`): the plan of a dry run, or the result of a real run. Same data
 * as the human output; fields are only ever added.
 */
import {objectLabel, showPath} from './fields.js'
import {formatPermission} from './permissions.js'
import type {RunResult} from './runner.js'
import type {ServerDryRunResult} from './server-dry-run.js'
import type {SessionReport} from './session.js'
import type {ObjectChange} from './types.js'

export type DryRunMode = 'client' | 'server'

function changeDocument(change: ObjectChange) {
  const {group, version, plural} = change.resource
  return {
    object: objectLabel(change),
    apiVersion: group ? `${group}/${version}` : version,
    resource: plural,
    namespace: change.namespace,
    name: change.name,
    action: change.action,
    by: change.by,
    patchType: change.action === 'patch' && change.by !== 'operator' ? change.patchType : undefined,
    body: change.action === 'delete' || change.by === 'operator' ? undefined : change.body,
    fields: change.fields.map((f) => ({path: showPath(f.path), before: f.before, after: f.after})),
  }
}

function installDocument(report: SessionReport) {
  const {install} = report
  return {
    type: install.type,
    variant: report.plan.variant,
    calicoVersion: install.calicoVersion ?? null,
    operatorVersion: install.operatorVersion ?? null,
    calicoNamespace: install.calicoNamespace ?? null,
  }
}

const finding = (f: SessionReport['preflightFailures'][number]) => ({
  checkId: f.checkId,
  node: f.node,
  summary: f.summary,
  remedy: f.remedy,
})

/** The dry-run plan: every step (done or not), its object changes, and with server dry run how each would land. */
export function planDocument(
  report: SessionReport,
  opts: {command: 'enable' | 'revert'; dryRun: DryRunMode; server?: ServerDryRunResult[]; force?: boolean; hadRecord?: boolean},
) {
  const server = opts.server ?? []
  const permissions = report.permissions
  return {
    apiVersion: 'ebpfctl/v1',
    kind: opts.command === 'enable' ? 'EnablePlan' : 'RevertPlan',
    dryRun: opts.dryRun,
    install: installDocument(report),
    record: {namespace: report.recordNamespace, exists: opts.hadRecord},
    steps: report.plan.steps.map((step, i) => {
      const alreadyDone = step.alreadyDone(report.state)
      return {
        number: i + 1,
        id: step.id,
        title: step.title,
        description: step.describe(),
        alreadyDone,
        changes: alreadyDone ? [] : step.changes().map(changeDocument),
        serverDryRun: opts.dryRun === 'server' ? server.filter((r) => r.step === step.id).map(({step: _, ...r}) => r) : undefined,
      }
    }),
    warnings: report.plan.warnings,
    preflightFailures: report.preflightFailures.map(finding),
    ignoredFailures: (report.ignoredFailures ?? []).map(finding),
    permissions: permissions
      ? {missing: permissions.missing.map(formatPermission), unchecked: permissions.unchecked}
      : undefined,
    /** The real run would refuse before its first write (preflight failure without --force, missing permissions). */
    wouldRefuse:
      (report.preflightFailures.length > 0 && !opts.force) ||
      (permissions?.missing.length ?? 0) > 0 ||
      server.some((r) => r.outcome === 'refused'),
  }
}

/** The result of a real run: its outcome, each step's status, and the changed objects. */
export function resultDocument(report: SessionReport, command: 'enable' | 'revert', result: RunResult) {
  const applied = new Set(result.steps.filter((s) => s.status === 'applied').map((s) => s.id))
  return {
    apiVersion: 'ebpfctl/v1',
    kind: command === 'enable' ? 'EnableResult' : 'RevertResult',
    install: installDocument(report),
    record: {namespace: report.recordNamespace},
    outcome: result.outcome,
    steps: result.steps,
    changed: report.plan.steps.filter((s) => applied.has(s.id)).flatMap((s) => s.changes().map(changeDocument)),
    error: result.error,
  }
}
