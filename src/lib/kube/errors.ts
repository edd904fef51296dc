import {ExitCode, UserError} from '../errors.js'
import {type ResourceRef, qualifiedName} from './resources.js'
import type {K8sStatus} from './types.js'

export type Verb = 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete' | 'exec' | 'logs'

/** A failed API request, with the metav1 Status the server sent (or the network error). */
export class KubeApiError extends UserError {
  readonly code: number // HTTP status; 0 for network errors and timeouts
  readonly reason?: string
  readonly verb: Verb
  readonly resource?: ResourceRef
  readonly objectName?: string
  /** A write that may or may not have landed (timeout, dropped connection, 5xx after retries): re-read before deciding. */
  readonly outcomeUnknown: boolean
  /** Which bound a response hit: its size (`bytes`) or --request-timeout (`time`). */
  readonly bound?: 'bytes' | 'time'

  constructor(opts: {
    message: string
    remedy?: string
    code: number
    reason?: string
    verb: Verb
    resource?: ResourceRef
    objectName?: string
    cause?: unknown
    outcomeUnknown?: boolean
    bound?: 'bytes' | 'time'
  }) {
    super(opts.message, {cause: opts.cause, exitCode: ExitCode.Usage, remedy: opts.remedy})
    this.name = 'KubeApiError'
    this.code = opts.code
    this.reason = opts.reason
    this.verb = opts.verb
    this.resource = opts.resource
    this.objectName = opts.objectName
    this.outcomeUnknown = opts.outcomeUnknown ?? false
    this.bound = opts.bound
  }

  get isConflict(): boolean {
    return this.code === 409 && this.reason !== 'AlreadyExists'
  }

  get isNotFound(): boolean {
    return this.code === 404
  }

  /** Network failures, timeouts and 5xx: the request may or may not have been applied. */
  get isTransient(): boolean {
    return this.code === 0 || this.code >= 500 || this.code === 429
  }
}

function describeTarget(resource: ResourceRef | undefined, namespace?: string, name?: string): string {
  if (!resource) return 'the API'
  const what = qualifiedName(resource)
  const obj = name ? `${what} "${name}"` : what
  return namespace ? `${obj} in namespace "${namespace}"` : obj
}

export function statusError(
  httpCode: number,
  status: K8sStatus | undefined,
  ctx: {server: string; verb: Verb; resource?: ResourceRef; namespace?: string; name?: string; bodyText?: string},
): KubeApiError {
  const target = describeTarget(ctx.resource, ctx.namespace, ctx.name)
  const serverMessage = status?.message ?? ctx.bodyText?.slice(0, 200) ?? ''
  const base = {code: httpCode, reason: status?.reason, verb: ctx.verb, resource: ctx.resource, objectName: ctx.name}
  if (httpCode === 401) {
    return new KubeApiError({
      ...base,
      message: `the API server at ${ctx.server} rejected the credentials (401 Unauthorized)`,
      remedy: 'Refresh the credentials in your kubeconfig (token, client certificate or exec plugin) and try again.',
    })
  }
  if (httpCode === 403) {
    const resource = ctx.resource ? qualifiedName(ctx.resource) : 'the resource'
    const scope = ctx.namespace ? ` -n ${ctx.namespace}` : ''
    return new KubeApiError({
      ...base,
      message: `forbidden: the kubeconfig user cannot ${ctx.verb} ${target}`,
      remedy: `Grant RBAC permission to ${ctx.verb} ${resource} (check with: kubectl auth can-i ${ctx.verb} ${resource}${scope}).`,
    })
  }
  return new KubeApiError({
    ...base,
    message: `cannot ${ctx.verb} ${target}: ${httpCode} ${status?.reason ?? ''}${serverMessage ? ` (${serverMessage})` : ''}`.replace(
      /\s+/g,
      ' ',
    ),
  })
}

export function networkError(
  err: NodeJS.ErrnoException,
  ctx: {server: string; verb: Verb; resource?: ResourceRef; timeoutMs: number},
): KubeApiError {
  const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError' || err.code === 'ETIMEDOUT'
  const why = timedOut
    ? `no answer within ${ctx.timeoutMs / 1000}s (the --request-timeout time bound)`
    : err.code === 'ECONNREFUSED'
      ? 'connection refused'
      : err.code === 'ENOTFOUND'
        ? 'host not found'
        : err.code?.startsWith('ERR_TLS') || err.code?.includes('CERT') || err.code === 'DEPTH_ZERO_SELF_SIGNED_CERT'
          ? `TLS verification failed (${err.code})`
          : (err.code ?? err.message)
  return new KubeApiError({
    code: 0,
    verb: ctx.verb,
    resource: ctx.resource,
    message: `cannot reach the API server at ${ctx.server}: ${why}`,
    bound: timedOut ? 'time' : undefined,
    remedy: timedOut
      ? 'Check that the cluster is up and reachable from here, or raise --request-timeout.'
      : 'Check the server address and certificate in your kubeconfig (kubectl config view --minify) and that the cluster is up.',
    cause: err,
  })
}
