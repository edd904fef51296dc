/**
 * CRD schema handling like kube-apiserver's apiextensions: prune unknown fields, drop nulls of non-nullable fields,
 * apply `default`s, then validate with ajv. `x-kubernetes-*` keywords are translated or ignored:
 *  - x-kubernetes-int-or-string → anyOf integer|string
 *  - x-kubernetes-preserve-unknown-fields → no pruning below that node
 *  - x-kubernetes-embedded-resource → treated as preserve-unknown-fields (apiVersion/kind/metadata kept)
 *  - x-kubernetes-validations (CEL), x-kubernetes-list-type/map-keys, x-kubernetes-map-type → NOT enforced
 * Formats (int32, int64, cidr, date-time, byte) are not checked.
 * Go regexps: a leading `(?i)` becomes the JS `i` flag; patterns are compiled without the `u` flag (Go accepts `[0-9-_]`).
 */
import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv'

export type Schema = Record<string, any>

export interface FieldCause {
  reason: string
  message: string
  field: string
}

const validators = new Map<string, ValidateFunction | null>()
let ajv: Ajv | undefined

function goRegExp(pattern: string): RegExp {
  let flags = ''
  let p = pattern
  if (p.startsWith('^(?i)')) {
    p = '^' + p.slice(5)
    flags = 'i'
  } else if (p.startsWith('(?i)')) {
    p = p.slice(4)
    flags = 'i'
  }
  try {
    return new RegExp(p, flags)
  } catch {
    return /[\s\S]*/ // a Go-only construct: accept everything rather than break the server
  }
}
const regExpEngine = Object.assign((pattern: string) => goRegExp(pattern), {code: 'goRegExp'})

const KEEP = new Set([
  'type',
  'properties',
  'items',
  'additionalProperties',
  'required',
  'enum',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'multipleOf',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'nullable',
])

/** Translate a structural schema into a plain JSON schema ajv understands. */
function toAjv(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toAjv)
  if (!s || typeof s !== 'object') return s
  const src = s as Schema
  const out: Schema = {}
  for (const [k, v] of Object.entries(src)) {
    if (!KEEP.has(k)) continue
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Schema).map(([pk, pv]) => [pk, toAjv(pv)]))
    } else if (k === 'additionalProperties' && typeof v === 'boolean') {
      out[k] = v
    } else if (['items', 'additionalProperties', 'not', 'allOf', 'anyOf', 'oneOf'].includes(k)) {
      out[k] = toAjv(v)
    } else out[k] = v
  }
  if (src['x-kubernetes-int-or-string']) {
    delete out.type
    const extra = {...out}
    delete extra.anyOf
    return {anyOf: [{type: 'integer'}, {type: 'string'}], ...extra}
  }
  // allOf/anyOf/oneOf members in structural schemas must not carry type; nullable needs a type in ajv.
  if (out.nullable && !out.type) delete out.nullable
  // Structural schemas put `required` in anyOf/oneOf branches without properties; fine for ajv.
  return out
}

function validatorFor(key: string, schema: Schema): ValidateFunction | null {
  let v = validators.get(key)
  if (v !== undefined) return v
  ajv ??= new Ajv({
    strict: false,
    allErrors: true,
    validateFormats: false,
    validateSchema: false,
    addUsedSchema: false,
    code: {regExp: regExpEngine as never},
  })
  try {
    v = ajv.compile(toAjv(schema) as object)
  } catch (err) {
    // Should not happen with real CRDs; never fail closed.
    console.warn(`fake-apiserver: cannot compile schema ${key}: ${(err as Error).message}`)
    v = null
  }
  validators.set(key, v)
  return v
}

/**
 * Prune unknown fields, drop nulls of non-nullable fields and apply defaults, in place. Returns the (possibly new) value.
 * `root` is true at the object root (apiVersion, kind, metadata are never pruned).
 */
export function pruneAndDefault(value: unknown, schema: Schema | undefined, root = false): unknown {
  if (!schema || value === null || typeof value !== 'object') return value
  if (schema['x-kubernetes-preserve-unknown-fields'] && !schema.properties) return value
  if (Array.isArray(value)) {
    if (schema.items) {
      for (let i = 0; i < value.length; i++) value[i] = pruneAndDefault(value[i], schema.items as Schema)
    }
    return value
  }
  const obj = value as Record<string, unknown>
  const props = schema.properties as Record<string, Schema> | undefined
  const addl = schema.additionalProperties
  const preserve = !!schema['x-kubernetes-preserve-unknown-fields'] || !!schema['x-kubernetes-embedded-resource']
  for (const key of Object.keys(obj)) {
    if (root && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue
    const sub = props?.[key] ?? (addl && typeof addl === 'object' ? (addl as Schema) : undefined)
    if (!sub) {
      if (!preserve && addl !== true && (props || addl === false || schema.type === 'object')) delete obj[key]
      continue
    }
    if (obj[key] === null && !sub.nullable) {
      delete obj[key]
      continue
    }
    obj[key] = pruneAndDefault(obj[key], sub)
  }
  if (props) {
    for (const [key, sub] of Object.entries(props)) {
      if (obj[key] === undefined && sub.default !== undefined) obj[key] = structuredClone(sub.default)
    }
  }
  return obj
}

function quote(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

function fieldOf(instancePath: string): string {
  // /spec/ipPools/0/cidr → spec.ipPools[0].cidr
  let out = ''
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (/^\d+$/.test(part)) out += `[${part}]`
    else out += out ? `.${part}` : part
  }
  return out
}

function valueAt(obj: unknown, instancePath: string): unknown {
  let cur: any = obj
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    cur = cur?.[part]
  }
  return cur
}

/** One ajv error in the wording of k8s.io/kube-openapi's validate package as kube-apiserver prints it. */
function causeOf(e: ErrorObject, obj: unknown): FieldCause | undefined {
  let field = fieldOf(e.instancePath)
  const value = valueAt(obj, e.instancePath)
  const p = e.params as Record<string, any>
  const invalid = (msg: string): FieldCause => ({
    reason: 'FieldValueInvalid',
    field,
    message: `Invalid value: ${quote(value)}: ${field} in body ${msg}`,
  })
  switch (e.keyword) {
    case 'pattern':
      return invalid(`should match '${p.pattern}'`)
    case 'enum':
      return {
        reason: 'FieldValueNotSupported',
        field,
        message: `Unsupported value: ${quote(value)}: supported values: ${(p.allowedValues as unknown[]).map(quote).join(', ')}`,
      }
    case 'type':
      return {
        reason: 'FieldValueTypeInvalid',
        field,
        message: `Invalid value: ${quote(typeName(value))}: ${field} in body must be of type ${String(p.type).replace(',', ' or ')}: ${quote(typeName(value))}`,
      }
    case 'required':
      field = field ? `${field}.${p.missingProperty}` : String(p.missingProperty)
      return {reason: 'FieldValueRequired', field, message: 'Required value'}
    case 'maximum':
      return invalid(`should be less than or equal to ${p.limit}`)
    case 'minimum':
      return invalid(`should be greater than or equal to ${p.limit}`)
    case 'exclusiveMaximum':
      return invalid(`should be less than ${p.limit}`)
    case 'exclusiveMinimum':
      return invalid(`should be greater than ${p.limit}`)
    case 'maxLength':
      return {reason: 'FieldValueTooLong', field, message: `Too long: may not be more than ${p.limit} bytes`}
    case 'minLength':
      return invalid(`should be at least ${p.limit} chars long`)
    case 'maxItems':
      return {
        reason: 'FieldValueTooMany',
        field,
        message: `Too many: ${(value as unknown[]).length}: must have at most ${p.limit} items`,
      }
    case 'minItems':
      return invalid(`should have at least ${p.limit} items`)
    case 'anyOf':
    case 'oneOf':
    case 'allOf':
    case 'if':
      return undefined // the branch errors say more
    default:
      return invalid(e.message ?? e.keyword)
  }
}

const sizes = new WeakMap<object, number>()
function sizeOf(schema: Schema): number {
  let n = sizes.get(schema)
  if (n === undefined) {
    n = JSON.stringify(schema).length
    sizes.set(schema, n)
  }
  return n
}

/** Above this many characters of schema, an object schema is compiled shallowly and its present children separately. */
const SPLIT_ABOVE = 20_000

/**
 * Validate `value` against `schema`; large object schemas are split: the node itself is compiled with its properties
 * replaced by `true`, and each present child is validated (recursively) on its own. The Installation CRD alone would
 * otherwise take ajv seconds to compile. Errors keep their full instancePath.
 */
function runValidator(key: string, schema: Schema, value: unknown, prefix: string, errors: ErrorObject[]): void {
  const props = schema.properties as Record<string, Schema> | undefined
  const splittable =
    props &&
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !schema.anyOf &&
    !schema.oneOf &&
    !schema.allOf &&
    !schema.not &&
    sizeOf(schema) > SPLIT_ABOVE
  if (!splittable) {
    const v = validatorFor(key, schema)
    if (!v || v(value)) return
    for (const e of v.errors ?? []) errors.push({...e, instancePath: prefix + e.instancePath})
    return
  }
  const shallow: Schema = {...schema, properties: Object.fromEntries(Object.keys(props).map((k) => [k, true]))}
  runValidator(`${key}#`, shallow, value, prefix, errors)
  for (const [k, child] of Object.entries(props)) {
    const v = (value as Record<string, unknown>)[k]
    if (v === undefined || typeof child !== 'object') continue
    runValidator(`${key}.${k}`, child, v, `${prefix}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, errors)
  }
}

/** Validate a (pruned, defaulted) object; [] when valid. */
export function validateAgainst(key: string, schema: Schema, obj: unknown): FieldCause[] {
  const errors: ErrorObject[] = []
  runValidator(key, schema, obj, '', errors)
  if (errors.length === 0) return []
  const causes: FieldCause[] = []
  const seen = new Set<string>()
  for (const e of errors) {
    const c = causeOf(e, obj)
    if (!c) continue
    const k = `${c.field}|${c.message}`
    if (seen.has(k)) continue
    seen.add(k)
    causes.push(c)
  }
  if (causes.length === 0) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: fieldOf(errors[0]!.instancePath),
      message: errors[0]!.message ?? 'invalid',
    })
  }
  return causes
}

/** "spec.x: Invalid value: …" as in the Status message. */
export function causeText(c: FieldCause): string {
  return c.field ? `${c.field}: ${c.message}` : c.message
}
