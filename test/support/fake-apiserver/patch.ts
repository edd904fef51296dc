/** The three patch formats kube-apiserver accepts (apply-patch+yaml is not implemented). */

type Json = any

const isObj = (v: unknown): v is Record<string, Json> => !!v && typeof v === 'object' && !Array.isArray(v)

/** RFC 7396 JSON merge patch: objects merge recursively, null deletes, everything else (arrays too) replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return structuredClone(patch)
  const out: Record<string, Json> = isObj(target) ? {...target} : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

/** A patch that cannot be applied: 422 (as kube-apiserver's jsonPatcher), or 400 when the patch does not decode. */
export class PatchError extends Error {
  constructor(
    message: string,
    readonly code = 422,
  ) {
    super(message)
  }
}

function parsePointer(path: string): string[] {
  if (path === '') return []
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer "${path}"`)
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k) => deepEqual(a[k], b[k]))
}

function arrayIndex(arr: Json[], key: string, forAdd: boolean, path: string): number {
  if (forAdd && key === '-') return arr.length
  if (!/^(0|[1-9][0-9]*)$/.test(key)) throw new PatchError(`invalid array index "${key}" in ${path}`)
  const i = Number(key)
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`array index ${i} out of bounds in ${path}`)
  return i
}

function getAt(doc: Json, tokens: string[], path: string): Json {
  let cur = doc
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, path)]
    else if (isObj(cur) && t in cur) cur = cur[t]
    else throw new PatchError(`doc is missing path: "${path}"`)
  }
  return cur
}

function parentOf(doc: Json, tokens: string[], path: string): {parent: Json; key: string} {
  if (tokens.length === 0) throw new PatchError(`cannot operate on the document root with "${path}"`)
  const parent = getAt(doc, tokens.slice(0, -1), path)
  if (!isObj(parent) && !Array.isArray(parent)) throw new PatchError(`doc is missing path: "${path}"`)
  return {parent, key: tokens[tokens.length - 1]!}
}

function add(doc: Json, path: string, value: Json): Json {
  const tokens = parsePointer(path)
  if (tokens.length === 0) return value
  const {parent, key} = parentOf(doc, tokens, path)
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, path), 0, value)
  else parent[key] = value
  return doc
}

function remove(doc: Json, path: string): Json {
  const tokens = parsePointer(path)
  const {parent, key} = parentOf(doc, tokens, path)
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false, path), 1)
  else {
    if (!(key in parent)) throw new PatchError(`unable to remove nonexistent key: ${key}: missing value`)
    delete parent[key]
  }
  return doc
}

/** RFC 6902 JSON patch. Throws PatchError (→ 422 by the server) on a failed `test` or a bad path. */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops))
    throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch', 400)
  let doc = structuredClone(target)
  for (const op of ops) {
    if (!isObj(op) || typeof op.path !== 'string') throw new PatchError('invalid JSON patch operation')
    const path = op.path
    switch (op.op) {
      case 'add':
        doc = add(doc, path, structuredClone(op.value))
        break
      case 'remove':
        doc = remove(doc, path)
        break
      case 'replace': {
        const tokens = parsePointer(path)
        if (tokens.length === 0) {
          doc = structuredClone(op.value)
          break
        }
        getAt(doc, tokens, path) // must exist
        const {parent, key} = parentOf(doc, tokens, path)
        if (Array.isArray(parent)) parent[arrayIndex(parent, key, false, path)] = structuredClone(op.value)
        else parent[key] = structuredClone(op.value)
        break
      }
      case 'move': {
        if (typeof op.from !== 'string') throw new PatchError('move operation does not have a from')
        const v = getAt(doc, parsePointer(op.from), op.from)
        doc = remove(doc, op.from)
        doc = add(doc, path, v)
        break
      }
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError('copy operation does not have a from')
        doc = add(doc, path, structuredClone(getAt(doc, parsePointer(op.from), op.from)))
        break
      }
      case 'test': {
        let cur: Json
        try {
          cur = getAt(doc, parsePointer(path), path)
        } catch {
          cur = undefined
        }
        if (!deepEqual(cur, op.value)) throw new PatchError(`testing value ${path} failed: test failed`)
        break
      }
      default:
        throw new PatchError(`Unexpected kind: ${String(op.op)}`)
    }
  }
  return doc
}

/**
 * patchMergeKey of the list fields of the built-in types (from the Go struct tags, patchStrategy:"merge"). A list not
 * in this table is atomic (replaced), as in the real server. The key is the field name, optionally qualified by the
 * parent field ("spec.ports" of a Service merges by `port`, a container's `ports` by `containerPort`).
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath', // the real key is mountPath, not name
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  ports: 'containerPort', // containers[].ports
  'spec.ports': 'port', // Service
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  ownerReferences: 'uid',
  conditions: 'type',
  addresses: 'type', // Node status
  resourceClaims: 'name',
}
/** Lists of scalars with patchStrategy:"merge" (union). */
const PRIMITIVE_MERGE = new Set(['finalizers'])

/**
 * Strategic merge patch for built-in types. Maps merge (null deletes a key); lists in MERGE_KEYS merge element-wise by
 * their key; other lists replace. Supported directives: `$patch: replace` on a map, `$patch: delete` on a map or on a
 * list element (by merge key), `$patch: replace` as a list element. Ignored (stripped) directives: `$retainKeys`,
 * `$setElementOrder/<field>`, `$deleteFromPrimitiveList/<field>`.
 */
export function strategicMergePatch(target: Json, patch: Json, parentKey = ''): Json {
  if (!isObj(patch)) return structuredClone(patch)
  if (patch.$patch === 'replace') {
    const copy = {...patch}
    delete copy.$patch
    return stripDirectives(copy)
  }
  if (patch.$patch === 'delete') return undefined
  const out: Record<string, Json> = isObj(target) ? {...target} : {}
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue // $retainKeys, $setElementOrder/…, $deleteFromPrimitiveList/… are ignored
    if (v === null) {
      delete out[k]
      continue
    }
    if (Array.isArray(v)) {
      const mergeKey = MERGE_KEYS[`${parentKey}.${k}`] ?? MERGE_KEYS[k]
      if (PRIMITIVE_MERGE.has(k)) {
        const cur: Json[] = Array.isArray(out[k]) ? out[k] : []
        out[k] = [...cur, ...v.filter((x) => !cur.includes(x))]
      } else if (mergeKey) {
        out[k] = mergeList(Array.isArray(out[k]) ? out[k] : [], v, mergeKey, k)
      } else {
        out[k] = v.map(stripDirectives)
      }
      continue
    }
    const merged = strategicMergePatch(out[k], v, k)
    if (merged === undefined) delete out[k]
    else out[k] = merged
  }
  return out
}

function mergeList(cur: Json[], patch: Json[], key: string, field: string): Json[] {
  if (patch.some((e) => isObj(e) && e.$patch === 'replace')) {
    return patch.filter((e) => !(isObj(e) && e.$patch === 'replace')).map(stripDirectives)
  }
  const out = [...cur]
  for (const el of patch) {
    if (!isObj(el) || !(key in el)) {
      out.push(stripDirectives(el))
      continue
    }
    const i = out.findIndex((x) => isObj(x) && x[key] === el[key])
    if (el.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1)
      continue
    }
    if (i >= 0) out[i] = strategicMergePatch(out[i], el, field)
    else out.push(strategicMergePatch({}, el, field))
  }
  return out
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives)
  if (!isObj(v)) return v
  const out: Record<string, Json> = {}
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x)
  return out
}
