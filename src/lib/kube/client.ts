import type {Agent, IncomingHttpHeaders} from 'node:http'

import {type Verb, KubeApiError, networkError, statusError} from './errors.js'
import {type ResourceRef, resourcePath} from './resources.js'
import type {K8sStatus, KubeList, KubeObject} from './types.js'

export interface ListOptions {
  labelSelector?: string
  fieldSelector?: string
  /** Page size for limit/continue pagination (default 500, as kubectl). */
  pageSize?: number
}

export type PatchType = 'merge' | 'strategic' | 'json'

export const PatchContentType: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
}

export interface ExecResult {
  stdout: string
  stderr: string
  exitCode: number
}

export interface ExecOptions {
  timeoutMs: number
  /** When set, stdout goes here as it arrives and ExecResult.stdout is ''; a returned promise holds the stream. */
  stdout?: (chunk: Buffer) => unknown
  /** When set, stderr goes here as it arrives and ExecResult.stderr is ''. */
  stderr?: (chunk: Buffer) => void
  /** Aborting closes the exec connection and rejects with the signal's reason. */
  signal?: AbortSignal
}

/**
 * The Kubernetes API as ebpfctl uses it. Everything in src/lib talks to this interface; the HTTP implementation below
 * and the fake API server in test/ are the only things on the other side of it.
 */
export interface KubeClient {
  readonly server: string
  readonly contextName?: string
  /** undefined when the object does not exist (404). */
  get<T extends KubeObject = KubeObject>(resource: ResourceRef, name: string, namespace?: string): Promise<T | undefined>
  /** All pages of a list; namespace undefined lists across all namespaces. */
  list<T extends KubeObject = KubeObject>(resource: ResourceRef, namespace?: string, opts?: ListOptions): Promise<T[]>
  create<T extends KubeObject = KubeObject>(resource: ResourceRef, obj: T): Promise<T>
  replace<T extends KubeObject = KubeObject>(resource: ResourceRef, obj: T): Promise<T>
  patch<T extends KubeObject = KubeObject>(
    resource: ResourceRef,
    name: string,
    namespace: string | undefined,
    body: unknown,
    type: PatchType,
  ): Promise<T>
  /** false when the object was already gone. */
  delete(resource: ResourceRef, name: string, namespace?: string): Promise<boolean>
  /** API group name → served versions (from /api and /apis discovery). */
  apiGroups(): Promise<Map<string, string[]>>
  podLogs(namespace: string, pod: string, container: string, opts?: {tailLines?: number; limitBytes?: number}): Promise<string>
  exec(namespace: string, pod: string, container: string, argv: string[], opts: ExecOptions): Promise<ExecResult>
  /** Releases sockets so the CLI can exit. */
  close(): void
}

export interface HttpTransport {
  /** Base URL of the API server, without trailing slash. */
  server: string
  /** Request options from the kubeconfig (TLS agent and auth headers). */
  requestOptions: () => Promise<{agent?: Agent; headers: Record<string, string>}>
  timeoutMs: number
  exec?: (namespace: string, pod: string, container: string, argv: string[], opts: ExecOptions) => Promise<ExecResult>
  onClose?: () => void
}

interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

const FIELD_MANAGER = 'ebpfctl'

/** KubeClient over node:http(s) with the TLS and auth that @kubernetes/client-node derived from the kubeconfig. */
export class HttpKubeClient implements KubeClient {
  readonly server: string
  readonly contextName?: string
  private readonly transport: HttpTransport
  private groupsCache?: Promise<Map<string, string[]>>

  constructor(transport: HttpTransport, contextName?: string) {
    this.transport = transport
    this.server = transport.server
    this.contextName = contextName
  }

  async get<T extends KubeObject>(resource: ResourceRef, name: string, namespace?: string): Promise<T | undefined> {
    const res = await this.request('GET', resourcePath(resource, namespace, name), {verb: 'get', resource, namespace, name})
    if (res.status === 404) return undefined
    return this.parse<T>(res, {verb: 'get', resource, namespace, name})
  }

  async list<T extends KubeObject>(resource: ResourceRef, namespace?: string, opts: ListOptions = {}): Promise<T[]> {
    const items: T[] = []
    let token: string | undefined
    do {
      const query = new URLSearchParams()
      query.set('limit', String(opts.pageSize ?? 500))
      if (opts.labelSelector) query.set('labelSelector', opts.labelSelector)
      if (opts.fieldSelector) query.set('fieldSelector', opts.fieldSelector)
      if (token) query.set('continue', token)
      const ctx = {verb: 'list' as const, resource, namespace}
      const res = await this.request('GET', `${resourcePath(resource, namespace)}?${query}`, ctx)
      // The resource type is not served (CRD absent): empty. Callers check discovery where the difference matters.
      if (res.status === 404) return []
      const page = this.parse<KubeList<T>>(res, ctx)
      items.push(...page.items)
      token = page.metadata?.continue || undefined
    } while (token)
    return items
  }

  async create<T extends KubeObject>(resource: ResourceRef, obj: T): Promise<T> {
    const namespace = obj.metadata.namespace
    const ctx = {verb: 'create' as const, resource, namespace, name: obj.metadata.name}
    const res = await this.request('POST', `${resourcePath(resource, namespace)}?fieldManager=${FIELD_MANAGER}`, ctx, {
      body: JSON.stringify(obj),
      contentType: 'application/json',
    })
    return this.parse<T>(res, ctx)
  }

  async replace<T extends KubeObject>(resource: ResourceRef, obj: T): Promise<T> {
    const {name, namespace} = obj.metadata
    const ctx = {verb: 'update' as const, resource, namespace, name}
    const res = await this.request(
      'PUT',
      `${resourcePath(resource, namespace, name)}?fieldManager=${FIELD_MANAGER}`,
      ctx,
      {body: JSON.stringify(obj), contentType: 'application/json'},
    )
    return this.parse<T>(res, ctx)
  }

  async patch<T extends KubeObject>(
    resource: ResourceRef,
    name: string,
    namespace: string | undefined,
    body: unknown,
    type: PatchType,
  ): Promise<T> {
    const ctx = {verb: 'patch' as const, resource, namespace, name}
    const res = await this.request(
      'PATCH',
      `${resourcePath(resource, namespace, name)}?fieldManager=${FIELD_MANAGER}`,
      ctx,
      {body: JSON.stringify(body), contentType: PatchContentType[type]},
    )
    return this.parse<T>(res, ctx)
  }

  async delete(resource: ResourceRef, name: string, namespace?: string): Promise<boolean> {
    const ctx = {verb: 'delete' as const, resource, namespace, name}
    const res = await this.request('DELETE', resourcePath(resource, namespace, name), ctx)
    if (res.status === 404) return false
    this.parse(res, ctx)
    return true
  }

  apiGroups(): Promise<Map<string, string[]>> {
    this.groupsCache ??= (async () => {
      const res = await this.request('GET', '/apis', {verb: 'get'})
      const list = this.parse<{groups?: {name: string; versions: {version: string}[]}[]}>(res, {verb: 'get'})
      const groups = new Map<string, string[]>([['', ['v1']]])
      for (const g of list.groups ?? []) groups.set(g.name, g.versions.map((v) => v.version))
      return groups
    })()
    return this.groupsCache
  }

  async podLogs(
    namespace: string,
    pod: string,
    container: string,
    opts: {tailLines?: number; limitBytes?: number} = {},
  ): Promise<string> {
    const query = new URLSearchParams({container})
    if (opts.tailLines !== undefined) query.set('tailLines', String(opts.tailLines))
    if (opts.limitBytes !== undefined) query.set('limitBytes', String(opts.limitBytes))
    const ctx = {verb: 'logs' as const, namespace, name: pod}
    const res = await this.request('GET', `/api/v1/namespaces/${namespace}/pods/${pod}/log?${query}`, ctx)
    if (res.status >= 300) throw statusError(res.status, safeJson<K8sStatus>(res.body), {...ctx, server: this.server})
    return res.body
  }

  exec(namespace: string, pod: string, container: string, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    if (!this.transport.exec) throw new Error('exec is not available on this client')
    return this.transport.exec(namespace, pod, container, argv, opts)
  }

  close(): void {
    this.transport.onClose?.()
  }

  private parse<T>(res: RawResponse, ctx: {verb: Verb; resource?: ResourceRef; namespace?: string; name?: string}): T {
    if (res.status >= 200 && res.status < 300) {
      const parsed = safeJson<T>(res.body)
      if (parsed === undefined) {
        throw new KubeApiError({
          code: res.status,
          verb: ctx.verb,
          resource: ctx.resource,
          message: `the API server at ${this.server} sent a response that is not JSON`,
          remedy: 'Check that the kubeconfig points at a Kubernetes API server and not at a proxy or web page.',
        })
      }
      return parsed
    }
    throw statusError(res.status, safeJson<K8sStatus>(res.body), {...ctx, server: this.server, bodyText: res.body})
  }

  private async request(
    method: string,
    path: string,
    ctx: {verb: Verb; resource?: ResourceRef; namespace?: string; name?: string},
    payload?: {body: string; contentType: string},
  ): Promise<RawResponse> {
    const {agent, headers} = await this.transport.requestOptions()
    const url = new URL(this.server + path)
    const {request} = url.protocol === 'http:' ? await import('node:http') : await import('node:https')
    const timeoutMs = this.transport.timeoutMs
    return new Promise<RawResponse>((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent,
          headers: {
            ...headers,
            Accept: 'application/json',
            'User-Agent': 'ebpfctl',
            ...(payload ? {'Content-Type': payload.contentType, 'Content-Length': Buffer.byteLength(payload.body)} : {}),
          },
          signal: timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8')}))
          res.on('error', (err) => reject(networkError(err, {...ctx, server: this.server, timeoutMs})))
        },
      )
      req.on('error', (err) => reject(networkError(err, {...ctx, server: this.server, timeoutMs})))
      if (payload) req.write(payload.body)
      req.end()
    })
  }
}

function safeJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}
