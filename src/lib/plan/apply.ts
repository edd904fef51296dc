import {KubeApiError} from '../kube/errors.js'
import type {KubeObject} from '../kube/types.js'
import {errorMessage} from './errors.js'
import {getPath, inverseChange, objectLabel, patchBody, sameValue, showFieldValue, showPath} from './fields.js'
import {withRetry} from './retry.js'
import type {FieldChange, ObjectChange, StepContext} from './types.js'

/**
 * An annotation ebpfctl sets and removes again to move an object's resourceVersion on: every ebpfctl patch carries
 * the resourceVersion it was computed from as a precondition, so a request that is still in flight after ebpfctl
 * gave up on it fails with a conflict when it finally arrives instead of landing behind the rollback's back.
 */
export const FENCE_ANNOTATION = 'ebpfctl.io/fence'

type Which = 'before' | 'after'

const unknownOutcome = (err: unknown) => err instanceof KubeApiError && err.isTransient

async function readLive(ctx: StepContext, change: ObjectChange): Promise<KubeObject | undefined> {
  return ctx.kube.get<KubeObject>(change.resource, change.name, change.namespace)
}

/** True when the live object has every field of the change at its `which` value (absent object: every field absent). */
export function fieldsAre(live: KubeObject | undefined, fields: FieldChange[], which: Which): boolean {
  return fields.every((f) => sameValue(getPath(live, f.path), f[which]))
}

/** A patch body that only applies to the object at `resourceVersion` (a 409 otherwise, also when it arrives late). */
export function conditional(body: unknown, resourceVersion: string | undefined): unknown {
  if (!resourceVersion || !body || typeof body !== 'object') return body
  const b = body as {metadata?: Record<string, unknown>}
  return {...b, metadata: {...b.metadata, resourceVersion}}
}

/**
 * Moves the object's resourceVersion on (annotation set, then removed), so that a write of ours whose answer never
 * came can no longer land. Returns false when the fence could not be written (the caller warns).
 */
async function fence(ctx: StepContext, change: ObjectChange, live: KubeObject): Promise<boolean> {
  const {resource, name, namespace} = change
  try {
    const stamp = new Date().toISOString()
    await ctx.kube.patch(
      resource,
      name,
      namespace,
      {metadata: {resourceVersion: live.metadata.resourceVersion, annotations: {[FENCE_ANNOTATION]: stamp}}},
      'merge',
    )
  } catch (err) {
    if (err instanceof KubeApiError && err.isConflict) return true // it moved on anyway (perhaps our write landed)
    return false
  }
  try {
    await ctx.kube.patch(resource, name, namespace, {metadata: {annotations: {[FENCE_ANNOTATION]: null}}}, 'merge')
  } catch (err) {
    ctx.info(`warning: could not remove annotation ${FENCE_ANNOTATION} from ${objectLabel(change)}: ${errorMessage(err)}`)
  }
  return true
}

/**
 * After a write whose outcome is unknown (no answer, dropped connection, 5xx): the live object is the truth. Returns
 * true when the write is there; otherwise fences the object so the write can never land later, re-reads, and returns
 * whether it landed after all.
 */
async function settle(ctx: StepContext, change: ObjectChange, which: Which): Promise<boolean> {
  for (let attempt = 0; attempt <= ctx.timing.retries; attempt++) {
    let live: KubeObject | undefined
    try {
      live = await readLive(ctx, change)
    } catch {
      continue
    }
    if (change.action === 'delete' ? !live : fieldsAre(live, change.fields, which)) return true
    if (!live) return change.action === 'create' ? claimName(ctx, change) : false // nothing a late patch could land on
    if (await fence(ctx, change, live)) {
      // Re-read: the write may have landed between the read and the fence (then the fence itself conflicted).
      const after = await readLive(ctx, change).catch(() => undefined)
      return after !== undefined && fieldsAre(after, change.fields, which)
    }
  }
  ctx.info(
    `warning: the outcome of a write to ${objectLabel(change)} is unknown and the object could not be fenced: ` +
      'it may still land',
  )
  return false
}

/**
 * A create whose answer never came, of an object that is not there: a create carries no precondition, so it cannot be
 * fenced. Create it now, with an answer: once the name is taken, the lost request fails with AlreadyExists whenever it
 * arrives, instead of bringing the object back after a rollback has removed it. True when the object is now ours.
 */
async function claimName(ctx: StepContext, change: ObjectChange): Promise<boolean> {
  try {
    await ctx.kube.create(change.resource, change.body as KubeObject)
    return true
  } catch (err) {
    if (!(err instanceof KubeApiError && err.code === 409)) return false
    // The lost request landed meanwhile: ours if it has our fields.
    const live = await readLive(ctx, change).catch(() => undefined)
    return fieldsAre(live, change.fields, 'after')
  }
}

/** The change recomputed on the live object (before values as they are now; a create of an existing object patches). */
export function onLive(change: ObjectChange, live: KubeObject | undefined): ObjectChange {
  if (!live) return change
  const fields = change.fields.map((f) => ({...f, before: getPath(live, f.path)}))
  return {...change, action: 'patch', body: patchBody(fields, 'after'), fields}
}

/**
 * Makes one change, state-based: re-reads the object, writes only when a field differs, with the object's
 * resourceVersion as a precondition (a 409 re-reads and retries, bounded). A write whose outcome is unknown is settled
 * on the live object (fenced when it did not land, so it cannot land later) and then thrown, so the runner rolls back;
 * a definite refusal (403, 422) is thrown too.
 */
export async function applyChange(ctx: StepContext, change: ObjectChange): Promise<ObjectChange> {
  if (change.by === 'operator') return change
  let current = change
  // The change as computed before the last write this call sent: if a retry then finds the fields already there (that
  // write landed, its answer was lost, the client's retry conflicted), the values from before it are the "before".
  let sent: ObjectChange | undefined
  await withRetry(
    async () => {
      const live = await readLive(ctx, change)
      current = onLive(change, live)
      if (live && fieldsAre(live, current.fields, 'after')) {
        if (sent) current = sent
        return // already there: nothing to write
      }
      sent = current
      try {
        if (current.action === 'create') await ctx.kube.create(current.resource, current.body as KubeObject)
        else
          await ctx.kube.patch(
            current.resource,
            current.name,
            current.namespace,
            conditional(current.body, live?.metadata.resourceVersion),
            current.patchType,
          )
      } catch (err) {
        // Created meanwhile (perhaps by our own earlier attempt): re-read and patch.
        if (err instanceof KubeApiError && err.code === 409 && err.reason === 'AlreadyExists')
          throw new KubeApiError({message: err.message, code: 409, reason: 'Conflict', verb: err.verb, resource: err.resource})
        if (unknownOutcome(err) && (await settle(ctx, current, 'after'))) return
        throw err
      }
    },
    {
      retries: ctx.timing.retries,
      delayMs: ctx.timing.retryDelayMs,
      signal: ctx.signal,
      onRetry: (err) => ctx.info(`retrying ${objectLabel(current)}: ${err.message}`),
    },
  )
  return current
}

/** Undoes one recorded change; state-based and conditional (see applyRobust); an object that is gone is left alone. */
export async function undoChange(ctx: StepContext, change: ObjectChange): Promise<void> {
  await applyRobust(ctx, inverseChange(change), 'undo of ')
}

/**
 * Makes a change (patch or delete; revert and undo), state-based: when the live object already has every field at
 * the wanted value there is no write; otherwise only the fields that differ are patched, with the resourceVersion as
 * a precondition. Conflicts and transient errors are retried (each attempt re-reads first); a 404 is success.
 */
export async function applyRobust(ctx: StepContext, change: ObjectChange, what = ''): Promise<void> {
  if (change.by === 'operator') return
  await withRetry(
    async () => {
      const live = await readLive(ctx, change)
      if (change.action === 'delete') {
        if (!live) return
      } else if (change.action === 'create') {
        if (live) return
      } else {
        if (!live) return // nothing left to patch back
        const differ = change.fields.filter((f) => !sameValue(getPath(live, f.path), f.after))
        if (differ.length === 0) return
      }
      try {
        if (change.action === 'delete') await ctx.kube.delete(change.resource, change.name, change.namespace)
        else if (change.action === 'create') await ctx.kube.create(change.resource, change.body as KubeObject)
        else {
          const body = conditional(change.body, live?.metadata.resourceVersion)
          await ctx.kube.patch(change.resource, change.name, change.namespace, body, change.patchType)
        }
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

export interface FieldReport {
  object: string
  path: string[]
  want: ObjectChange['fields'][number]['before']
  live: ObjectChange['fields'][number]['before']
}

/**
 * Re-reads every field of the changes and returns those whose live value is not their `which` value (for a created
 * object undone: the object must be gone). An object that cannot be read is reported as such.
 */
export async function liveMismatches(
  ctx: StepContext,
  changes: ObjectChange[],
  which: Which,
): Promise<{mismatches: FieldReport[]; unreadable: string[]}> {
  const mismatches: FieldReport[] = []
  const unreadable: string[] = []
  for (const change of changes) {
    let live: KubeObject | undefined
    try {
      live = await withRetry(() => readLive(ctx, change), {
        retries: ctx.timing.retries,
        delayMs: ctx.timing.retryDelayMs,
        transient: true,
      })
    } catch (err) {
      unreadable.push(`${objectLabel(change)}: ${errorMessage(err)}`)
      continue
    }
    const gone = which === 'before' ? change.action === 'create' : change.action === 'delete'
    if (gone) {
      if (live) mismatches.push({object: objectLabel(change), path: [], want: {present: false}, live: {present: true, value: '(exists)'}})
      continue
    }
    for (const f of change.fields) {
      const now = getPath(live, f.path)
      if (!sameValue(now, f[which])) mismatches.push({object: objectLabel(change), path: f.path, want: f[which], live: now})
    }
  }
  return {mismatches, unreadable}
}

/** One line per field that is not where it should be ("X spec.y is 1 (<wantLabel>: 2)"), and per unreadable object. */
export async function liveProblems(
  ctx: StepContext,
  changes: ObjectChange[],
  which: Which,
  wantLabel: string,
): Promise<string[]> {
  const {mismatches, unreadable} = await liveMismatches(ctx, changes, which)
  return [
    ...mismatches.map(
      (m) =>
        `${m.object}${m.path.length ? ` ${showPath(m.path)}` : ''} is ${showFieldValue(m.live)} (${wantLabel}: ` +
        `${showFieldValue(m.want)})`,
    ),
    ...unreadable.map((u) => `cannot re-read ${u}`),
  ]
}
