import type {ErrorObject, ValidateFunction} from 'ajv'

import type {ClusterState, InstallInfo} from '../kube/cluster.js'
import {UserError} from '../errors.js'
import {patchBody, showPath} from './fields.js'
import {type EnableRecord, RECORD_CONFIGMAP, RECORD_KEY} from './record.js'
import {STEP_WRITES, StepIds} from './steps.js'
import type {FieldChange, FieldValue, ObjectChange} from './types.js'
import {type ValueSchema, describeTarget, findRule, leavesOf, resolveWrites, writeProblem} from './writes.js'

/** Larger than any record enable writes (a few KiB per run) by orders of magnitude. */
export const MAX_RECORD_BYTES = 1024 * 1024

/** The record is not one ebpfctl wrote: refused before anything is changed (exit 2). */
export class RecordError extends UserError {
  constructor(namespace: string, detail: string) {
    super(
      `the enable record ConfigMap ${namespace}/${RECORD_CONFIGMAP} was not written by ebpfctl or was changed: ` +
        `${detail}; nothing was changed (see it: kubectl get cm ${RECORD_CONFIGMAP} -n ${namespace} -o yaml)`,
      {
        remedy:
          'Restore the record from where it came from, or delete it to fall back to the best-effort revert of the ' +
          'well-known changes.',
      },
    )
    this.name = 'RecordError'
  }
}

const fieldValue = {
  oneOf: [
    {type: 'object', properties: {present: {const: false}}, required: ['present'], additionalProperties: false},
    {
      type: 'object',
      properties: {present: {const: true}, value: {}},
      required: ['present', 'value'],
      additionalProperties: false,
    },
  ],
}
const shortString = (maxLength: number) => ({type: 'string', maxLength})

/** The shape of EnableRecord (record.ts); bounds are far above what enable writes. */
const RECORD_SCHEMA = {
  type: 'object',
  required: ['version', 'entries'],
  properties: {
    version: {const: 1},
    install: {type: 'object'},
    options: {type: 'object'},
    createdAt: shortString(64),
    updatedAt: shortString(64),
    status: {enum: ['in-progress', 'complete']},
    entries: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        required: ['stepId', 'run', 'state', 'changes'],
        properties: {
          stepId: shortString(64),
          run: shortString(64),
          state: {enum: ['applying', 'applied']},
          at: shortString(64),
          changes: {
            type: 'array',
            maxItems: 16,
            items: {
              type: 'object',
              required: ['resource', 'name', 'action', 'patchType', 'fields'],
              properties: {
                resource: {
                  type: 'object',
                  required: ['group', 'version', 'plural'],
                  properties: {
                    group: shortString(253),
                    version: shortString(64),
                    plural: shortString(253),
                    kind: shortString(253),
                    namespaced: {type: 'boolean'},
                  },
                },
                namespace: shortString(253),
                name: shortString(253),
                action: {enum: ['create', 'patch', 'delete']},
                by: {const: 'operator'},
                patchType: {enum: ['merge', 'strategic']},
                body: {},
                fields: {
                  type: 'array',
                  maxItems: 16,
                  items: {
                    type: 'object',
                    required: ['path', 'before', 'after'],
                    properties: {
                      path: {type: 'array', minItems: 1, maxItems: 16, items: shortString(316)},
                      before: fieldValue,
                      after: fieldValue,
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
}

interface Validators {
  record: ValidateFunction
  value: (schema: ValueSchema) => ValidateFunction
}

let validators: Promise<Validators> | undefined

/** ajv is loaded only when a record is read (enable, revert, status), not at startup. */
function loadValidators(): Promise<Validators> {
  validators ??= import('ajv').then(({Ajv}) => {
    const ajv = new Ajv({allErrors: false, strict: false})
    const cache = new Map<string, ValidateFunction>()
    return {
      record: ajv.compile(RECORD_SCHEMA),
      value: (schema) => {
        const key = JSON.stringify(schema)
        let fn = cache.get(key)
        if (!fn) cache.set(key, (fn = ajv.compile(schema)))
        return fn
      },
    }
  })
  return validators
}

const describeAjv = (e: ErrorObject, whole = '(the record)') =>
  `${e.instancePath || whole} ${e.message ?? 'is invalid'}`.trim()

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)

/** Every leaf of a value added as a whole map, as paths relative to the map. */
function leafEntries(v: unknown, prefix: string[] = []): [string[], unknown][] {
  if (!isPlainObject(v) || Object.keys(v).length === 0) return [[prefix, v]]
  return Object.entries(v).flatMap(([k, inner]) => leafEntries(inner, [...prefix, k]))
}

export interface RecordCheckContext {
  install: InstallInfo
  state: ClusterState
  namespace: string
}

/**
 * Parses and checks the in-cluster record: size, shape (ajv), and every change against the objects and fields enable
 * itself writes (STEP_WRITES), with the types of prior values. Returns the record with each change's API resource
 * replaced by ebpfctl's own and its body rebuilt from the checked fields, so nothing unchecked is ever sent.
 * Throws RecordError. Undefined when there is no record.
 */
export async function checkRecord(
  cm: {data?: Record<string, unknown>} | undefined,
  ctx: RecordCheckContext,
): Promise<EnableRecord | undefined> {
  if (!cm) return undefined
  // Names in the detail come from the record: escaped, so the error stays one line and cannot drive the terminal.
  const fail = (detail: string) =>
    new RecordError(
      ctx.namespace,
      detail.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`),
    )
  const text = cm.data?.[RECORD_KEY]
  if (typeof text !== 'string') throw fail(`it has no ${RECORD_KEY} key`)
  if (Buffer.byteLength(text) > MAX_RECORD_BYTES) throw fail(`${RECORD_KEY} is larger than ${MAX_RECORD_BYTES} bytes`)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw fail(`${RECORD_KEY} is not JSON`)
  }
  const v = await loadValidators()
  if (!v.record(parsed)) throw fail(`${RECORD_KEY}: ${describeAjv(v.record.errors![0]!)}`)
  const record = parsed as EnableRecord
  const writes = resolveWrites(STEP_WRITES, ctx.install, ctx.state)
  const stepIds = new Set(Object.values(StepIds))
  record.entries = record.entries.map((entry, i) => {
    const where = `entry ${i} (step "${entry.stepId}")`
    if (!stepIds.has(entry.stepId as never) || !STEP_WRITES[entry.stepId])
      throw fail(`${where}: not a step of enable that writes`)
    const changes = entry.changes.map((c, j) => {
      const at = `${where} change ${j}`
      const problem = writeProblem(writes, entry.stepId, c)
      if (problem) throw fail(`${at}: ${problem}`)
      const rule = findRule(writes, entry.stepId, c)!
      for (const f of c.fields) {
        const bad = fieldValueProblem(v, rule, f)
        if (bad) throw fail(`${at}: ${describeTarget(c)} ${showPath(f.path)} ${bad}`)
      }
      const fields: FieldChange[] = c.fields.map((f) => ({path: [...f.path], before: f.before, after: f.after}))
      const checked: ObjectChange = {
        resource: rule.resource,
        ...(rule.resolvedNamespace ? {namespace: rule.resolvedNamespace} : {}),
        name: rule.resolvedName,
        action: c.action,
        ...(c.by ? {by: c.by} : {}),
        patchType: c.patchType,
        // Undo never sends a recorded body: an undo is a delete (of a created object) or a patch built from fields.
        body: c.action === 'create' ? null : patchBody(fields, 'after'),
        fields,
      }
      return checked
    })
    return {...entry, changes}
  })
  return record
}

function fieldValueProblem(v: Validators, rule: Parameters<typeof leavesOf>[0], f: FieldChange): string | undefined {
  const leaves = leavesOf(rule, f)!
  const exact = leaves.length === 1 && leaves[0]!.path.length === f.path.length
  const check = (which: 'before' | 'after', fv: FieldValue): string | undefined => {
    if (!fv.present) return undefined
    if (which === 'before' && leaves.some((l) => l.priorAbsent))
      return 'before value must be absent (enable only adds this key: restoring a value would switch kube-proxy off)'
    if (exact) {
      const validate = v.value(leaves[0]!.value)
      return validate(fv.value) ? undefined : `${which} value ${describeAjv(validate.errors![0]!, '')}`
    }
    // A map that was absent and added whole: only the allowed keys, each with a valid value.
    if (which === 'before') return 'before value must be absent (a map enable added whole)'
    for (const [rel, leafValue] of leafEntries(fv.value)) {
      const full = [...f.path, ...rel]
      const leaf = leaves.find((l) => l.path.length === full.length && l.path.every((s, i) => s === full[i]))
      if (!leaf) return `${which} value holds ${showPath(full)}, which enable never writes`
      const validate = v.value(leaf.value)
      if (!validate(leafValue)) return `${which} value at ${showPath(full)} ${describeAjv(validate.errors![0]!, '')}`
    }
    return undefined
  }
  return check('before', f.before) ?? check('after', f.after)
}
