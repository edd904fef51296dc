/**
 * `--dry-run=server`: every write the plan would make, sent to the API server with `dryRun=All`, so validation,
 * admission webhooks and RBAC judge the exact bodies a real run would send (re-read and made conditional exactly as
 * applyChange does) while nothing is persisted. Each answer is reported as the write would land.
 */
import type {KubeClient} from '../kube/client.js'
import {KubeApiError} from '../kube/errors.js'
import type {KubeObject} from '../kube/types.js'
import {conditional, fieldsAre, onLive} from './apply.js'
import {errorMessage} from './errors.js'
import {getPath, objectLabel, sameValue, showPath} from './fields.js'
import type {FieldValue, ObjectChange, Plan, Step} from './types.js'

export interface ServerDryRunResult {
  step: string
  object: string
  action: ObjectChange['action']
  /** would-apply: accepted; unchanged: the live object already has it (nothing sent); refused: the server said no. */
  outcome: 'would-apply' | 'unchanged' | 'refused'
  /** Each touched field: live now, and as the API server says it would be after the write. */
  fields?: {path: string; live: FieldValue; wouldBe: FieldValue; asPlanned: boolean}[]
  error?: {code?: number; reason?: string; message: string}
}

async function dryRunChange(kube: KubeClient, stepId: string, change: ObjectChange): Promise<ServerDryRunResult> {
  const base = {step: stepId, object: objectLabel(change), action: change.action}
  try {
    const live = await kube.get<KubeObject>(change.resource, change.name, change.namespace)
    if (change.action === 'delete') {
      if (!live) return {...base, outcome: 'unchanged'}
      await kube.delete(change.resource, change.name, change.namespace, {dryRun: true})
      return {...base, outcome: 'would-apply'}
    }
    const current = onLive(change, live)
    if (live && fieldsAre(live, current.fields, 'after')) return {...base, outcome: 'unchanged'}
    const landed =
      current.action === 'create'
        ? await kube.create(current.resource, current.body as KubeObject, {dryRun: true})
        : await kube.patch<KubeObject>(
            current.resource,
            current.name,
            current.namespace,
            conditional(current.body, live?.metadata.resourceVersion),
            current.patchType,
            {dryRun: true},
          )
    const fields = current.fields.map((f) => {
      const wouldBe = getPath(landed, f.path)
      return {path: showPath(f.path), live: f.before, wouldBe, asPlanned: sameValue(wouldBe, f.after)}
    })
    return {...base, action: current.action, outcome: 'would-apply', fields}
  } catch (err) {
    const error =
      err instanceof KubeApiError
        ? {code: err.code, reason: err.reason, message: err.message}
        : {message: errorMessage(err)}
    return {...base, outcome: 'refused', error}
  }
}

/** Sends each pending step's writes (not the operator's own) with dryRun=All, in plan order. */
export async function serverDryRun(
  kube: KubeClient,
  plan: Plan,
  state: Parameters<Step['alreadyDone']>[0],
): Promise<ServerDryRunResult[]> {
  const results: ServerDryRunResult[] = []
  for (const step of plan.steps) {
    if (step.alreadyDone(state)) continue
    for (const change of step.changes()) {
      if (change.by === 'operator') continue
      results.push(await dryRunChange(kube, step.id, change))
    }
  }
  return results
}

const show = (v: FieldValue) => (v.present ? JSON.stringify(v.value) : '(absent)')

/** One line per write (and per field the server would set otherwise than planned). */
export function renderServerDryRun(results: ServerDryRunResult[]): string[] {
  if (results.length === 0) return ['Server dry run: no writes to send.']
  const lines = [`Server dry run (dryRun=All; nothing persisted): ${results.length} write(s)`]
  for (const r of results) {
    if (r.outcome === 'refused') {
      const code = r.error?.code ? ` ${r.error.code}${r.error.reason ? ` ${r.error.reason}` : ''}` : ''
      lines.push(`  REFUSED  ${r.object} (${r.action}):${code} ${r.error?.message ?? ''}`)
      continue
    }
    if (r.outcome === 'unchanged') {
      lines.push(`  ok       ${r.object}: already as planned, nothing to send`)
      continue
    }
    const fields = (r.fields ?? []).map((f) => `${f.path} = ${show(f.wouldBe)}${f.asPlanned ? '' : ' (not as planned!)'}`)
    lines.push(`  ok       ${r.object} (${r.action}) would land${fields.length ? `: ${fields.join(', ')}` : ''}`)
  }
  return lines
}
