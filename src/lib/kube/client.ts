import type {Agent, IncomingHttpHeaders} from 'node:http'

import {type Verb, KubeApiError, networkError, statusError} from './errors.js'
import {ManagedFieldsFilter, continueFromHead} from './list-filter.js'
import {type ResourceRef, qualifiedName, resourcePath} from './resources.js'
import type {K8sStatus, KubeList, KubeObject} from './types.js'

export interface ListOptions {
  labelSelector?: string
  fieldSelector?: string
  /** Page size for limit/continue pagination (default 500, as kubectl). */
  pageSize?: number
  /** Only the first page (shell completion: a bounded answer beats a complete one). */
  firstPageOnly?: boolean
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
  /**
   * All pages of a list; namespace undefined lists across all namespaces. Items come without metadata.managedFields
   * (emptied as the page streams in: on a real API server they are most of a Node list's bytes, and never read).
   */
  list<T extends KubeObject = KubeObject>(resource: ResourceRef, namespace?: string, opts?: ListOptions): Promise<T[]>
  /** opts.dryRun (create, patch, delete): ?dryRun=All, judged by the API server, never persisted. */
  create<T extends KubeObject = KubeObject>(resource: ResourceRef, obj: T, opts?: WriteOptions): Promise<T>
  replace<T extends KubeObject = KubeObject>(resource: ResourceRef, obj: T): Promise<T>
  patch<T extends KubeObject = KubeObject>(
    resource: ResourceRef,
    name: string,
    namespace: string | undefined,
    body: unknown,
    type: PatchType,
    opts?: WriteOptions,
  ): Promise<T>
  /** false when the object was already gone. */
  delete(resource: ResourceRef, name: string, namespace?: string, opts?: WriteOptions): Promise<boolean>
  /** API group name → served versions (from /api and /apis discovery). */
  apiGroups(): Promise<Map<string, string[]>>
  /** GET /version (`ebpfctl version`). */
  serverVersion?(): Promise<ServerVersion>
  podLogs(namespace: string, pod: string, container: string, opts?: {tailLines?: number; limitBytes?: number}): Promise<string>
  exec(namespace: string, pod: string, container: string, argv: string[], opts: ExecOptions): Promise<ExecResult>
  /**
   * GET through the API server's pod proxy (`pods/NAME:PORT/proxy/PATH`): the status and body (bounded by maxBytes)
   * of what the pod answered. Throws KubeApiError when the API server refuses (403) or cannot be reached.
   */
  proxyGet(namespace: string, pod: string, port: number, path: string, opts: {maxBytes: number}): Promise<{status: number; body: string}>
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
  retry?: Partial<RetryPolicy>
}

interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

const FIELD_MANAGER = 'ebpfctl'

/** The API server's GET /version answer (version.Info). */
export interface ServerVersion {
  gitVersion?: string
  major?: string
  minor?: string
  platform?: string
}

/** dryRun: the API server validates, admits and authorizes the write (webhooks included) but persists nothing. */
export interface WriteOptions {
  dryRun?: boolean
}

const dryRunQuery = (opts: WriteOptions) => (opts.dryRun ? '&dryRun=All' : '')

const MiB = 1024 * 1024
/** Byte bounds on what the API server may send: a list page, one object, and pod logs (also sent as limitBytes). */
export const BODY_LIMITS = {listPage: 64 * MiB, object: 16 * MiB, logs: 8 * MiB} as const

/**
 * Transient errors (429, 5xx, dropped connections) are retried on reads and writes alike: up to `attempts` tries, with
 * jittered exponential backoff or the server's Retry-After (capped), all inside one --request-timeout budget.
 */
export interface RetryPolicy {
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
  retryAfterCapMs: number
}
export const DEFAULT_RETRY: RetryPolicy = {attempts: 5, baseDelayMs: 200, maxDelayMs: 2000, retryAfterCapMs: 10_000}

/** For a list page: called with its continue token as soon as the page's head (metadata) has come. */
interface ListPageHooks {
  onContinue?: (token: string) => void
}

interface RequestContext {
  verb: Verb
  resource?: ResourceRef
  namespace?: string
  name?: string
}

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
    const res = await this.request('GET', resourcePath(resource, namespace, name), {verb: 'get', resource, namespace, name}, undefined, BODY_LIMITS.object)
    if (res.status === 404) return undefined
    return this.parse<T>(res, {verb: 'get', resource, namespace, name})
  }

  async list<T extends KubeObject>(resource: ResourceRef, namespace?: string, opts: ListOptions = {}): Promise<T[]> {
    const ctx = {verb: 'list' as const, resource, namespace}
    /**
     * One page. Its successor is asked for as soon as this page's head names the continue token (the API server
     * writes the list's metadata before its items), so the server prepares page n+1 while page n streams in and is
     * parsed. At most two pages are in flight: a page may start its successor only once its predecessor is done.
     */
    interface Page {
      token?: string
      res: Promise<RawResponse>
      headToken?: string
      mayPrefetch: boolean
      next?: Page
    }
    const fetchPage = (token: string | undefined): Page => {
      const query = new URLSearchParams()
      query.set('limit', String(opts.pageSize ?? 500))
      if (opts.labelSelector) query.set('labelSelector', opts.labelSelector)
      if (opts.fieldSelector) query.set('fieldSelector', opts.fieldSelector)
      if (token) query.set('continue', token)
      const page: Page = {token, mayPrefetch: false, res: undefined as unknown as Promise<RawResponse>}
      const onContinue = opts.firstPageOnly
        ? undefined
        : (next: string) => {
            page.headToken ??= next
            if (page.mayPrefetch) page.next ??= fetchPage(next)
          }
      page.res = this.request('GET', `${resourcePath(resource, namespace)}?${query}`, ctx, undefined, BODY_LIMITS.listPage, undefined, {onContinue})
      page.res.catch(() => undefined) // a prefetched page nobody reads must not be an unhandled rejection
      return page
    }
    const items: T[] = []
    let page = fetchPage(undefined)
    page.mayPrefetch = true
    for (;;) {
      const res = await page.res
      // The resource type is not served (CRD absent): empty. Callers check discovery where the difference matters.
      if (res.status === 404) return []
      const body = this.parse<KubeList<T>>(res, ctx)
      items.push(...body.items)
      const token = opts.firstPageOnly ? undefined : body.metadata?.continue || undefined
      if (!token) break
      // The prefetched page is used only if it was asked for with the token the whole page names.
      const next = page.next?.token === token ? page.next : fetchPage(token)
      next.mayPrefetch = true
      if (next.headToken !== undefined) next.next ??= fetchPage(next.headToken)
      page = next
    }
    return items
  }

  async create<T extends KubeObject>(resource: ResourceRef, obj: T, opts: WriteOptions = {}): Promise<T> {
    const namespace = obj.metadata.namespace
    const ctx = {verb: 'create' as const, resource, namespace, name: obj.metadata.name}
    let retried = false
    const res = await this.request(
      'POST',
      `${resourcePath(resource, namespace)}?fieldManager=${FIELD_MANAGER}${dryRunQuery(opts)}`,
      ctx,
      {body: JSON.stringify(obj), contentType: 'application/json'},
      BODY_LIMITS.object,
      () => {
        retried = true
      },
    )
    if (res.status === 409 && retried && !opts.dryRun) {
      // Our earlier attempt may have landed: the object there with our content is success, anything else is not ours.
      const existing = await this.get<T>(resource, obj.metadata.name, namespace).catch(() => undefined)
      if (existing && containsContent(existing, obj)) return existing
    }
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
      BODY_LIMITS.object,
    )
    return this.parse<T>(res, ctx)
  }

  async patch<T extends KubeObject>(
    resource: ResourceRef,
    name: string,
    namespace: string | undefined,
    body: unknown,
    type: PatchType,
    opts: WriteOptions = {},
  ): Promise<T> {
    const ctx = {verb: 'patch' as const, resource, namespace, name}
    const res = await this.request(
      'PATCH',
      `${resourcePath(resource, namespace, name)}?fieldManager=${FIELD_MANAGER}${dryRunQuery(opts)}`,
      ctx,
      {body: JSON.stringify(body), contentType: PatchContentType[type]},
      BODY_LIMITS.object,
    )
    return this.parse<T>(res, ctx)
  }

  async delete(resource: ResourceRef, name: string, namespace?: string, opts: WriteOptions = {}): Promise<boolean> {
    const ctx = {verb: 'delete' as const, resource, namespace, name}
    let retried = false
    const path = resourcePath(resource, namespace, name) + (opts.dryRun ? '?dryRun=All' : '')
    const res = await this.request('DELETE', path, ctx, undefined, BODY_LIMITS.object, () => {
      retried = true
    })
    // After a retry a 404 may be our own earlier delete that landed: gone either way.
    if (res.status === 404) return retried
    this.parse(res, ctx)
    return true
  }

  async serverVersion(): Promise<ServerVersion> {
    const res = await this.request('GET', '/version', {verb: 'get'}, undefined, BODY_LIMITS.object)
    return this.parse<ServerVersion>(res, {verb: 'get'})
  }

  apiGroups(): Promise<Map<string, string[]>> {
    this.groupsCache ??= (async () => {
      const res = await this.request('GET', '/apis', {verb: 'get'}, undefined, BODY_LIMITS.object)
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
    // Always bounded: the server stops at limitBytes; a server that ignores it is cut off here (with some slack).
    const limitBytes = Math.min(opts.limitBytes ?? BODY_LIMITS.logs, BODY_LIMITS.logs)
    query.set('limitBytes', String(limitBytes))
    const ctx = {verb: 'logs' as const, namespace, name: pod}
    const res = await this.request(
      'GET',
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?${query}`,
      ctx,
      undefined,
      limitBytes + 64 * 1024,
    )
    if (res.status >= 300) throw statusError(res.status, safeJson<K8sStatus>(res.body), {...ctx, server: this.server})
    return res.body
  }

  exec(namespace: string, pod: string, container: string, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    if (!this.transport.exec) throw new Error('exec is not available on this client')
    return this.transport.exec(namespace, pod, container, argv, opts)
  }

  async proxyGet(namespace: string, pod: string, port: number, path: string, opts: {maxBytes: number}): Promise<{status: number; body: string}> {
    const ctx = {verb: 'get' as const, namespace, name: `${pod}/proxy`}
    const res = await this.request(
      'GET',
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(`${pod}:${port}`)}/proxy${path}`,
      ctx,
      undefined,
      opts.maxBytes,
    )
    // The API server's own refusals are errors; anything else is what the pod (or the proxy trying to reach it) said.
    if (res.status === 401 || res.status === 403) throw statusError(res.status, safeJson<K8sStatus>(res.body), {...ctx, server: this.server})
    return {status: res.status, body: res.body}
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

  /**
   * One API call: retried on transient errors within the --request-timeout budget. Writes whose outcome stays unknown
   * (dropped connection, timeout or 5xx after the last attempt) throw with `outcomeUnknown`, so callers re-read.
   */
  private async request(
    method: string,
    path: string,
    ctx: RequestContext,
    payload: {body: string; contentType: string} | undefined,
    maxBytes: number,
    onRetry?: () => void,
    listPage?: ListPageHooks,
  ): Promise<RawResponse> {
    const policy = {...DEFAULT_RETRY, ...this.transport.retry}
    const budgetMs = this.transport.timeoutMs
    const deadline = budgetMs > 0 ? Date.now() + budgetMs : Infinity
    const isWrite = method !== 'GET'
    let uncertain = false
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now()
      let res: RawResponse | undefined
      let failure: KubeApiError | undefined
      try {
        res = await this.requestOnce(method, path, ctx, payload, maxBytes, Math.max(1, Math.min(remaining, budgetMs > 0 ? budgetMs : Infinity)), listPage)
      } catch (err) {
        if (!(err instanceof KubeApiError)) throw err
        failure = err
      }
      const transient = failure
        ? failure.code === 0 && failure.bound !== 'bytes' && failure.bound !== 'time' && retryableNetwork(failure)
        : res!.status === 429 || res!.status >= 500
      if (!transient) {
        if (failure) throw isWrite && (uncertain || failure.bound === 'time') ? unknownOutcome(failure) : failure
        if (isWrite && uncertain && res!.status === 409 && method !== 'POST') {
          throw unknownOutcome(statusError(res!.status, safeJson<K8sStatus>(res!.body), {...ctx, server: this.server}))
        }
        return res!
      }
      // Whether the write landed is unknown after a dropped connection or a 5xx other than 503 (not served) / 429.
      if (failure ? failure.cause && (failure.cause as NodeJS.ErrnoException).code !== 'ECONNREFUSED' : res!.status !== 503 && res!.status !== 429)
        uncertain = true
      const wait = retryDelay(policy, attempt, res)
      if (attempt >= policy.attempts || Date.now() + wait >= deadline) {
        if (failure) throw isWrite && uncertain ? unknownOutcome(failure) : failure
        if (isWrite && uncertain) throw unknownOutcome(statusError(res!.status, safeJson<K8sStatus>(res!.body), {...ctx, server: this.server}))
        return res!
      }
      onRetry?.()
      await new Promise((r) => setTimeout(r, wait))
    }
  }

  /**
   * One HTTP exchange, its body bounded by maxBytes (declared or streamed, before any filtering) and the whole exchange
   * by timeoutMs. A successful list page arrives without its items' managedFields (ManagedFieldsFilter), and its
   * continue token is passed to listPage.onContinue as soon as the page's head has come.
   */
  private async requestOnce(
    method: string,
    path: string,
    ctx: RequestContext,
    payload: {body: string; contentType: string} | undefined,
    maxBytes: number,
    timeoutMs: number,
    listPage?: ListPageHooks,
  ): Promise<RawResponse> {
    const {agent, headers} = await this.transport.requestOptions()
    const url = new URL(this.server + path)
    const {request} = url.protocol === 'http:' ? await import('node:http') : await import('node:https')
    const budgetMs = this.transport.timeoutMs
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
          signal: Number.isFinite(timeoutMs) ? AbortSignal.timeout(timeoutMs) : undefined,
        },
        (res) => {
          const tooBig = () => {
            req.destroy()
            reject(bodyTooLarge(this.server, ctx, maxBytes))
          }
          const declared = Number(res.headers['content-length'])
          if (Number.isFinite(declared) && declared > maxBytes) return tooBig()
          const status = res.statusCode ?? 0
          const onContinue = listPage?.onContinue
          const onHead = onContinue
            ? (head: Buffer) => {
                const token = continueFromHead(head)
                if (token) onContinue(token)
              }
            : undefined
          const filter = listPage && status >= 200 && status < 300 ? new ManagedFieldsFilter(onHead) : undefined
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (c: Buffer) => {
            size += c.length
            if (size > maxBytes) return tooBig()
            if (filter) filter.write(c)
            else chunks.push(c)
          })
          res.on('end', () => resolve({status, headers: res.headers, body: (filter ? filter.end() : Buffer.concat(chunks)).toString('utf8')}))
          res.on('error', (err) => reject(networkError(err, {...ctx, server: this.server, timeoutMs: budgetMs})))
        },
      )
      req.on('error', (err) => reject(networkError(err, {...ctx, server: this.server, timeoutMs: budgetMs})))
      if (payload) req.write(payload.body)
      req.end()
    })
  }
}

function bodyTooLarge(server: string, ctx: RequestContext, maxBytes: number): KubeApiError {
  const what = ctx.verb === 'list' ? 'a list page' : ctx.verb === 'logs' ? 'the pod log' : 'the object'
  return new KubeApiError({
    code: 0,
    verb: ctx.verb,
    resource: ctx.resource,
    objectName: ctx.name,
    bound: 'bytes',
    message: `the API server at ${server} sent more than ${+(maxBytes / MiB).toFixed(2)} MiB for ${what} (${ctx.verb}${
      ctx.resource ? ` ${qualifiedName(ctx.resource)}` : ''
    }${ctx.name ? ` "${ctx.name}"` : ''}); stopped reading at the byte bound`,
    remedy:
      ctx.verb === 'list'
        ? 'Check the API server and any proxy in front of it (kubectl get --raw); a list page that large is not one ebpfctl reads.'
        : 'Check the object with kubectl get -o yaml; an object that large is not one ebpfctl expects.',
  })
}

function unknownOutcome(err: KubeApiError): KubeApiError {
  return new KubeApiError({
    code: err.code,
    reason: err.reason,
    verb: err.verb,
    resource: err.resource,
    objectName: err.objectName,
    bound: err.bound,
    message: `${err.message} (the write may or may not have been applied)`,
    remedy: err.remedy,
    cause: err.cause ?? err,
    outcomeUnknown: true,
  })
}

/** Connection resets, refusals and early closes are worth another try; TLS and DNS failures are not. */
function retryableNetwork(err: KubeApiError): boolean {
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code
  return ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET'].includes(code ?? '') ||
    /socket hang up/i.test((err.cause as Error | undefined)?.message ?? '')
}

function retryDelay(policy: RetryPolicy, attempt: number, res: RawResponse | undefined): number {
  const retryAfter = res?.status === 429 || res?.status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined
  if (retryAfter !== undefined) return Math.min(retryAfter, policy.retryAfterCapMs)
  const ceiling = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs)
  return ceiling / 2 + Math.random() * (ceiling / 2)
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (!value) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

/** True when every field we sent (labels, annotations, data, spec …) has the same value in the object found. */
function containsContent(found: unknown, sent: unknown): boolean {
  if (sent === null || typeof sent !== 'object') return found === sent
  if (Array.isArray(sent)) return Array.isArray(found) && found.length === sent.length && sent.every((v, i) => containsContent(found[i], v))
  if (found === null || typeof found !== 'object') return false
  return Object.entries(sent as Record<string, unknown>).every(
    ([k, v]) => ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields', 'generation'].includes(k) || containsContent((found as Record<string, unknown>)[k], v),
  )
}

function safeJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T
  } catch {
    return undefined
  }
}
