/** metav1.Status bodies worded like kube-apiserver's (k8s.io/apimachinery/pkg/api/errors). */
export interface StatusBody {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: Record<string, never>
  status: 'Failure' | 'Success'
  message?: string
  reason?: string
  details?: {
    name?: string
    group?: string
    kind?: string
    uid?: string
    causes?: {reason?: string; message: string; field?: string}[]
  }
  code: number
}

/** An error carrying the Status to answer with. */
export class ApiError extends Error {
  constructor(readonly status: StatusBody) {
    super(status.message)
  }
}

export interface GroupResource {
  group: string
  plural: string
}

const qualified = (gr: GroupResource) => (gr.group ? `${gr.plural}.${gr.group}` : gr.plural)

export function failure(code: number, reason: string, message: string, details?: StatusBody['details']): ApiError {
  const body: StatusBody = {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code}
  if (details) body.details = details
  return new ApiError(body)
}

export const notFound = (gr: GroupResource, name: string) =>
  failure(404, 'NotFound', `${qualified(gr)} "${name}" not found`, {
    name,
    group: gr.group || undefined,
    kind: gr.plural,
  })

export const alreadyExists = (gr: GroupResource, name: string) =>
  failure(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, {
    name,
    group: gr.group || undefined,
    kind: gr.plural,
  })

export const conflict = (gr: GroupResource, name: string) =>
  failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(gr)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    {name, group: gr.group || undefined, kind: gr.plural},
  )

/** `Kind.group "name" is invalid: field: msg` (one cause) or `…: [a, b]` (several), as field.ErrorList.ToAggregate prints. */
export function invalid(
  gk: {group: string; kind: string},
  name: string,
  causes: {reason: string; message: string; field: string}[],
): ApiError {
  const texts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message))
  const joined = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`
  const qk = gk.group ? `${gk.kind}.${gk.group}` : gk.kind
  return failure(422, 'Invalid', `${qk} "${name}" is invalid: ${joined}`, {
    name,
    group: gk.group || undefined,
    kind: gk.kind,
    causes,
  })
}

export const badRequest = (message: string) => failure(400, 'BadRequest', message)

export const unauthorized = () => failure(401, 'Unauthorized', 'Unauthorized')

export function forbidden(user: string, verb: string, gr: GroupResource, namespace?: string, name?: string): ApiError {
  const who = name ? `${qualified(gr)} "${name}"` : qualified(gr)
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope'
  return failure(
    403,
    'Forbidden',
    `${who} is forbidden: User "${user}" cannot ${verb} resource "${gr.plural}" in API group "${gr.group}" ${scope}`,
    {name, group: gr.group || undefined, kind: gr.plural},
  )
}

export const ACCEPTED_PATCH_CR =
  'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml'
export const ACCEPTED_PATCH_BUILTIN = `${ACCEPTED_PATCH_CR}, application/strategic-merge-patch+json`

export const unsupportedMediaType = (accepted: string) =>
  failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted}`,
  )

export const methodNotAllowed = () =>
  failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')

export const pathNotFound = () => failure(404, 'NotFound', 'the server could not find the requested resource', {})

export const internalError = (message: string) =>
  failure(500, 'InternalError', `Internal error occurred: ${message}`, {causes: [{message}]})

export function success(details: StatusBody['details']): StatusBody {
  return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200}
}
