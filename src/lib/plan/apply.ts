import {KubeApiError} from '../kube/errors.js'
import type {KubeObject} from '../kube/types.js'
import {getPath, inverseChange, objectLabel, patchBody} from './fields.js'
import {withRetry} from './retry.js'
import type {ObjectChange, StepContext} from './types.js'

async function reread(ctx: StepContext, change: ObjectChange): Promise<ObjectChange> {
  const obj = await ctx.kube.get<KubeObject>(change.resource, change.name, change.namespace)
  const fields = change.fields.map((f) => ({...f, before: getPath(obj, f.path)}))
  if (!obj) return {...change, fields}
  return {...change, action: 'patch', body: patchBody(fields, 'after'), fields}
}

/**
 * Makes one change. A 409 conflict re-reads the object (fresh before values) and retries, bounded; any other error
 * (403, 5xx, timeouts) is thrown so the runner rolls back.
 */
export async function applyChange(ctx: StepContext, change: ObjectChange): Promise<ObjectChange> {
  if (change.by === 'operator') return change
  let current = change
  await withRetry(
    async () => {
      if (current.action === 'create') {
        try {
          await ctx.kube.create(current.resource, current.body as KubeObject)
        } catch (err) {
          if (!(err instanceof KubeApiError && err.code === 409 && err.reason === 'AlreadyExists')) throw err
          current = await reread(ctx, current)
          await ctx.kube.patch(current.resource, current.name, current.namespace, current.body, current.patchType)
        }
      } else {
        await ctx.kube.patch(current.resource, current.name, current.namespace, current.body, current.patchType)
      }
    },
    {
      retries: ctx.timing.retries,
      delayMs: ctx.timing.retryDelayMs,
      signal: ctx.signal,
      onConflict: async () => {
        current = await reread(ctx, current)
      },
      onRetry: (err) => ctx.info(`retrying ${objectLabel(current)}: ${err.message}`),
    },
  )
  return current
}

/** Undoes one recorded change; retried on conflicts and transient errors; an object that is gone is left alone. */
export async function undoChange(ctx: StepContext, change: ObjectChange): Promise<void> {
  await applyRobust(ctx, inverseChange(change), 'undo of ')
}

/** Makes a change (patch or delete; revert and undo), retrying conflicts and transient errors; a 404 is success. */
export async function applyRobust(ctx: StepContext, change: ObjectChange, what = ''): Promise<void> {
  if (change.by === 'operator') return
  await withRetry(
    async () => {
      try {
        if (change.action === 'delete') await ctx.kube.delete(change.resource, change.name, change.namespace)
        else if (change.action === 'create') await ctx.kube.create(change.resource, change.body as KubeObject)
        else await ctx.kube.patch(change.resource, change.name, change.namespace, change.body, change.patchType)
      } catch (err) {
        if (err instanceof KubeApiError && err.isNotFound) return
        if (err instanceof KubeApiError && err.code === 409 && err.reason === 'AlreadyExists') return
        throw err
      }
    },
    {
      retries: ctx.timing.retries,
      delayMs: ctx.timing.retryDelayMs,
      transient: true,
      onRetry: (err, n) => ctx.info(`retrying ${what}${objectLabel(change)} (attempt ${n + 1}): ${err.message}`),
    },
  )
}
