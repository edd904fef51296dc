/**
 * In-memory object store of the fake API server: maps keyed by resource type and namespace/name, a global
 * resourceVersion counter, CRD-backed types, CR schema admission (prune/default/validate) and the controller loop.
 */
import {createHash, randomUUID} from 'node:crypto'
import {mkdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import {parseAllDocuments} from 'yaml'

import {type ApiError, alreadyExists, conflict, invalid, notFound} from './status.js'
import {type Schema, pruneAndDefault, validateAgainst} from './validation.js'

export interface ResourceType {
  group: string
  /** Preferred (storage) version; objects are stored with this apiVersion. */
  version: string
  versions: string[]
  plural: string
  singular: string
  kind: string
  listKind: string
  namespaced: boolean
  shortNames?: string[]
  /** false for CRD-backed types. */
  builtin: boolean
  /** Main-resource writes keep the old status; /status writes change only status. */
  statusSubresource: boolean
  /** metadata.generation is maintained (bumped when anything but metadata/status changes). */
  generation: boolean
  /** For CRD-backed types: the CRD name and the openAPIV3Schema per served version. */
  crd?: {name: string; schemas: Record<string, Schema | undefined>; schemaKeys: Record<string, string>}
  /** Extra subresources for discovery (pods/log, pods/exec …). */
  subresources?: string[]
}

const b = (
  group: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType => ({
  group,
  version: 'v1',
  versions: ['v1'],
  plural,
  singular: kind.toLowerCase(),
  kind,
  listKind: `${kind}List`,
  namespaced,
  builtin: true,
  statusSubresource: false,
  generation: false,
  ...extra,
})

/** The built-in types served. Types without special behaviour are stored as given. */
export const BUILTIN_TYPES: ResourceType[] = [
  b('', 'namespaces', 'Namespace', false, {shortNames: ['ns'], statusSubresource: true}),
  b('', 'nodes', 'Node', false, {shortNames: ['no'], statusSubresource: true}),
  b('', 'pods', 'Pod', true, {shortNames: ['po'], statusSubresource: true, subresources: ['log', 'exec', 'status', 'proxy']}),
  b('', 'configmaps', 'ConfigMap', true, {shortNames: ['cm']}),
  b('', 'secrets', 'Secret', true),
  b('', 'services', 'Service', true, {shortNames: ['svc'], statusSubresource: true}),
  b('', 'endpoints', 'Endpoints', true, {shortNames: ['ep'], listKind: 'EndpointsList', singular: 'endpoints'}),
  b('', 'serviceaccounts', 'ServiceAccount', true, {shortNames: ['sa']}),
  b('', 'events', 'Event', true, {shortNames: ['ev']}),
  b('apps', 'daemonsets', 'DaemonSet', true, {shortNames: ['ds'], statusSubresource: true, generation: true}),
  b('apps', 'deployments', 'Deployment', true, {shortNames: ['deploy'], statusSubresource: true, generation: true}),
  b('apps', 'replicasets', 'ReplicaSet', true, {shortNames: ['rs'], statusSubresource: true, generation: true}),
  b('apps', 'statefulsets', 'StatefulSet', true, {shortNames: ['sts'], statusSubresource: true, generation: true}),
  b('apps', 'controllerrevisions', 'ControllerRevision', true),
  b('discovery.k8s.io', 'endpointslices', 'EndpointSlice', true),
  b('networking.k8s.io', 'networkpolicies', 'NetworkPolicy', true, {shortNames: ['netpol'], generation: true}),
  b('apiextensions.k8s.io', 'customresourcedefinitions', 'CustomResourceDefinition', false, {
    shortNames: ['crd', 'crds'],
    statusSubresource: true,
    generation: true,
  }),
  b('rbac.authorization.k8s.io', 'clusterroles', 'ClusterRole', false),
  b('rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding', false),
  b('rbac.authorization.k8s.io', 'roles', 'Role', true),
  b('rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding', true),
  b('policy', 'poddisruptionbudgets', 'PodDisruptionBudget', true, {
    shortNames: ['pdb'],
    statusSubresource: true,
    generation: true,
  }),
  b('coordination.k8s.io', 'leases', 'Lease', true),
]

export const typeKey = (group: string, plural: string) => `${group}/${plural}`
const kindKey = (group: string, kind: string) => `${group}/${kind}`
const objKey = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`

export function splitApiVersion(apiVersion: string): {group: string; version: string} {
  const i = apiVersion.indexOf('/')
  return i < 0 ? {group: '', version: apiVersion} : {group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1)}
}

/** JSON with sorted keys, to compare objects regardless of key order. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}

const yamlCache = new Map<string, {mtimeMs: number; docs: object[]}>()

/** Parse a multi-document YAML file (cached per process by path and mtime); skips empty documents, expands `List`s. */
export function loadYaml(path: string): object[] {
  const mtimeMs = statSync(path).mtimeMs
  const hit = yamlCache.get(path)
  if (hit && hit.mtimeMs === mtimeMs) return structuredClone(hit.docs)
  const text = readFileSync(path, 'utf8')
  // Parsing the 1.4 MB Installation CRD takes over a second: keep a JSON copy per content hash in the temp dir.
  const cacheFile = join(tmpdir(), 'fake-apiserver-yaml-cache', `${createHash('sha1').update(text).digest('hex')}.json`)
  try {
    const docs = JSON.parse(readFileSync(cacheFile, 'utf8')) as object[]
    yamlCache.set(path, {mtimeMs, docs})
    return structuredClone(docs)
  } catch {
    // not cached yet
  }
  const docs: object[] = []
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length) throw new Error(`${path}: ${d.errors[0]!.message}`)
    const js = d.toJS() as any
    if (!js || typeof js !== 'object') continue
    if (js.kind === 'List' && Array.isArray(js.items)) docs.push(...js.items)
    else docs.push(js)
  }
  yamlCache.set(path, {mtimeMs, docs})
  try {
    mkdirSync(dirname(cacheFile), {recursive: true})
    const tmp = `${cacheFile}.${process.pid}.${randomUUID()}`
    writeFileSync(tmp, JSON.stringify(docs))
    renameSync(tmp, cacheFile)
  } catch {
    // the cache is an optimisation only
  }
  return structuredClone(docs)
}

export type Controller = {name: string; watches: string[]; run: (store: Store) => void}

export type WriteEvent = {type: 'ADDED' | 'MODIFIED' | 'DELETED'; rt: ResourceType; obj: any}

/**
 * The public face of the store (FakeApiServer.store). Objects returned are deep copies; objects passed in are copied.
 */
export interface FakeStore {
  /** Objects with apiVersion/kind/metadata; CRDs are registered (their types served); CRDs and Namespaces go first. */
  seed(objects: object[]): void
  /** Multi-document YAML (e.g. the real calico.yaml); empty documents are skipped. */
  seedYaml(path: string): void
  get(apiVersion: string, kind: string, name: string, namespace?: string): any | undefined
  list(apiVersion: string, kind: string, namespace?: string): any[]
  /** Create or replace (no resourceVersion check), bumps resourceVersion; runs controllers. */
  put(obj: object): void
  delete(apiVersion: string, kind: string, name: string, namespace?: string): void
  /** Current global resourceVersion. */
  resourceVersion(): string
  /** Stop/restart the synchronous controllers (resume runs them at once). Default: running. */
  pauseControllers(): void
  resumeControllers(): void
  /** Run the controllers now (they already run after every write unless paused). */
  runControllers(): void
  /** The resource type for an apiVersion/kind, if served. */
  typeFor(apiVersion: string, kind: string): ResourceType | undefined
  /**
   * Called synchronously after every stored change (HTTP, seeding, controllers), with the stored object (do not
   * mutate it). Returns an unsubscribe function.
   */
  onWrite(listener: (e: WriteEvent) => void): () => void
}

export class Store implements FakeStore {
  private readonly types = new Map<string, ResourceType>()
  private readonly byKind = new Map<string, ResourceType>()
  private readonly objects = new Map<string, Map<string, any>>()
  private readonly sorted = new Map<string, string[]>()
  private rv = 1000
  private readonly controllers: Controller[] = []
  private readonly dirty = new Set<string>()
  private paused = 0
  private running = false
  private prng = 0x9e3779b9
  readonly listeners: ((e: WriteEvent) => void)[] = []
  /** Called for every Pod the workload controllers create, before it is stored (tests can change status). */
  podHook?: (pod: any, ctx: {owner: any; node?: any}) => void
  /** Called on every object before it is admitted on create (e.g. allocate a Service's clusterIP and nodePorts). */
  createHook?: (rt: ResourceType, obj: any) => void

  constructor() {
    for (const t of BUILTIN_TYPES) this.register(t)
  }

  // ---- types ----

  register(t: ResourceType): void {
    const key = typeKey(t.group, t.plural)
    this.types.set(key, t)
    this.byKind.set(kindKey(t.group, t.kind), t)
    if (!this.objects.has(key)) this.objects.set(key, new Map())
  }

  unregister(t: ResourceType): void {
    const key = typeKey(t.group, t.plural)
    this.types.delete(key)
    this.byKind.delete(kindKey(t.group, t.kind))
    this.objects.delete(key)
    this.sorted.delete(key)
  }

  allTypes(): ResourceType[] {
    return [...this.types.values()]
  }

  typeByPlural(group: string, plural: string): ResourceType | undefined {
    return this.types.get(typeKey(group, plural))
  }

  typeFor(apiVersion: string, kind: string): ResourceType | undefined {
    const {group, version} = splitApiVersion(apiVersion)
    const t = this.byKind.get(kindKey(group, kind))
    return t && t.versions.includes(version) ? t : undefined
  }

  private mustType(apiVersion: string, kind: string): ResourceType {
    const t = this.typeFor(apiVersion, kind)
    if (!t) throw new Error(`fake-apiserver: ${apiVersion} ${kind} is not served (is its CRD seeded?)`)
    return t
  }

  /** Register the type a CRD object defines (called on CRD create/update). */
  private registerCrd(crd: any): void {
    const spec = crd.spec ?? {}
    const served = (spec.versions ?? []).filter((v: any) => v.served !== false)
    if (!spec.group || !spec.names?.plural || !spec.names?.kind || served.length === 0) return
    if (BUILTIN_TYPES.some((t) => t.group === spec.group)) return
    const storage = served.find((v: any) => v.storage) ?? served[0]
    const schemas: Record<string, Schema | undefined> = {}
    const schemaKeys: Record<string, string> = {}
    for (const v of served) {
      const s = v.schema?.openAPIV3Schema as Schema | undefined
      schemas[v.name] = s
      if (s)
        schemaKeys[v.name] =
          `${crd.metadata.name}/${v.name}/${createHash('sha1').update(JSON.stringify(s)).digest('hex')}`
    }
    this.register({
      group: spec.group,
      version: storage.name,
      versions: [storage.name, ...served.map((v: any) => v.name).filter((n: string) => n !== storage.name)],
      plural: spec.names.plural,
      singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      kind: spec.names.kind,
      listKind: spec.names.listKind ?? `${spec.names.kind}List`,
      namespaced: spec.scope === 'Namespaced',
      shortNames: spec.names.shortNames,
      builtin: false,
      statusSubresource: !!storage.subresources?.status,
      generation: true,
      crd: {name: crd.metadata.name, schemas, schemaKeys},
    })
  }

  private crdStatus(crd: any): any {
    const n = crd.spec?.names ?? {}
    const now = crd.metadata?.creationTimestamp ?? new Date().toISOString()
    return {
      acceptedNames: {
        kind: n.kind,
        listKind: n.listKind ?? `${n.kind}List`,
        plural: n.plural,
        singular: n.singular ?? String(n.kind).toLowerCase(),
        ...(n.shortNames ? {shortNames: n.shortNames} : {}),
      },
      conditions: [
        {
          type: 'NamesAccepted',
          status: 'True',
          reason: 'NoConflicts',
          message: 'no conflicts found',
          lastTransitionTime: now,
        },
        {
          type: 'Established',
          status: 'True',
          reason: 'InitialNamesAccepted',
          message: 'the initial names have been accepted',
          lastTransitionTime: now,
        },
      ],
      storedVersions: (crd.spec?.versions ?? []).filter((v: any) => v.storage).map((v: any) => v.name),
    }
  }

  // ---- raw access (no copies; server internals) ----

  peek(rt: ResourceType, name: string, namespace?: string): any | undefined {
    return this.objects.get(typeKey(rt.group, rt.plural))?.get(objKey(rt.namespaced ? namespace : undefined, name))
  }

  /** Objects sorted by namespace/name, optionally within one namespace; references, do not mutate. */
  peekList(rt: ResourceType, namespace?: string): any[] {
    const key = typeKey(rt.group, rt.plural)
    const m = this.objects.get(key)
    if (!m) return []
    const keys = this.sortedKeys(rt)
    if (rt.namespaced && namespace !== undefined) {
      const prefix = `${namespace}/`
      return keys.filter((k) => k.startsWith(prefix)).map((k) => m.get(k))
    }
    return keys.map((k) => m.get(k))
  }

  /** Sorted keys (namespace/name) for pagination. */
  sortedKeys(rt: ResourceType): string[] {
    const key = typeKey(rt.group, rt.plural)
    let keys = this.sorted.get(key)
    if (!keys) {
      keys = [...(this.objects.get(key)?.keys() ?? [])].sort()
      this.sorted.set(key, keys)
    }
    return keys
  }

  peekByKey(rt: ResourceType, key: string): any | undefined {
    return this.objects.get(typeKey(rt.group, rt.plural))?.get(key)
  }

  nextRv(): string {
    return String(++this.rv)
  }

  resourceVersion(): string {
    return String(this.rv)
  }

  /** Deterministic "random" suffixes (seeded PRNG), in the alphabet of k8s.io/apimachinery/pkg/util/rand. */
  randomSuffix(n = 5): string {
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
    let s = ''
    for (let i = 0; i < n; i++) {
      this.prng = (Math.imul(this.prng ^ (this.prng >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0
      s += alphabet[(this.prng >>> 0) % alphabet.length]
    }
    return s
  }

  // ---- admission ----

  /** Prune/default/validate a custom resource against its CRD schema (for `version`); throws 422. */
  admit(rt: ResourceType, obj: any, version = rt.version): void {
    if (!rt.crd) return
    const schema = rt.crd.schemas[version]
    if (!schema) return
    pruneAndDefault(obj, schema, true)
    const causes = validateAgainst(rt.crd.schemaKeys[version]!, schema, obj)
    if (causes.length) throw invalid({group: rt.group, kind: rt.kind}, obj.metadata?.name ?? '', causes)
  }

  // ---- writes (throw ApiError) ----

  /** owner uid → type key → object keys, for the controllers and the garbage collector. */
  private readonly owners = new Map<string, Map<string, Set<string>>>()

  private indexOwners(tk: string, k: string, obj: any, add: boolean): void {
    for (const r of obj?.metadata?.ownerReferences ?? []) {
      if (!r?.uid) continue
      let byType = this.owners.get(r.uid)
      if (!byType) {
        if (!add) continue
        byType = new Map()
        this.owners.set(r.uid, byType)
      }
      let keys = byType.get(tk)
      if (!keys) {
        if (!add) continue
        keys = new Set()
        byType.set(tk, keys)
      }
      if (add) keys.add(k)
      else keys.delete(k)
    }
  }

  /** Objects of type `rt` with an ownerReference to `uid`, sorted by key. References, do not mutate. */
  ownedBy(rt: ResourceType, uid: string): any[] {
    const tk = typeKey(rt.group, rt.plural)
    const keys = this.owners.get(uid)?.get(tk)
    if (!keys) return []
    const m = this.objects.get(tk)
    return [...keys]
      .sort()
      .map((k) => m?.get(k))
      .filter((o) => o !== undefined)
  }

  private save(rt: ResourceType, obj: any, type: WriteEvent['type']): void {
    const key = typeKey(rt.group, rt.plural)
    const m = this.objects.get(key)!
    const k = objKey(rt.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name)
    const prev = m.get(k)
    if (!prev) this.sorted.delete(key)
    else this.indexOwners(key, k, prev, false)
    this.indexOwners(key, k, obj, true)
    m.set(k, obj)
    if (rt.group === 'apiextensions.k8s.io' && rt.plural === 'customresourcedefinitions') this.registerCrd(obj)
    this.touched(rt, {type, rt, obj})
  }

  private touched(rt: ResourceType, e: WriteEvent): void {
    this.dirty.add(typeKey(rt.group, rt.plural))
    for (const l of this.listeners) l(e)
  }

  /** Create; `obj` is owned by the store afterwards. Returns the stored object. */
  create(rt: ResourceType, obj: any, opts: {version?: string; dryRun?: boolean} = {}): any {
    obj.apiVersion = rt.group ? `${rt.group}/${rt.version}` : rt.version
    obj.kind = rt.kind
    obj.metadata ??= {}
    if (!rt.namespaced) delete obj.metadata.namespace
    if (!obj.metadata.name && obj.metadata.generateName)
      obj.metadata.name = obj.metadata.generateName + this.randomSuffix()
    if (!obj.metadata.name) {
      throw invalid({group: rt.group, kind: rt.kind}, '', [
        {
          reason: 'FieldValueRequired',
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
        },
      ])
    }
    if (this.peek(rt, obj.metadata.name, obj.metadata.namespace)) throw alreadyExists(rt, obj.metadata.name)
    this.createHook?.(rt, obj)
    this.admit(rt, obj, opts.version)
    const meta = obj.metadata
    meta.uid = randomUUID()
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
    if (opts.dryRun) {
      if (rt.generation) meta.generation = 1
      return obj // dryRun=All: admitted and defaulted, not stored (no resourceVersion)
    }
    meta.resourceVersion = this.nextRv()
    if (rt.generation) meta.generation = 1
    else delete meta.generation
    delete meta.deletionTimestamp
    if (rt.plural === 'customresourcedefinitions') obj.status = this.crdStatus(obj)
    if (rt.group === '' && rt.plural === 'namespaces') {
      obj.spec ??= {finalizers: ['kubernetes']}
      obj.status ??= {phase: 'Active'}
      obj.metadata.labels = {...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name}
    }
    this.save(rt, obj, 'ADDED')
    return obj
  }

  /**
   * Update (PUT semantics). `subresource: 'status'` changes only status. Stale resourceVersion → 409; custom
   * resources need a resourceVersion (as CustomResourceStrategy.AllowUnconditionalUpdate is false).
   */
  update(
    rt: ResourceType,
    obj: any,
    opts: {subresource?: 'status'; version?: string; force?: boolean; dryRun?: boolean} = {},
  ): any {
    const name = obj.metadata?.name
    const old = this.peek(rt, name, obj.metadata?.namespace)
    if (!old) throw notFound(rt, name)
    const rv = obj.metadata?.resourceVersion
    if (!opts.force) {
      if (rv === undefined || rv === '') {
        if (!rt.builtin) {
          throw invalid({group: rt.group, kind: rt.kind}, name, [
            {
              reason: 'FieldValueInvalid',
              field: 'metadata.resourceVersion',
              message: 'Invalid value: 0x0: must be specified for an update',
            },
          ])
        }
      } else if (rv !== old.metadata.resourceVersion) throw conflict(rt, name)
    }
    let next: any
    if (opts.subresource === 'status') {
      next = {...structuredClone(old), status: obj.status}
    } else {
      next = obj
      next.apiVersion = old.apiVersion
      next.kind = rt.kind
      if (rt.statusSubresource && !opts.force) next.status = structuredClone(old.status)
      if (next.status === undefined) delete next.status
      next.metadata = {...next.metadata, uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp}
      if (!rt.namespaced) delete next.metadata.namespace
      else next.metadata.namespace = old.metadata.namespace
    }
    this.admit(rt, next, opts.version)
    const strip = (o: any) => {
      const {metadata, status, ...rest} = o
      return stableStringify(rt.statusSubresource ? rest : {...rest, status})
    }
    const metaOf = (o: any) => {
      const {resourceVersion, generation, managedFields, ...m} = o.metadata
      return stableStringify(m)
    }
    const specChanged = strip(old) !== strip(next)
    const changed =
      specChanged || metaOf(old) !== metaOf(next) || stableStringify(old.status) !== stableStringify(next.status)
    if (rt.generation)
      next.metadata.generation = (old.metadata.generation ?? 1) + (specChanged && opts.subresource !== 'status' ? 1 : 0)
    else delete next.metadata.generation
    if (!changed) {
      next.metadata.resourceVersion = old.metadata.resourceVersion
      return old // a no-op update does not bump resourceVersion, like the real server
    }
    if (opts.dryRun) {
      next.metadata.resourceVersion = old.metadata.resourceVersion
      return next
    }
    next.metadata.resourceVersion = this.nextRv()
    this.save(rt, next, 'MODIFIED')
    return next
  }

  /** Delete; cascades namespaces, CRDs and owned objects (the garbage collector, synchronously). */
  remove(rt: ResourceType, name: string, namespace?: string): any {
    const key = typeKey(rt.group, rt.plural)
    const k = objKey(rt.namespaced ? namespace : undefined, name)
    const m = this.objects.get(key)
    const old = m?.get(k)
    if (!old) throw notFound(rt, name)
    m!.delete(k)
    this.indexOwners(key, k, old, false)
    this.sorted.delete(key)
    this.touched(rt, {type: 'DELETED', rt, obj: old})
    if (rt.group === '' && rt.plural === 'namespaces') {
      for (const t of this.allTypes().filter((t) => t.namespaced)) {
        for (const o of this.peekList(t, name)) this.remove(t, o.metadata.name, name)
      }
    } else if (rt.plural === 'customresourcedefinitions' && rt.group === 'apiextensions.k8s.io') {
      const g = old.spec?.group
      const p = old.spec?.names?.plural
      const t = g && p ? this.typeByPlural(g, p) : undefined
      if (t && !t.builtin) {
        for (const o of this.peekList(t)) this.touched(t, {type: 'DELETED', rt: t, obj: o})
        this.unregister(t)
      }
    } else if (['daemonsets', 'deployments', 'replicasets', 'statefulsets'].includes(rt.plural)) {
      const uid = old.metadata.uid
      for (const t of [this.typeByPlural('apps', 'replicasets')!, this.typeByPlural('', 'pods')!]) {
        for (const o of this.ownedBy(t, uid)) this.remove(t, o.metadata.name, o.metadata.namespace)
      }
      this.owners.delete(uid)
    }
    return old
  }

  // ---- controllers ----

  addController(c: Controller): void {
    this.controllers.push(c)
    for (const w of c.watches) this.dirty.add(w)
    this.runControllers()
  }

  pauseControllers(): void {
    this.paused++
  }

  resumeControllers(): void {
    if (this.paused > 0) this.paused--
    this.runControllers()
  }

  /** Runs every controller whose watched types changed, until nothing changes (bounded). Synchronous. */
  runControllers(): void {
    if (this.paused || this.running) return
    this.running = true
    try {
      for (let round = 0; round < 50 && this.dirty.size; round++) {
        const dirty = new Set(this.dirty)
        this.dirty.clear()
        for (const c of this.controllers) if (c.watches.some((w) => dirty.has(w))) c.run(this)
      }
    } finally {
      this.running = false
    }
  }

  // ---- FakeStore ----

  onWrite(listener: (e: WriteEvent) => void): () => void {
    this.listeners.push(listener)
    return () => {
      const i = this.listeners.indexOf(listener)
      if (i >= 0) this.listeners.splice(i, 1)
    }
  }

  seed(objects: object[]): void {
    const rank = (o: any) => (o?.kind === 'CustomResourceDefinition' ? 0 : o?.kind === 'Namespace' ? 1 : 2)
    const sorted = [...objects].sort((a, b) => rank(a) - rank(b))
    this.pauseControllers()
    try {
      for (const o of sorted) this.put(o)
    } finally {
      this.resumeControllers()
    }
  }

  seedYaml(path: string): void {
    this.seed(loadYaml(path))
  }

  get(apiVersion: string, kind: string, name: string, namespace?: string): any | undefined {
    const rt = this.typeFor(apiVersion, kind)
    const o = rt && this.peek(rt, name, namespace)
    return o === undefined ? undefined : withVersion(structuredClone(o), rt!, splitApiVersion(apiVersion).version)
  }

  list(apiVersion: string, kind: string, namespace?: string): any[] {
    const rt = this.typeFor(apiVersion, kind)
    if (!rt) return []
    const v = splitApiVersion(apiVersion).version
    return this.peekList(rt, namespace).map((o) => withVersion(structuredClone(o), rt, v))
  }

  put(input: object): void {
    const obj = structuredClone(input) as any
    if (!obj?.apiVersion || !obj?.kind || !obj?.metadata?.name) {
      throw new Error(
        `fake-apiserver: put needs apiVersion, kind and metadata.name: ${JSON.stringify(input).slice(0, 200)}`,
      )
    }
    const rt = this.mustType(obj.apiVersion, obj.kind)
    const version = splitApiVersion(obj.apiVersion).version
    if (rt.namespaced) obj.metadata.namespace ??= 'default'
    const old = this.peek(rt, obj.metadata.name, obj.metadata.namespace)
    try {
      if (old) this.update(rt, obj, {force: true, version})
      else this.create(rt, obj, {version})
    } catch (err) {
      const status = (err as ApiError).status
      if (status) throw new Error(`fake-apiserver: cannot seed ${obj.kind} ${obj.metadata.name}: ${status.message}`)
      throw err
    }
    this.runControllers()
  }

  delete(apiVersion: string, kind: string, name: string, namespace?: string): void {
    const rt = this.mustType(apiVersion, kind)
    if (this.peek(rt, name, namespace)) this.remove(rt, name, namespace)
    this.runControllers()
  }
}

/** The object as served at `version` (CRDs here use conversion strategy None: only apiVersion changes). */
export function withVersion(obj: any, rt: ResourceType, version: string): any {
  if (version === rt.version) return obj
  return {...obj, apiVersion: rt.group ? `${rt.group}/${version}` : version}
}
