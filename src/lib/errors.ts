/** Exit codes are part of the CLI's contract (README "Exit codes"); never change their meaning. */
export const ExitCode = {
  /** Nothing failed. */
  Ok: 0,
  /** A check failed, drift was found, a step failed (and was rolled back), or status disagrees. */
  Failed: 1,
  /** Usage error, bad kubeconfig or context, unreachable or refusing API server. */
  Usage: 2,
} as const

/**
 * The one error type shown to users: a one-line message naming what is wrong, a remedy saying what to do,
 * and the exit code. Everything else that escapes a command is a bug and is reported with its stack.
 */
export class UserError extends Error {
  readonly remedy?: string
  readonly exitCode: number

  constructor(message: string, options: {remedy?: string; exitCode?: number; cause?: unknown} = {}) {
    super(message, {cause: options.cause})
    this.name = 'UserError'
    this.remedy = options.remedy
    this.exitCode = options.exitCode ?? ExitCode.Usage
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError
}
