import type {KubeClient} from '../kube/client.js'
import {type ClusterState, type InstallInfo, collectClusterState, detectInstall} from '../kube/cluster.js'
import {ExitCode, UserError} from '../errors.js'
import {buildEnablePlan} from './enable.js'
import {type LockOptions, withLock} from './lock.js'
import {type PermissionCheck, PermissionError, checkPermissions, planPermissions} from './permissions.js'
import {type Progress, memoryProgress} from './progress.js'
import {RecordStore, readRecord} from './record.js'
import {buildRevertPlan} from './revert.js'
import {renderPlan} from '../output/plan.js'
import {type RunResult, runPlan, runRevert} from './runner.js'
import {DEFAULT_TIMING, type EnableOptions, type Plan, type StepContext, type Timing} from './types.js'
import {type VerifyGate, withVerifyStep} from './verify-step.js'
import {cliCommand} from '../cli/name.js'

export interface PreflightFinding {
  checkId: string
  status: string
  summary: string
  node?: string
  remedy?: string
  data?: Record<string, unknown>
}

/**
 * Preflight failures that the plan itself resolves, so they must not block it: no derivable API address when
 * --api-server or --bootstrap supplies one (the plan validates it), and kube-proxy coexisting with BPF, which is the
 * state half-way through an earlier enable and what the kube-proxy step fixes.
 */
function resolvedByPlan(f: PreflightFinding, options: EnableOptions): boolean {
  if (f.checkId === 'api-endpoint' && f.data?.reason === 'no-address') return Boolean(options.apiServer || options.bootstrap)
  return f.checkId === 'kube-proxy' && f.data?.reason === 'coexistence'
}

export type Preflight = (
  state: ClusterState,
  install: InstallInfo,
  kubeconfigServer: string,
) => Promise<PreflightFinding[]>

/** The `check` suite as enable's gate (src/lib/checks; imported lazily). */
export const checksPreflight: Preflight = async (state, install, kubeconfigServer) => {
  const {runChecks} = await import('../checks/index.js')
  const result = await runChecks({cluster: {state, install, kubeconfigServer}})
  return result.findings
}

export interface SessionOptions {
  kube: KubeClient
  timing?: Partial<Timing>
  progress?: Progress
  signal?: AbortSignal
  info?: (line: string) => void
  dryRun?: boolean
  /** Lock tuning (tests): identity, lease duration, renew and poll intervals. */
  lock?: Partial<Omit<LockOptions, 'timeoutMs' | 'info'>>
}

/** The lock every writing run holds (lock.ts); the wait is timing.lockTimeoutMs. */
function lockOptions(s: SessionOptions): LockOptions {
  const progress = s.progress
  return {
    timeoutMs: s.timing?.lockTimeoutMs ?? DEFAULT_TIMING.lockTimeoutMs,
    info: s.info ?? ((line) => progress?.line(line)),
    ...s.lock,
  }
}

export interface EnableSession extends SessionOptions {
  options: EnableOptions
  force?: boolean
  /** Check IDs (or 'all') whose preflight failures do not refuse the run, like `check --ignore`. */
  ignore?: string[]
  /** Default: the check suite. */
  preflight?: Preflight
  /**
   * `--verify`: run before the switch (a failing baseline refuses, unless force) and as the plan's last step (a
   * failure rolls back).
   */
  verify?: VerifyGate
}

export interface SessionReport {
  plan: Plan
  /** The numbered plan with every object change as a diff. */
  rendered: string
  state: ClusterState
  install: InstallInfo
  dryRun: boolean
  /** Preflight failures (with --force they were overridden). */
  preflightFailures: PreflightFinding[]
  /** Preflight failures demoted by --ignore (shown, never refusing). */
  ignoredFailures?: PreflightFinding[]
  result?: RunResult
  recordNamespace: string
  /** What the plan needs and what the kubeconfig user lacks (SelfSubjectAccessReview), asked before any write. */
  permissions?: PermissionCheck
}

/**
 * The permission gate, before the first write (and before the lock): one SelfSubjectAccessReview per permission the
 * plan will use; a dry run only reports, a real run refuses with the full list (exit 2).
 */
async function permissionGate(
  s: SessionOptions,
  report: SessionReport,
  command: 'enable' | 'revert',
): Promise<void> {
  const asked = planPermissions(report.plan, report.state, {recordNamespace: report.recordNamespace})
  const check = await checkPermissions(s.kube, asked)
  report.permissions = check
  if (s.dryRun) return
  if (check.missing.length > 0) throw new PermissionError(check.missing, command)
  if (check.unchecked) {
    const line = `warning: permissions not checked in advance: ${check.unchecked}`
    ;(s.info ?? ((l: string) => s.progress?.line(l)))(line)
  }
}


function context(s: SessionOptions, state: ClusterState, install: InstallInfo, record: RecordStore): StepContext {
  const progress = s.progress ?? memoryProgress()
  return {
    kube: s.kube,
    install,
    state,
    record,
    timing: {...DEFAULT_TIMING, ...s.timing},
    signal: s.signal ?? new AbortController().signal,
    progress,
    info: s.info ?? ((line) => progress.line(line)),
  }
}

/** ebpfctl enable: read the cluster, build the plan, gate on preflight, then run it (or only render it). */
export async function enableSession(s: EnableSession): Promise<SessionReport> {
  const state = await collectClusterState(s.kube)
  const install = detectInstall(state)
  const plan = withVerifyStep(buildEnablePlan(state, install, s.options), s.verify, state)
  const rendered = renderPlan(plan, state)
  const recordNamespace = install.calicoNamespace!
  const allFailures = (await (s.preflight ?? checksPreflight)(state, install, s.options.kubeconfigServer)).filter(
    (f) => f.status === 'fail' && !resolvedByPlan(f, s.options),
  )
  const ignored = (f: PreflightFinding) => !!s.ignore && (s.ignore.includes('all') || s.ignore.includes(f.checkId))
  const failures = allFailures.filter((f) => !ignored(f))
  const report: SessionReport = {
    plan,
    rendered,
    state,
    install,
    dryRun: !!s.dryRun,
    preflightFailures: failures,
    ignoredFailures: allFailures.filter(ignored),
    recordNamespace,
  }
  await permissionGate(s, report, 'enable')
  // A record ebpfctl did not write is refused before the lock is taken, and in a dry run as in the real run (exit 2).
  await readRecord(s.kube, {install, state, namespace: recordNamespace})
  if (s.dryRun) return report
  if (failures.length > 0 && !s.force) {
    const names = failures.map((f) => `${f.checkId}${f.node ? ` (${f.node})` : ''}: ${f.summary}`)
    throw new UserError(`preflight failed, nothing was changed:\n  - ${names.join('\n  - ')}`, {
      exitCode: ExitCode.Failed,
      remedy: `Fix these (see \`${cliCommand('check')}\`), demote known ones with --ignore ID[,ID], or pass --force to enable anyway.`,
    })
  }
  // One writing run at a time: the cluster is read again under the lock (another run may have changed it meanwhile).
  // A record ebpfctl did not write is refused before anything is written, the lock included (checked again under it).
  await readRecord(s.kube, {install, state, namespace: recordNamespace})
  return withLock(s.kube, lockOptions(s), async () => {
    const state = await collectClusterState(s.kube)
    const install = detectInstall(state)
    const plan = withVerifyStep(buildEnablePlan(state, install, s.options), s.verify, state)
    Object.assign(report, {state, install, plan, rendered: renderPlan(plan, state)})
    // Read again under the lock; checked before the first write, never met during a rollback.
    const {record: existing, exists} = await readRecord(s.kube, {install, state, namespace: recordNamespace})
    const options = {...s.options, kubeconfigServer: undefined}
    const record = new RecordStore(
      s.kube,
      recordNamespace,
      existing ?? RecordStore.fresh(recordNamespace, install, plan.variant, options),
      {exists},
      {...DEFAULT_TIMING, ...s.timing},
    )
    const ctx = context(s, state, install, record)
    for (const w of plan.warnings) ctx.progress.line(`warning: ${w}`)
    if (s.verify && !plan.steps.every((st) => st.alreadyDone(state))) {
      // The baseline: Services must work before the switch, or a failure after it could not be told apart.
      ctx.progress.line('verify Services before the switch (baseline)')
      const base = await s.verify('before')
      if (!base.passed && !s.force) {
        throw new UserError(`Services already fail before the switch, nothing was changed: ${base.summary}`, {
          exitCode: ExitCode.Failed,
          remedy: `Run \`${cliCommand('verify')}\` to see the failures and fix them first, or pass --force to enable anyway.`,
        })
      }
    }
    report.result = await runPlan(plan, ctx)
    return report
  })
}

/** ebpfctl revert: from the record in the cluster (or best-effort without one). */
export async function revertSession(s: SessionOptions): Promise<SessionReport & {hadRecord: boolean}> {
  // The permission gate comes before the lock, so a missing Lease permission is listed with the rest.
  const planned = await planRevert(s)
  await permissionGate(s, planned.report, 'revert')
  if (s.dryRun) return planned.report
  // Read again under the lock: another run may have changed the cluster or the record meanwhile.
  return withLock(s.kube, lockOptions(s), async () => {
    const {report, existing, exists} = await planRevert(s)
    report.permissions = planned.report.permissions
    const record = new RecordStore(
      s.kube,
      report.recordNamespace,
      existing ?? RecordStore.fresh(report.recordNamespace, report.install, report.plan.variant, {}),
      {exists},
      {...DEFAULT_TIMING, ...s.timing},
    )
    const ctx = context(s, report.state, report.install, record)
    for (const w of report.plan.warnings) ctx.progress.line(`warning: ${w}`)
    const result = await runRevert(report.plan, ctx, async () => {
      if (exists) await record.remove()
    })
    return {...report, result}
  })
}

async function planRevert(s: SessionOptions) {
  const state = await collectClusterState(s.kube)
  const install = detectInstall(state)
  if (install.type === 'none') {
    throw new UserError('no Calico installation found: nothing to revert', {
      remedy: 'Point --kubeconfig/--context at the cluster that was enabled.',
    })
  }
  const recordNamespace = install.calicoNamespace!
  const {record: existing, exists} = await readRecord(s.kube, {install, state, namespace: recordNamespace})
  const plan = buildRevertPlan(state, install, existing)
  const report: SessionReport & {hadRecord: boolean} = {
    plan,
    rendered: renderPlan(plan, state),
    state,
    install,
    dryRun: !!s.dryRun,
    preflightFailures: [],
    recordNamespace,
    hadRecord: !!existing,
  }
  return {report, existing, exists}
}
