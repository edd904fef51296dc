import {KubeApiError} from '../kube/errors.js'
import {InterruptedError, PlanError, errorMessage} from './errors.js'
import {liveProblems} from './apply.js'
import type {ObjectChange, Plan, Step, StepContext} from './types.js'
import {cliCommand} from '../cli/name.js'

export type StepStatus = 'already-done' | 'applied' | 'failed' | 'undone' | 'not-run' | 'undo-failed'

export interface StepResult {
  id: string
  title: string
  status: StepStatus
  error?: string
}

export interface RunResult {
  outcome: 'nothing-to-do' | 'done' | 'rolled-back' | 'rollback-incomplete'
  steps: StepResult[]
  /** What failed (the step and why). */
  error?: string
  failedStep?: string
  /** Why the rollback did not finish. */
  rollbackError?: string
}

function describeFailure(step: Step, err: unknown): string {
  if (err instanceof KubeApiError && err.code === 403) return `step "${step.title}": ${err.message}`
  return `step "${step.title}": ${errorMessage(err)}`
}

/** A run that stopped: the step it stopped at (none when the end of the run failed) and why. */
interface Failure {
  step?: Step
  err: unknown
  /** One line: the step and why. */
  error: string
}

/**
 * What sets one kind of run apart; the loop over the steps is the same. Enable records each step's changes before it
 * writes them and rolls back on failure; revert writes what the record says, re-reads the result and stops.
 */
interface RunMode {
  /** Writes one pending step (its verify follows). */
  apply(step: Step, index: number): Promise<void>
  /** After the last step; `ranAny`: some step was pending. A throw fails the run. */
  finish(ranAny: boolean): Promise<void>
  failed(failure: Failure, results: StepResult[]): Promise<RunResult>
}

/**
 * Runs the steps in order: skips what is already done, applies the rest (as the mode says) and verifies each. On any
 * failure (API error, timeout, verify, interrupt) the mode decides what follows.
 */
async function runSteps(plan: Plan, ctx: StepContext, mode: RunMode): Promise<RunResult> {
  const results: StepResult[] = plan.steps.map((s) => ({id: s.id, title: s.title, status: 'not-run'}))
  const pending = plan.steps.map((s) => !s.alreadyDone(ctx.state))
  let index = 0
  try {
    for (; index < plan.steps.length; index++) {
      const step = plan.steps[index]!
      const label = `${index + 1}/${plan.steps.length} ${step.title}`
      if (!pending[index]) {
        results[index]!.status = 'already-done'
        ctx.progress.line(`${label}: already done`)
        continue
      }
      if (ctx.signal.aborted) throw new InterruptedError()
      ctx.progress.line(label)
      await mode.apply(step, index)
      await step.verify(ctx, ctx.progress)
      results[index]!.status = 'applied'
    }
    const ranAny = pending.some(Boolean)
    await mode.finish(ranAny)
    return {outcome: ranAny ? 'done' : 'nothing-to-do', steps: results}
  } catch (err) {
    if (results[index]) {
      results[index]!.status = 'failed'
      results[index]!.error = errorMessage(err)
    }
    const step = plan.steps[index]
    return mode.failed({step, err, error: step ? describeFailure(step, err) : errorMessage(err)}, results)
  }
}

/**
 * Runs an enable plan: records each step's changes before applying them. On any failure undoes the applied steps
 * newest first, including the one that failed, whose changes may have partly landed — and reports what failed.
 */
export async function runPlan(plan: Plan, ctx: StepContext): Promise<RunResult> {
  const pending = plan.steps.map((s) => !s.alreadyDone(ctx.state))
  const lastWriting = pending.reduce((last, p, i) => (p && plan.steps[i]!.changes().length > 0 ? i : last), -1)
  const touched: number[] = []
  return runSteps(plan, ctx, {
    async apply(step, index) {
      const changes = step.changes()
      if (changes.length === 0) return
      await ctx.record.markApplying(step.id, changes)
      touched.push(index)
      const applied = await step.apply(ctx)
      await ctx.record.markApplied(step.id, applied, index === lastWriting)
    },
    async finish(ranAny) {
      if (ranAny) await ctx.record.markComplete()
    },
    async failed({step, err, error}, results) {
      const landed = (err as {landed?: ObjectChange[]}).landed
      if (step && landed) ctx.record.narrow(step.id, landed)
      ctx.progress.line(`failed: ${error}`)
      ctx.progress.line(touched.length ? 'rolling back, newest change first …' : 'nothing was changed')
      const rollback = await rollBack(plan, ctx, touched, results)
      return {
        outcome: rollback ? 'rollback-incomplete' : 'rolled-back',
        steps: results,
        error,
        failedStep: step?.id,
        rollbackError: rollback,
      }
    },
  })
}

/**
 * Runs a revert plan. Every write is retried on conflicts and transient errors; a step that still fails stops the
 * revert (kube-proxy comes back before BPF goes off, so stopping never leaves a cluster without service handling).
 */
export async function runRevert(plan: Plan, ctx: StepContext, removeRecord: () => Promise<void>): Promise<RunResult> {
  return runSteps(plan, ctx, {
    async apply(step) {
      await step.apply(ctx)
    },
    async finish() {
      // "Reverted" is said only of what the cluster really holds: every field revert writes is re-read first.
      const changes = plan.steps.flatMap((s) => s.changes())
      const problems = await liveProblems(ctx, changes, 'after', 'should be')
      if (problems.length) throw new PlanError(`not reverted: ${problems.join('; ')}`)
      if (changes.length) ctx.progress.line(`re-read ${changes.length} object change(s): every field is as it was`)
      await removeRecord()
    },
    async failed({step, error}, results) {
      return {outcome: 'rollback-incomplete', steps: results, error, failedStep: step?.id}
    },
  })
}

/**
 * Undoes the touched steps newest first. An undo that fails does not stop the rollback: the steps before it are still
 * undone (each undo is state-based, so a step that never changed anything needs no write), except that BPF is never
 * turned off while the live kube-proxy is still disabled (the BPF step's undo checks the cluster). Then every field
 * this run touched is re-read: the rollback is complete only when each one is back at its value before the run.
 */
async function rollBack(
  plan: Plan,
  runCtx: StepContext,
  touched: number[],
  results: StepResult[],
): Promise<string | undefined> {
  // The run's signal may be aborted (Ctrl-C): the rollback's waits must still run to the end.
  const ctx: StepContext = {...runCtx, signal: new AbortController().signal}
  const failures: string[] = []
  for (const i of [...touched].reverse()) {
    const step = plan.steps[i]!
    try {
      ctx.progress.line(`undo ${i + 1}/${plan.steps.length} ${step.title}`)
      await step.undo(ctx)
      results[i]!.status = 'undone'
    } catch (err) {
      results[i]!.status = 'undo-failed'
      const why = `could not undo "${step.title}": ${errorMessage(err)}`
      ctx.progress.line(why)
      failures.push(why)
    }
  }
  const leftOver = await checkRestored(ctx)
  if (failures.length > 0 || leftOver) return [...failures, ...(leftOver ? [leftOver] : [])].join('; ')
  try {
    await ctx.record.dropRun()
  } catch (err) {
    ctx.info(`warning: the record ConfigMap could not be cleaned up: ${errorMessage(err)}`)
  }
  return undefined
}

/** Re-reads every field this run recorded and says which are not at their value before the run (undefined: all are). */
async function checkRestored(ctx: StepContext): Promise<string | undefined> {
  const changes = ctx.record.runEntries().flatMap((e) => e.changes)
  const problems = await liveProblems(ctx, changes, 'before', 'before this run')
  if (problems.length === 0) {
    if (changes.length) ctx.progress.line(`re-read ${changes.length} changed object(s): every field is as before this run`)
    return undefined
  }
  for (const p of problems) ctx.progress.line(`not restored: ${p}`)
  return `not restored: ${problems.join('; ')}`
}

/** The exit error for a failed run: says what failed and whether the cluster was restored. */
export function runError(result: RunResult, recordNs: string): PlanError | undefined {
  if (result.outcome === 'done' || result.outcome === 'nothing-to-do') return undefined
  if (result.outcome === 'rolled-back') {
    return new PlanError(`${result.error}; rolled back: the cluster was restored (every field this run changed was re-read and is as before this run)`, {
      stepId: result.failedStep,
    })
  }
  return new PlanError(`${result.error}; rollback did not finish: ${result.rollbackError}`, {
    stepId: result.failedStep,
    remedy:
      `The record of what was changed is kept in ConfigMap ${recordNs}/ebpfctl-state; fix the cause and run ` +
      `\`${cliCommand('revert')}\`.`,
  })
}
