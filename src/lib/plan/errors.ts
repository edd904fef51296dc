import {ExitCode, UserError} from '../errors.js'

/** A step that failed (write refused, wait timed out, verify did not pass, interrupted). Exit code 1. */
export class PlanError extends UserError {
  readonly stepId?: string
  constructor(message: string, opts: {remedy?: string; stepId?: string; cause?: unknown} = {}) {
    super(message, {remedy: opts.remedy, exitCode: ExitCode.Failed, cause: opts.cause})
    this.name = 'PlanError'
    this.stepId = opts.stepId
  }
}

export class InterruptedError extends PlanError {
  constructor() {
    super('interrupted (SIGINT)')
    this.name = 'InterruptedError'
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
