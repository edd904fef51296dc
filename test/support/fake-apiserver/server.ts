/** The HTTP(S) side of the fake API server: routing, auth, RBAC denials, faults, REST verbs, exec and logs. */
import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {Duplex} from 'node:stream'

import {WebSocketServer, type WebSocket} from 'ws'
import {parse as parseYaml} from 'yaml'

import {type Certs} from './certs.js'
import {PatchError, jsonPatch, mergePatch, strategicMergePatch} from './patch.js'
import {fieldMatcher, labelMatcher} from './selectors.js'
import {
  ACCEPTED_PATCH_BUILTIN,
  ACCEPTED_PATCH_CR,
  ApiError,
  type StatusBody,
  badRequest,
  failure,
  internalError,
  methodNotAllowed,
  notFound,
  pathNotFound,
  success,
  unauthorized,
  unsupportedMediaType,
} from './status.js'
import {type ResourceType, Store, withVersion} from './store.js'

export type Verb =
  | 'get'
  | 'list'
  | 'create'
  | 'update'
  | 'patch'
  | 'delete'
  | 'deletecollection'
  | 'watch'
  | 'exec'
  | 'logs'

export interface RequestRecord {
  method: string
  /** Path without the query string. */
  path: string
  query: URLSearchParams
  contentType?: string
  body?: string
  /** HTTP status answered; 101 for an exec upgrade; 0 for a dropped or hung request. */
  status: number
  verb: Verb | 'discovery' | 'other'
  group?: string
  version?: string
  /** Plural resource name, e.g. 'daemonsets'. */
  resource?: string
  /** 'status', 'log', 'exec' … */
  subresource?: string
  namespace?: string
  name?: string
  /** Injected fault, if any. */
  fault?: string
  /** Date.now() when the request arrived. */
  time: number
  /** Server-side handling time in ms (body read → response written), for answered HTTP requests. */
  durationMs?: number
}

/** A response body that is already JSON text. */
class RawJson {
  constructor(readonly json: string) {}
}

/**
 * 'drop': destroy the socket after reading the request (client: ECONNRESET / socket hang up). 'hang': never answer.
 * {status}: answer that Status (reason defaults from the code) without applying the request. {delayMs}: wait, then
 * handle normally (or answer {status} too, when both are given).
 */
export type FaultAction =
  | {status: number; reason?: string; message?: string; delayMs?: number; retryAfter?: string}
  | 'drop'
  | 'hang'
  | {delayMs: number}
  | HostileBody
  | LateWrite

/**
 * Hostile bodies: {endless}: 200 and a body that never ends ('json': a list whose items never close; 'text': log
 * lines; honourLimitBytes stops at ?limitBytes as the real server does). {declaredBytes}: 200 with that Content-Length
 * and the start of a JSON object (the rest never comes).
 */
export type HostileBody = {endless: 'json' | 'text'; honourLimitBytes?: boolean} | {declaredBytes: number}

/**
 * A write whose answer never comes ('drop': the connection is reset; 'hang': no answer) but which the server still
 * applies `landAfterMs` later, as a request stuck in the API server's pipeline would (preconditions are checked then).
 */
export interface LateWrite {
  late: 'drop' | 'hang'
  landAfterMs: number
}

export interface RequestInfo {
  method: string
  path: string
  verb: string
  resource?: string
  subresource?: string
  namespace?: string
  name?: string
  body?: string
  query: URLSearchParams
}

export type RequestHook = (r: RequestInfo) => FaultAction | undefined

export interface ForbidRule {
  /** Our verb (get/list/create/update/patch/delete/watch/exec/logs), an RBAC verb, or '*'. */
  verb: string
  /** Plural ('pods'), 'pods/exec', 'pods/log', or '*'. */
  resource: string
  namespace?: string
  /** Only this object (resourceNames). */
  name?: string
}

export interface ResourceAttributes {
  verb?: string
  group?: string
  resource?: string
  subresource?: string
  namespace?: string
  name?: string
}

export interface ExecRequest {
  namespace: string
  pod: string
  container: string
  command: string[]
  /** spec.nodeName of the pod (extra; not part of the wire request). */
  node?: string
}
export interface ExecResponse {
  stdout?: string | Buffer
  stderr?: string | Buffer
  exitCode: number
  /**
   * The command could not start (as when the binary is not in the image): a Failure status with this message and no
   * ExitCode cause, nothing on stderr — what the kubelet sends for `OCI runtime exec failed: …`.
   */
  startFailure?: string
}
export type ExecHandler = (req: ExecRequest) => Promise<ExecResponse> | ExecResponse

export interface LogsRequest {
  namespace: string
  pod: string
  container: string
  node?: string
  tailLines?: number
  previous?: boolean
}
export type LogsHandler = (req: LogsRequest) => string

/** A request through the pod proxy (`/api/v1/namespaces/NS/pods/NAME[:PORT]/proxy/PATH`). */
export interface ProxyRequest {
  method: string
  namespace: string
  pod: string
  port?: string
  /** The path after `/proxy`, starting with '/'. */
  path: string
  query: URLSearchParams
  /** spec.nodeName of the pod. */
  node?: string
}
export interface ProxyResponse {
  status: number
  body: string
  contentType?: string
}
export type ProxyHandler = (req: ProxyRequest) => Promise<ProxyResponse> | ProxyResponse

interface Route {
  kind: 'resource' | 'discovery' | 'other'
  group?: string
  version?: string
  rt?: ResourceType
  namespace?: string
  name?: string
  subresource?: string
  /** For the pod proxy: the path after /proxy. */
  proxyPath?: string
  /** For discovery: the JSON to answer. */
  discovery?: () => unknown
}

const USER = 'system:serviceaccount:default:ebpfctl-test'

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
}

export class ApiServerCore {
  readonly store = new Store()
  readonly log: RequestRecord[] = []
  token: string
  private hook?: RequestHook
  private rules: ForbidRule[] = []
  /** SelfSubjectAccessReviews answered, in arrival order (spec.resourceAttributes). */
  readonly accessReviews: ResourceAttributes[] = []
  execHandler: ExecHandler = () => ({stderr: 'no exec handler', exitCode: 126})
  logsHandler: LogsHandler = () => ''
  proxyHandler: ProxyHandler = () => ({status: 503, body: 'no proxy handler', contentType: 'text/plain'})
  private server!: Server
  /** Late writes not yet applied (server.settled() waits for them). */
  readonly pending = new Set<Promise<void>>()
  private readonly wss = new WebSocketServer({noServer: true, handleProtocols: (protocols) => pickProtocol(protocols)})
  private readonly sockets = new Set<Duplex>()
  private readonly watchers = new Set<ServerResponse>()
  url = ''

  constructor(token: string) {
    this.token = token
  }

  async listen(certs: Certs | undefined): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) =>
      void this.handle(req, res).catch(() => {
        // the client went away while the request was read; nothing to answer
        res.destroy()
      })
    this.server = certs
      ? createHttpsServer({cert: certs.certPem, key: certs.keyPem}, handler)
      : createHttpServer(handler)
    this.server.on('connection', (s: Duplex) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    this.server.on('secureConnection', (s: Duplex) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    this.server.on(
      'upgrade',
      (req: IncomingMessage, socket: Duplex, head: Buffer) =>
        void this.upgrade(req, socket, head).catch(() => socket.destroy()),
    )
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(0, '127.0.0.1', () => resolve())
    })
    const addr = this.server.address()
    const port = typeof addr === 'object' && addr ? addr.port : 0
    this.url = `${certs ? 'https' : 'http'}://127.0.0.1:${port}`
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.end()
    for (const c of this.wss.clients) c.terminate()
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  onRequest(hook: RequestHook | undefined): void {
    this.hook = hook
  }

  forbid(rule: ForbidRule): void {
    this.rules.push(rule)
  }

  clearForbidden(): void {
    this.rules = []
  }

  // ---- routing ----

  private route(path: string): Route | undefined {
    const segs = path.split('/').filter(Boolean).map(decodeURIComponent)
    if (segs[0] === 'api') {
      if (segs.length === 1) return {kind: 'discovery', discovery: () => this.apiVersions()}
      if (segs[1] !== 'v1') return undefined
      if (segs.length === 2) return {kind: 'discovery', discovery: () => this.resourceList('', 'v1')}
      return this.resourceRoute('', 'v1', segs.slice(2))
    }
    if (segs[0] === 'apis') {
      if (segs.length === 1) return {kind: 'discovery', discovery: () => this.groupList()}
      const group = segs[1]!
      const g = this.groups().get(group)
      if (!g) return undefined
      if (segs.length === 2) return {kind: 'discovery', discovery: () => this.groupInfo(group, g)}
      const version = segs[2]!
      if (!g.includes(version)) return undefined
      if (segs.length === 3) return {kind: 'discovery', discovery: () => this.resourceList(group, version)}
      return this.resourceRoute(group, version, segs.slice(3))
    }
    if (['version', 'healthz', 'readyz', 'livez'].includes(segs[0] ?? '') && segs.length === 1) return {kind: 'other'}
    return undefined
  }

  private resourceRoute(group: string, version: string, rest: string[]): Route | undefined {
    let namespace: string | undefined
    let parts = rest
    if (
      rest[0] === 'namespaces' &&
      rest.length >= 3 &&
      !(rest.length === 3 && ['status', 'finalize'].includes(rest[2]!))
    ) {
      namespace = rest[1]
      parts = rest.slice(2)
    }
    const [plural, name, subresource, ...extra] = parts
    if (!plural || (extra.length && subresource !== 'proxy')) return undefined
    const rt = this.store.typeByPlural(group, plural)
    if (!rt || !rt.versions.includes(version)) return undefined
    if (namespace !== undefined && !rt.namespaced) return undefined
    if (rt.namespaced && name !== undefined && namespace === undefined) return undefined
    if (subresource !== undefined) {
      const ok = (subresource === 'status' && rt.statusSubresource) || (rt.subresources ?? []).includes(subresource)
      if (!ok) return undefined
    }
    const proxyPath = subresource === 'proxy' ? `/${extra.join('/')}` : undefined
    return {kind: 'resource', group, version, rt, namespace, name, subresource, proxyPath}
  }

  private groups(): Map<string, string[]> {
    const m = new Map<string, string[]>()
    for (const t of this.store.allTypes()) {
      if (!t.group) continue
      const vs = m.get(t.group) ?? []
      for (const v of t.versions) if (!vs.includes(v)) vs.push(v)
      m.set(t.group, vs)
    }
    return m
  }

  // ---- discovery ----

  private apiVersions() {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{clientCIDR: '0.0.0.0/0', serverAddress: '172.18.0.2:6443'}],
    }
  }

  private groupEntry(name: string, versions: string[]) {
    const vs = versions.map((v) => ({groupVersion: `${name}/${v}`, version: v}))
    return {name, versions: vs, preferredVersion: vs[0]}
  }

  private groupList() {
    const groups = [...this.groups()].map(([name, versions]) => this.groupEntry(name, versions))
    return {kind: 'APIGroupList', apiVersion: 'v1', groups}
  }

  private groupInfo(name: string, versions: string[]) {
    return {kind: 'APIGroup', apiVersion: 'v1', ...this.groupEntry(name, versions)}
  }

  private resourceList(group: string, version: string) {
    const resources: unknown[] = []
    for (const t of this.store.allTypes()) {
      if (t.group !== group || !t.versions.includes(version)) continue
      const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
      resources.push({
        name: t.plural,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs,
        ...(t.shortNames?.length ? {shortNames: t.shortNames} : {}),
        storageVersionHash: Buffer.from(`${t.group}/${t.plural}`).toString('base64').slice(0, 11),
      })
      const subs = new Set([...(t.subresources ?? []), ...(t.statusSubresource ? ['status'] : [])])
      for (const s of subs) {
        resources.push({
          name: `${t.plural}/${s}`,
          singularName: '',
          namespaced: t.namespaced,
          kind: s === 'exec' ? 'PodExecOptions' : s === 'log' ? 'Pod' : t.kind,
          verbs: s === 'exec' ? ['create', 'get'] : s === 'log' ? ['get'] : ['get', 'patch', 'update'],
        })
      }
    }
    return {kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources}
  }

  // ---- helpers ----

  private authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${this.token}`
  }

  private denied(verb: string, route: Route): ApiError | undefined {
    const rt = route.rt
    if (!rt) return undefined
    const rbacVerb = verb === 'exec' ? 'create' : verb === 'logs' ? 'get' : verb
    const rbacResource = route.subresource ? `${rt.plural}/${route.subresource}` : rt.plural
    for (const r of this.rules) {
      const verbOk = r.verb === '*' || r.verb === verb || r.verb === rbacVerb
      const resOk =
        r.resource === '*' ||
        r.resource === rbacResource ||
        (r.resource === rt.plural && (verb === 'exec' || verb === 'logs'))
      const nsOk = r.namespace === undefined || r.namespace === route.namespace
      const nameOk = r.name === undefined || r.name === route.name
      if (verbOk && resOk && nsOk && nameOk) {
        const who = route.name
          ? `${rt.group ? `${rt.plural}.${rt.group}` : rt.plural} "${route.name}"`
          : rt.group
            ? `${rt.plural}.${rt.group}`
            : rt.plural
        const scope = route.namespace ? `in the namespace "${route.namespace}"` : 'at the cluster scope'
        return failure(
          403,
          'Forbidden',
          `${who} is forbidden: User "${USER}" cannot ${rbacVerb} resource "${rbacResource}" in API group "${rt.group}" ${scope}`,
          {name: route.name, group: rt.group || undefined, kind: rt.plural},
        )
      }
    }
    return undefined
  }

  private verbOf(method: string, route: Route | undefined, query: URLSearchParams): RequestRecord['verb'] {
    if (!route) return 'other'
    if (route.kind === 'discovery') return 'discovery'
    if (route.kind === 'other') return 'other'
    if (route.subresource === 'exec') return 'exec'
    if (route.subresource === 'log') return 'logs'
    switch (method) {
      case 'GET':
        if (route.name === undefined)
          return query.get('watch') === 'true' || query.get('watch') === '1' ? 'watch' : 'list'
        return 'get'
      case 'POST':
        return 'create'
      case 'PUT':
        return 'update'
      case 'PATCH':
        return 'patch'
      case 'DELETE':
        return route.name === undefined ? 'deletecollection' : 'delete'
      default:
        return 'other'
    }
  }

  private record(r: Omit<RequestRecord, 'time'>): RequestRecord {
    const rec = {...r, time: Date.now()}
    this.log.push(rec)
    return rec
  }

  /** Apply a FaultAction; returns true when the request must not be processed further. */
  private async fault(
    action: FaultAction | undefined,
    rec: RequestRecord,
    respond: (code: number, body: unknown, type?: string, headers?: Record<string, string>) => void,
    destroy: () => void,
    res?: ServerResponse,
  ): Promise<boolean> {
    if (!action) return false
    if (typeof action === 'object' && ('endless' in action || 'declaredBytes' in action)) {
      rec.status = 200
      rec.fault = 'endless' in action ? `endless ${action.endless}` : `declared ${action.declaredBytes} bytes`
      if (!res) return destroy(), true
      this.hostileBody(action, rec.query, res)
      return true
    }
    if (action === 'drop') {
      rec.status = 0
      rec.fault = 'drop'
      destroy()
      return true
    }
    if (action === 'hang') {
      rec.status = 0
      rec.fault = 'hang'
      return true
    }
    if ('late' in action) {
      rec.status = 0
      rec.fault = `late ${action.late}, lands after ${action.landAfterMs}ms`
      if (action.late === 'drop') destroy()
      return true
    }
    if ('delayMs' in action) {
      rec.fault = `delay ${action.delayMs}ms`
      await new Promise((r) => setTimeout(r, action.delayMs))
      if (!('status' in action)) return false
    }
    if (!('status' in action) || typeof action.status !== 'number') return false
    rec.fault = rec.fault ? `${rec.fault}, status ${action.status}` : `status ${action.status}`
    const reason = action.reason ?? REASONS[action.status] ?? 'InternalError'
    const message =
      action.message ?? (action.status === 500 ? 'Internal error occurred: injected fault' : 'injected fault')
    const body: StatusBody = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code: action.status,
    }
    rec.status = action.status
    respond(action.status, body, undefined, action.retryAfter !== undefined ? {'Retry-After': action.retryAfter} : undefined)
    return true
  }

  /** Writes a hostile body as fast as the client reads it (backpressure), until the client goes away. */
  private hostileBody(action: HostileBody, query: URLSearchParams, res: ServerResponse): void {
    if ('declaredBytes' in action) {
      res.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': String(action.declaredBytes)})
      res.write('{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"huge"},"data":{"a":"')
      return // the rest never comes
    }
    const text = action.endless === 'text'
    res.writeHead(200, {'Content-Type': text ? 'text/plain' : 'application/json'})
    const limit = action.honourLimitBytes && query.get('limitBytes') ? Number(query.get('limitBytes')) : Infinity
    const chunk = Buffer.from(
      text
        ? `${'2026-01-01 12:00:00.000 [INFO][1] felix/int_dataplane.go 1: ' + 'x'.repeat(1000)}\n`.repeat(64)
        : `{"metadata":{"name":"${'x'.repeat(1000)}"}},`.repeat(64),
    )
    let sent = 0
    if (!text) res.write('{"kind":"List","apiVersion":"v1","metadata":{},"items":[')
    const pump = () => {
      while (!res.destroyed) {
        if (sent >= limit) return void res.end()
        const part = limit - sent < chunk.length ? chunk.subarray(0, limit - sent) : chunk
        sent += part.length
        if (!res.write(part)) return void res.once('drain', pump)
      }
    }
    res.on('error', () => {})
    pump()
  }

  /** SelfSubjectAccessReview: allowed unless a forbid rule matches (the same rules that answer 403). */
  private accessReview(body: string | undefined): unknown {
    const review = JSON.parse(body ?? '{}') as {spec?: {resourceAttributes?: ResourceAttributes}}
    const a = review.spec?.resourceAttributes ?? {}
    this.accessReviews.push(a)
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '')
    const denied = this.rules.some(
      (r) =>
        (r.verb === '*' || r.verb === a.verb) &&
        (r.resource === '*' || r.resource === resource) &&
        (r.namespace === undefined || r.namespace === a.namespace) &&
        (r.name === undefined || r.name === a.name),
    )
    return {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: {creationTimestamp: null},
      spec: review.spec,
      status: denied ? {allowed: false, reason: 'denied by the test'} : {allowed: true, reason: 'RBAC: allowed by the test'},
    }
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    const method = req.method ?? 'GET'
    const started = performance.now()
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = chunks.length ? Buffer.concat(chunks).toString('utf8') : undefined
    const route = this.route(url.pathname)
    const verb = this.verbOf(method, route, url.searchParams)
    const contentType = req.headers['content-type']?.split(';')[0]?.trim()
    const rec = this.record({
      method,
      path: url.pathname,
      query: url.searchParams,
      contentType,
      body,
      status: 0,
      verb,
      group: route?.group,
      version: route?.version,
      resource: route?.rt?.plural,
      subresource: route?.subresource,
      namespace: route?.namespace,
      name: route?.name,
    })
    const respond = (code: number, payload: unknown, type = 'application/json', headers: Record<string, string> = {}) => {
      rec.status = code
      rec.durationMs = performance.now() - started
      if (res.writableEnded || res.destroyed) return
      const text =
        payload instanceof RawJson
          ? payload.json
          : typeof payload === 'string' && type !== 'application/json'
            ? payload
            : JSON.stringify(payload)
      res.writeHead(code, {
        'Content-Type': type,
        'Content-Length': Buffer.byteLength(text),
        'Cache-Control': 'no-cache, private',
        ...headers,
      })
      res.end(text)
    }
    try {
      const action = this.hook?.({
        method,
        path: url.pathname,
        verb,
        resource: route?.rt?.plural,
        subresource: route?.subresource,
        namespace: route?.namespace,
        name: route?.name,
        body,
        query: url.searchParams,
      })
      if (
        await this.fault(
          action,
          rec,
          (c, b, t, h) => respond(c, b, t, h),
          () => req.socket.destroy(),
          res,
        )
      ) {
        if (action && typeof action === 'object' && 'late' in action && route?.kind === 'resource') {
          const landed = new Promise<void>((resolve) => setTimeout(resolve, action.landAfterMs)).then(() => {
            try {
              const {code} = this.rest(method, verb, route, url.searchParams, body, contentType)
              rec.fault = `${rec.fault}: landed (${code})`
            } catch (err) {
              rec.fault = `${rec.fault}: refused when it landed (${err instanceof ApiError ? err.status.code : 500})`
            }
          })
          this.pending.add(landed)
          void landed.finally(() => this.pending.delete(landed))
        }
        return
      }
      if (method === 'POST' && url.pathname === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
        if (!this.authorized(req)) throw unauthorized()
        respond(201, this.accessReview(body))
        return
      }
      if (route?.kind === 'other') {
        if (url.pathname === '/version') {
          respond(200, {
            major: '1',
            minor: '33',
            gitVersion: 'v1.33.1',
            gitCommit: 'fake',
            gitTreeState: 'clean',
            buildDate: '2025-05-15T00:00:00Z',
            goVersion: 'go1.24.2',
            compiler: 'gc',
            platform: 'linux/amd64',
          })
        } else respond(200, 'ok', 'text/plain; charset=utf-8')
        return
      }
      if (!this.authorized(req)) throw unauthorized()
      if (!route) throw pathNotFound()
      if (route.kind === 'discovery') {
        if (method !== 'GET') throw methodNotAllowed()
        respond(200, route.discovery!())
        return
      }
      const denied = this.denied(verb, route)
      if (denied) throw denied
      if (verb === 'logs') {
        this.logs(route, url.searchParams, respond)
        return
      }
      if (route.subresource === 'proxy') {
        const [pod, port] = (route.name ?? '').split(':')
        const obj = this.store.peek(route.rt!, pod!, route.namespace)
        if (!obj) throw notFoundPod(pod!)
        const r = await this.proxyHandler({
          method,
          namespace: route.namespace!,
          pod: pod!,
          port,
          path: route.proxyPath ?? '/',
          query: url.searchParams,
          node: obj.spec?.nodeName,
        })
        respond(r.status, r.body, r.contentType ?? 'text/plain; charset=utf-8')
        return
      }
      if (verb === 'exec') throw badRequest('Upgrade request required')
      if (verb === 'watch') {
        this.watch(route, url.searchParams, res, rec)
        return
      }
      const {code, payload} = this.rest(method, verb, route, url.searchParams, body, contentType)
      respond(code, payload)
    } catch (err) {
      if (err instanceof ApiError) respond(err.status.code, err.status)
      else respond(500, internalError((err as Error).message).status)
    }
  }

  private parseBody(body: string | undefined, contentType: string | undefined): any {
    if (body === undefined || body === '') throw badRequest('the request body is empty')
    if (contentType === 'application/yaml' || contentType === 'application/apply-patch+yaml') {
      try {
        return parseYaml(body)
      } catch (err) {
        throw badRequest(`error converting YAML to JSON: ${(err as Error).message}`)
      }
    }
    try {
      return JSON.parse(body)
    } catch (err) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`)
    }
  }

  /** A body's apiVersion/kind, when given, must be the resource's (as the real decoder insists). */
  private checkTypeMeta(rt: ResourceType, version: string, obj: any): void {
    const expected = rt.group ? `${rt.group}/${version}` : version
    if (obj.apiVersion !== undefined && obj.apiVersion !== expected) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected})`,
      )
    }
    if (obj.kind !== undefined && obj.kind !== rt.kind) {
      throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${rt.kind})`)
    }
  }

  /** The object as the client sees it: apiVersion of the requested version. */
  private out(rt: ResourceType, version: string, obj: any): any {
    return withVersion(obj, rt, version)
  }

  private rest(
    method: string,
    verb: RequestRecord['verb'],
    route: Route,
    query: URLSearchParams,
    body: string | undefined,
    contentType: string | undefined,
  ): {code: number; payload: unknown} {
    const rt = route.rt!
    const version = route.version!
    const store = this.store
    const sub = route.subresource as 'status' | undefined
    // ?dryRun=All: admission and validation run, nothing is stored, controllers do not run.
    const dryRun = query.getAll('dryRun').includes('All')
    switch (verb) {
      case 'get': {
        const o = store.peek(rt, route.name!, route.namespace)
        if (!o) throw notFound(rt, route.name!)
        return {code: 200, payload: this.out(rt, version, o)}
      }
      case 'list':
        return {code: 200, payload: this.list(rt, version, route.namespace, query)}
      case 'create': {
        if (route.name !== undefined) throw methodNotAllowed()
        if (contentType && !['application/json', 'application/yaml'].includes(contentType)) {
          throw unsupportedMediaType('application/json, application/yaml, application/vnd.kubernetes.protobuf')
        }
        const obj = this.parseBody(body, contentType)
        if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw badRequest('the body must be a JSON object')
        this.checkTypeMeta(rt, version, obj)
        obj.metadata ??= {}
        if (rt.namespaced) {
          const ns = route.namespace ?? obj.metadata.namespace
          if (!ns) throw badRequest('the namespace of the object is not set')
          if (obj.metadata.namespace && route.namespace && obj.metadata.namespace !== route.namespace) {
            throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
          }
          obj.metadata.namespace = ns
          if (!store.peek(store.typeByPlural('', 'namespaces')!, ns))
            throw notFound({group: '', plural: 'namespaces'}, ns)
        }
        delete obj.metadata.resourceVersion
        delete obj.metadata.uid
        delete obj.metadata.creationTimestamp
        if (rt.statusSubresource && rt.plural !== 'pods') delete obj.status
        if (dryRun) return {code: 201, payload: this.out(rt, version, store.create(rt, obj, {version, dryRun}))}
        const created = store.create(rt, obj, {version})
        store.runControllers()
        const latest = store.peek(rt, created.metadata.name, created.metadata.namespace) ?? created
        return {code: 201, payload: this.out(rt, version, latest)}
      }
      case 'update': {
        if (contentType && !['application/json', 'application/yaml'].includes(contentType)) {
          throw unsupportedMediaType('application/json, application/yaml, application/vnd.kubernetes.protobuf')
        }
        const obj = this.parseBody(body, contentType)
        if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw badRequest('the body must be a JSON object')
        this.checkTypeMeta(rt, version, obj)
        obj.metadata ??= {}
        if (obj.metadata.name !== undefined && obj.metadata.name !== route.name) {
          throw badRequest(
            `the name of the object (${obj.metadata.name}) does not match the name on the URL (${route.name})`,
          )
        }
        if (rt.namespaced && obj.metadata.namespace && obj.metadata.namespace !== route.namespace) {
          throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
        }
        obj.metadata.name = route.name
        if (rt.namespaced) obj.metadata.namespace = route.namespace
        if (dryRun)
          return {code: 200, payload: this.out(rt, version, store.update(rt, obj, {subresource: sub, version, dryRun}))}
        const updated = store.update(rt, obj, {subresource: sub, version})
        store.runControllers()
        const latest = store.peek(rt, updated.metadata.name, updated.metadata.namespace) ?? updated
        return {code: 200, payload: this.out(rt, version, latest)}
      }
      case 'patch': {
        const current = store.peek(rt, route.name!, route.namespace)
        const known = [
          'application/merge-patch+json',
          'application/json-patch+json',
          'application/strategic-merge-patch+json',
          'application/apply-patch+yaml',
        ]
        // Content negotiation comes first (415), then the lookup (404). Apply does not create here.
        if (!known.includes(contentType ?? ''))
          throw unsupportedMediaType(rt.builtin ? ACCEPTED_PATCH_BUILTIN : ACCEPTED_PATCH_CR)
        if (contentType === 'application/strategic-merge-patch+json' && !rt.builtin)
          throw unsupportedMediaType(ACCEPTED_PATCH_CR)
        if (!current) throw notFound(rt, route.name!)
        const patchBody = () => this.parseBody(body, contentType)
        let next: any
        try {
          switch (contentType) {
            case 'application/merge-patch+json':
              next = mergePatch(structuredClone(current), patchBody())
              break
            case 'application/json-patch+json':
              next = jsonPatch(current, patchBody())
              break
            case 'application/strategic-merge-patch+json':
              if (!rt.builtin) throw unsupportedMediaType(ACCEPTED_PATCH_CR)
              next = strategicMergePatch(structuredClone(current), patchBody())
              break
            case 'application/apply-patch+yaml':
              // Server-side apply is approximated by a merge patch (no field ownership, no conflicts).
              if (!query.get('fieldManager'))
                throw badRequest(
                  'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                )
              next = mergePatch(structuredClone(current ?? {}), patchBody())
              break
            default:
              throw unsupportedMediaType(rt.builtin ? ACCEPTED_PATCH_BUILTIN : ACCEPTED_PATCH_CR)
          }
        } catch (err) {
          if (err instanceof PatchError) {
            // errors.NewGenericServerResponse(422, …) / errors.NewBadRequest, as handlers/patch.go answers.
            if (err.code === 400) throw badRequest(err.message)
            throw failure(422, 'Invalid', 'the server rejected our request due to an error in our request', {
              causes: [{reason: 'UnexpectedServerResponse', message: err.message}],
            })
          }
          throw err
        }
        if (!next || typeof next !== 'object' || Array.isArray(next))
          throw badRequest('the patched object is not an object')
        next.metadata ??= {}
        next.metadata.name = route.name
        if (rt.namespaced) next.metadata.namespace = route.namespace
        // A resourceVersion in the patch is a precondition; otherwise the patch applies to the current object.
        next.metadata.resourceVersion ??= current.metadata.resourceVersion
        next.metadata.uid = current.metadata.uid
        if (dryRun)
          return {
            code: 200,
            payload: this.out(rt, version, store.update(rt, next, {subresource: sub, version, dryRun})),
          }
        const updated = store.update(rt, next, {subresource: sub, version})
        store.runControllers()
        const latest = store.peek(rt, updated.metadata.name, updated.metadata.namespace) ?? updated
        return {code: 200, payload: this.out(rt, version, latest)}
      }
      case 'delete': {
        if (sub) throw methodNotAllowed()
        const old = dryRun
          ? store.peek(rt, route.name!, route.namespace)
          : store.remove(rt, route.name!, route.namespace)
        if (!old) throw notFound(rt, route.name!)
        if (!dryRun) store.runControllers()
        if (rt.builtin && rt.plural !== 'pods') {
          return {
            code: 200,
            payload: success({name: route.name, group: rt.group || undefined, kind: rt.plural, uid: old.metadata.uid}),
          }
        }
        return {code: 200, payload: this.out(rt, version, old)}
      }
      case 'deletecollection': {
        const lm = labelMatcher(query.get('labelSelector'))
        const fm = fieldMatcher(query.get('fieldSelector'), rt.plural)
        const victims = store.peekList(rt, route.namespace).filter((o) => (!lm || lm(o)) && (!fm || fm(o)))
        for (const o of victims) store.remove(rt, o.metadata.name, o.metadata.namespace)
        store.runControllers()
        return {
          code: 200,
          payload: {
            apiVersion: rt.group ? `${rt.group}/${version}` : version,
            kind: rt.listKind,
            metadata: {resourceVersion: store.resourceVersion()},
            items: victims,
          },
        }
      }
      default:
        throw methodNotAllowed()
    }
  }

  private list(rt: ResourceType, version: string, namespace: string | undefined, query: URLSearchParams): unknown {
    const lm = labelMatcher(query.get('labelSelector'))
    const fm = fieldMatcher(query.get('fieldSelector'), rt.plural)
    const limitRaw = query.get('limit')
    const limit = limitRaw ? Number(limitRaw) : 0
    const keys = this.store.sortedKeys(rt)
    let start = 0
    const cont = query.get('continue')
    if (cont) {
      let token: {v?: string; rv?: number; start?: string}
      try {
        token = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8'))
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data')
      }
      if (token.v !== 'meta.k8s.io/v1' || typeof token.start !== 'string')
        throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)')
      start = lowerBound(keys, token.start)
    } else if (rt.namespaced && namespace !== undefined) {
      start = lowerBound(keys, `${namespace}/`)
    }
    const prefix = rt.namespaced && namespace !== undefined ? `${namespace}/` : ''
    const items: any[] = []
    let next: string | undefined
    let remaining = 0
    for (let i = start; i < keys.length; i++) {
      const k = keys[i]!
      if (prefix && !k.startsWith(prefix)) break
      const o = this.store.peekByKey(rt, k)
      if (lm && !lm(o)) continue
      if (fm && !fm(o)) continue
      if (limit > 0 && items.length >= limit) {
        next ??= `${items[items.length - 1]!.k}\u0000`
        remaining++
        if (lm || fm) break
        continue
      }
      items.push({k, o})
    }
    const metadata: Record<string, unknown> = {resourceVersion: this.store.resourceVersion()}
    if (next !== undefined) {
      metadata.continue = Buffer.from(
        JSON.stringify({v: 'meta.k8s.io/v1', rv: Number(this.store.resourceVersion()), start: next}),
      ).toString('base64url')
      if (!lm && !fm) metadata.remainingItemCount = remaining
    }
    const head = JSON.stringify({
      apiVersion: rt.group ? `${rt.group}/${version}` : version,
      kind: rt.listKind,
      metadata,
    })
    // Stored objects are never mutated (writes replace them), so their list-item JSON is cached per object.
    const body = items.map(({o}) => this.itemJson(rt, version, o)).join(',')
    return new RawJson(`${head.slice(0, -1)},"items":[${body}]}`)
  }

  private readonly itemCache = new WeakMap<object, {version: string; json: string}>()

  /** Built-in list items carry no apiVersion/kind (as from a real server); custom resources do. */
  private itemJson(rt: ResourceType, version: string, o: any): string {
    const hit = this.itemCache.get(o)
    if (hit && hit.version === version) return hit.json
    let json: string
    if (rt.builtin) {
      const {apiVersion: _a, kind: _k, ...rest} = o
      json = JSON.stringify(rest)
    } else json = JSON.stringify(this.out(rt, version, o))
    this.itemCache.set(o, {version, json})
    return json
  }

  /** A minimal watch: events after the request (no history replay, no bookmarks), one JSON object per line. */
  private watch(route: Route, query: URLSearchParams, res: ServerResponse, rec: RequestRecord): void {
    const rt = route.rt!
    const lm = labelMatcher(query.get('labelSelector'))
    const fm = fieldMatcher(query.get('fieldSelector'), rt.plural)
    rec.status = 200
    res.writeHead(200, {'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'})
    this.watchers.add(res)
    const listener = (e: {type: string; rt: ResourceType; obj: any}) => {
      if (e.rt.plural !== rt.plural || e.rt.group !== rt.group) return
      if (route.namespace !== undefined && e.obj.metadata?.namespace !== route.namespace) return
      if ((lm && !lm(e.obj)) || (fm && !fm(e.obj))) return
      res.write(`${JSON.stringify({type: e.type, object: this.out(rt, route.version!, e.obj)})}\n`)
    }
    this.store.listeners.push(listener)
    const done = () => {
      const i = this.store.listeners.indexOf(listener)
      if (i >= 0) this.store.listeners.splice(i, 1)
      this.watchers.delete(res)
    }
    const t = Number(query.get('timeoutSeconds') ?? 0)
    if (t > 0) setTimeout(() => res.end(), t * 1000).unref()
    res.on('close', done)
  }

  private podFor(namespace: string, name: string): any {
    const pod = this.store.peek(this.store.typeByPlural('', 'pods')!, name, namespace)
    if (!pod) throw notFound({group: '', plural: 'pods'}, name)
    return pod
  }

  private containerFor(pod: any, container: string | null, withInit: boolean): string {
    const names: string[] = (pod.spec?.containers ?? []).map((c: any) => c.name)
    const init: string[] = (pod.spec?.initContainers ?? []).map((c: any) => c.name)
    if (!container) {
      if (names.length === 1) return names[0]!
      throw badRequest(
        `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]${init.length ? ` or one of the init containers: [${init.join(' ')}]` : ''}`,
      )
    }
    if (!names.includes(container) && !(withInit && init.includes(container))) {
      throw badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`)
    }
    return container
  }

  private logs(
    route: Route,
    query: URLSearchParams,
    respond: (code: number, body: unknown, type?: string) => void,
  ): void {
    const pod = this.podFor(route.namespace!, route.name!)
    const container = this.containerFor(pod, query.get('container'), true)
    const tail = query.get('tailLines')
    let text = this.logsHandler({
      namespace: route.namespace!,
      pod: route.name!,
      container,
      node: pod.spec?.nodeName,
      tailLines: tail ? Number(tail) : undefined,
      previous: query.get('previous') === 'true',
    })
    if (tail) {
      const n = Number(tail)
      const lines = text.split('\n')
      const trailing = text.endsWith('\n')
      if (trailing) lines.pop()
      text = lines.slice(Math.max(0, lines.length - n)).join('\n') + (trailing && n > 0 ? '\n' : '')
    }
    const limitBytes = query.get('limitBytes')
    if (limitBytes) text = Buffer.from(text).subarray(0, Number(limitBytes)).toString('utf8')
    respond(200, text, 'text/plain')
  }

  // ---- exec over WebSocket ----

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy()) // an upgraded socket has no other 'error' listener
    const url = new URL(req.url ?? '/', 'http://x')
    const route = this.route(url.pathname)
    const rec = this.record({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      status: 0,
      verb: route?.subresource === 'exec' ? 'exec' : 'other',
      resource: route?.rt?.plural,
      subresource: route?.subresource,
      namespace: route?.namespace,
      name: route?.name,
    })
    const reject = (status: StatusBody) => {
      rec.status = status.code
      const text = JSON.stringify(status)
      socket.end(
        `HTTP/1.1 ${status.code} ${status.reason ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
      )
    }
    try {
      const action = this.hook?.({
        method: rec.method,
        path: url.pathname,
        verb: rec.verb,
        resource: rec.resource,
        subresource: rec.subresource,
        namespace: rec.namespace,
        name: rec.name,
        query: url.searchParams,
      })
      if (
        await this.fault(
          action,
          rec,
          (_c, b) => reject(b as StatusBody),
          () => socket.destroy(),
        )
      )
        return
      if (!this.authorized(req)) throw unauthorized()
      if (!route || route.subresource !== 'exec') throw pathNotFound()
      const denied = this.denied('exec', route)
      if (denied) throw denied
      const pod = this.podFor(route.namespace!, route.name!)
      const container = this.containerFor(pod, url.searchParams.get('container'), false)
      const command = url.searchParams.getAll('command')
      if (command.length === 0) throw badRequest('you must specify at least 1 command')
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        rec.status = 101
        void this.runExec(ws, {
          namespace: route.namespace!,
          pod: route.name!,
          container,
          command,
          node: pod.spec?.nodeName,
        })
      })
    } catch (err) {
      if (err instanceof ApiError) reject(err.status)
      else reject(internalError((err as Error).message).status)
    }
  }

  private async runExec(ws: WebSocket, req: ExecRequest): Promise<void> {
    let result: ExecResponse
    try {
      result = await this.execHandler(req)
    } catch (err) {
      result = {stderr: `exec handler failed: ${(err as Error).message}`, exitCode: 1}
    }
    const send = (channel: number, data: string | Buffer | undefined) => {
      if (data === undefined || data.length === 0 || ws.readyState !== ws.OPEN) return
      const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
      // Chunk like a real stream so clients that assume one frame per write still work.
      for (let i = 0; i < payload.length; i += 32 * 1024) {
        ws.send(Buffer.concat([Buffer.from([channel]), payload.subarray(i, i + 32 * 1024)]))
      }
    }
    send(1, result.stdout)
    send(2, result.stderr)
    const status = result.startFailure
      ? {metadata: {}, status: 'Failure', message: result.startFailure, reason: 'InternalError'}
      : result.exitCode === 0
        ? {metadata: {}, status: 'Success'}
        : {
            metadata: {},
            status: 'Failure',
            message: `command terminated with non-zero exit code: error executing command [${req.command.join(' ')}], exit code ${result.exitCode}`,
            reason: 'NonZeroExitCode',
            details: {causes: [{reason: 'ExitCode', message: String(result.exitCode)}]},
          }
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]))
    if (ws.readyState === ws.OPEN) ws.close(1000)
  }
}

function pickProtocol(protocols: Set<string>): string | false {
  for (const p of [
    'v5.channel.k8s.io',
    'v4.channel.k8s.io',
    'v3.channel.k8s.io',
    'v2.channel.k8s.io',
    'channel.k8s.io',
  ]) {
    if (protocols.has(p)) return p
  }
  return false
}

function lowerBound(keys: string[], target: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid]! < target) lo = mid + 1
    else hi = mid
  }
  return lo
}

function notFoundPod(name: string): ApiError {
  return failure(404, 'NotFound', `pods "${name}" not found`, {name, kind: 'pods'})
}
