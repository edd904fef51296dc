import type {PatchType} from '../kube/client.js'
import {qualifiedName} from '../kube/resources.js'
import type {KubeObject} from '../kube/types.js'
import {ABSENT, type FieldChange, type FieldValue, type ObjectChange, value} from './types.js'

type Json = Record<string, unknown>
const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v)

/** `containers[calico-node]` → {key: 'containers', name: 'calico-node'}. */
function listSegment(seg: string): {key: string; name: string} | undefined {
  const m = seg.match(/^([^[]+)\[(.+)\]$/)
  return m ? {key: m[1]!, name: m[2]!} : undefined
}

/** The value at a path (see FieldChange for `key[name]` segments). */
export function getPath(obj: unknown, path: string[]): FieldValue {
  let cur: unknown = obj
  for (const seg of path) {
    const list = listSegment(seg)
    if (list) {
      const arr = isObj(cur) ? cur[list.key] : undefined
      cur = Array.isArray(arr) ? arr.find((e) => isObj(e) && e.name === list.name) : undefined
    } else {
      cur = isObj(cur) && Object.hasOwn(cur, seg) ? cur[seg] : undefined
    }
    if (cur === undefined) return ABSENT
  }
  return value(cur)
}

export function sameValue(a: FieldValue, b: FieldValue): boolean {
  if (!a.present || !b.present) return a.present === b.present
  return JSON.stringify(a.value) === JSON.stringify(b.value)
}

/** A change of one field of `obj` to `after`; undefined when the field already has that value. */
export function fieldChange(obj: unknown, path: string[], after: unknown): FieldChange | undefined {
  const before = getPath(obj, path)
  const next = value(after)
  if (sameValue(before, next)) return undefined
  if (!before.present && next.present) {
    // Adding under maps that do not exist yet: the change is the outermost missing map, so that undo removes it
    // whole (instead of leaving an empty `annotations: {}` behind).
    let cut = path.length
    while (cut > 1 && !listSegment(path[cut - 2]!) && !getPath(obj, path.slice(0, cut - 1)).present) cut--
    if (cut < path.length) {
      const nested = path.slice(cut).reduceRight<unknown>((acc, seg) => ({[seg]: acc}), next.value)
      return {path: path.slice(0, cut), before: ABSENT, after: value(nested)}
    }
  }
  return {path, before, after: next}
}

/**
 * The patch body that sets every field to its `after` (or `before`, for undo) value. Absent values become null, which
 * deletes the key in both merge and strategic patches. `key[name]` segments become a one-element list merged by name
 * (strategic patches only).
 */
export function patchBody(fields: FieldChange[], which: 'before' | 'after'): Json {
  const root: Json = {}
  for (const f of fields) {
    const v = f[which]
    let cur: Json = root
    for (const [i, seg] of f.path.entries()) {
      const last = i === f.path.length - 1
      const list = listSegment(seg)
      if (list) {
        const arr = (cur[list.key] ??= []) as Json[]
        let el = arr.find((e) => e.name === list.name)
        if (!el) arr.push((el = {name: list.name}))
        cur = el
        continue
      }
      if (last) cur[seg] = v.present ? structuredClone(v.value) : null
      else if (cur[seg] === null)
        break // an ancestor is deleted by this patch already
      else cur = (cur[seg] ??= {}) as Json
    }
  }
  return root
}

/** The object with the fields' after values (plain paths; list elements by name), for judging later fields. */
function applyFields(obj: unknown, fields: FieldChange[]): unknown {
  const root = (isObj(obj) ? structuredClone(obj) : {}) as Json
  for (const f of fields) {
    let cur: Json = root
    for (const [i, seg] of f.path.entries()) {
      const last = i === f.path.length - 1
      const list = listSegment(seg)
      if (list) {
        const arr = (Array.isArray(cur[list.key]) ? cur[list.key] : (cur[list.key] = [])) as Json[]
        let el = arr.find((e) => isObj(e) && e.name === list.name)
        if (!el) arr.push((el = {name: list.name}))
        cur = el
      } else if (last) {
        if (f.after.present) cur[seg] = structuredClone(f.after.value)
        else delete cur[seg]
      } else {
        if (!isObj(cur[seg])) cur[seg] = {}
        cur = cur[seg] as Json
      }
    }
  }
  return root
}

/** A patch change of `obj`, or undefined when every field already has its value. */
export function patchChange(
  ref: Pick<ObjectChange, 'resource' | 'namespace' | 'name'>,
  obj: KubeObject | undefined,
  sets: [path: string[], after: unknown][],
  patchType: PatchType = 'merge',
): ObjectChange | undefined {
  // Each field is judged on the object as the earlier fields left it (two keys under one missing map).
  let working: unknown = structuredClone(obj ?? {})
  const fields: FieldChange[] = []
  for (const [p, v] of sets) {
    const f = fieldChange(working, p, v)
    if (!f) continue
    fields.push(f)
    working = applyFields(working, [f])
  }
  if (fields.length === 0) return undefined
  return {...ref, action: 'patch', patchType, body: patchBody(fields, 'after'), fields}
}

/** The change that undoes `change`: delete what was created, patch the rest back to the before values. */
export function inverseChange(change: ObjectChange): ObjectChange {
  const fields = [...change.fields].reverse().map((f) => ({path: f.path, before: f.after, after: f.before}))
  const {by: _by, ...rest} = change
  if (change.action === 'create') return {...rest, action: 'delete', body: null, fields}
  return {...rest, action: 'patch', body: patchBody(change.fields, 'before'), fields}
}

export function showPath(path: string[]): string {
  return path.map((seg) => (/^[A-Za-z_$][\w$-]*(\[.*\])?$/.test(seg) ? seg : JSON.stringify(seg))).join('.')
}

export const showFieldValue = (v: FieldValue) => (v.present ? JSON.stringify(v.value) : '(absent)')

export function objectLabel(change: Pick<ObjectChange, 'resource' | 'namespace' | 'name'>): string {
  const where = change.namespace ? `${change.namespace}/${change.name}` : change.name
  return `${qualifiedName(change.resource)} ${where}`
}

/** The change rendered as a diff: touched fields before (-) and after (+), then the body that is sent. */
export function renderChange(change: ObjectChange): string {
  const how =
    change.by === 'operator'
      ? 'made by the operator'
      : change.action === 'patch'
        ? `${change.patchType} patch`
        : change.action
  const lines = [`${objectLabel(change)} (${how})`]
  for (const f of change.fields) {
    const p = showPath(f.path)
    if (f.before.present) lines.push(`- ${p}: ${showFieldValue(f.before)}`)
    lines.push(`+ ${p}: ${showFieldValue(f.after)}`)
  }
  if (change.action !== 'delete' && change.by !== 'operator') {
    lines.push(`  ${change.action === 'create' ? 'object' : 'body'}: ${JSON.stringify(change.body)}`)
  }
  return lines.join('\n')
}
