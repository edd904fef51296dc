import {KubeApiError} from '../kube/errors.js'
import {InterruptedError} from './errors.js'

export interface RetryOptions {
  retries: number
  delayMs: number
  signal?: AbortSignal
  /** Retry network errors, timeouts and 5xx too (undo and record cleanup); conflicts are always retried. */
  transient?: boolean
  /** Called before retrying a 409 conflict (re-read the object). */
  onConflict?: () => Promise<void>
  /** Called before every retry (for logging). */
  onRetry?: (err: KubeApiError, attempt: number) => void
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, {once: true})
  })

/** Runs a write, retrying 409 conflicts (after onConflict) and, when asked, transient errors; bounded by retries. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (!(err instanceof KubeApiError) || attempt > opts.retries) throw err
      const retryable = err.isConflict || (opts.transient === true && err.isTransient)
      if (!retryable) throw err
      if (opts.signal?.aborted && !opts.transient) throw new InterruptedError()
      opts.onRetry?.(err, attempt)
      // Undo keeps going when interrupted (opts.transient): a second Ctrl-C must not strand a half-restored cluster.
      await sleep(opts.delayMs * attempt, opts.transient ? undefined : opts.signal)
      if (err.isConflict) await opts.onConflict?.()
    }
  }
}
