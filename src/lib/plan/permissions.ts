import pLimit from 'p-limit'

import type {KubeClient} from '../kube/client.js'
import {KubeApiError} from '../kube/errors.js'
import {type ResourceRef, Resources} from '../kube/resources.js'
import type {KubeObject} from '../kube/types.js'
import {ExitCode, UserError} from '../errors.js'
import {LOCK_LEASE} from './lock.js'
import {RECORD_CONFIGMAP} from './record.js'
import type {Plan} from './types.js'


const accessReviews: ResourceRef = {
  group: 'authorization.k8s.io',
  version: 'v1',
  plural: 'selfsubjectaccessreviews',
  kind: 'SelfSubjectAccessReview',
  namespaced: false,
}

/** One RBAC question, as `kubectl auth can-i` asks it (spec.resourceAttributes of a SelfSubjectAccessReview). */
export interface Permission {
  verb: string
  group: string
  resource: string
  subresource?: string
  namespace?: string
  name?: string
}

export interface PermissionCheck {
  /** Everything asked, in plan order. */
  asked: Permission[]
  missing: Permission[]
  /** Set when the API could not answer (SelfSubjectAccessReview not served or refused): nothing is known. */
  unchecked?: string
}

const key = (p: Permission) => [p.verb, p.group, p.resource, p.subresource, p.namespace, p.name].join('|')

/**
 * Every verb/resource/namespace/name the plan will use: each change ebpfctl sends (and the undo of it, in case of a
 * rollback), the record ConfigMap, the lock Lease, and the reads its waits make. Operator-made changes are not ours.
 */
export function planPermissions(
  plan: Plan,
  state: Parameters<Plan['steps'][number]['alreadyDone']>[0],
  opts: {recordNamespace: string},
): Permission[] {
  const out = new Map<string, Permission>()
  const add = (verb: string, resource: ResourceRef, namespace?: string, name?: string, subresource?: string) => {
    const p: Permission = {
      verb,
      group: resource.group,
      resource: resource.plural,
      ...(subresource ? {subresource} : {}),
      ...(resource.namespaced && namespace ? {namespace} : {}),
      // RBAC cannot restrict create by name (the object does not exist yet): asked without one, as kubectl does.
      ...(name && verb !== 'create' ? {name} : {}),
    }
    out.set(key(p), p)
  }
  const record = opts.recordNamespace
  // delete: the lock is released at the end (a run that cannot delete leaves it to expire).
  for (const verb of ['get', 'create', 'update', 'delete']) add(verb, Resources.leases, LOCK_LEASE.namespace, LOCK_LEASE.name)
  for (const verb of ['get', 'create', 'patch', 'delete']) add(verb, Resources.configMaps, record, RECORD_CONFIGMAP)
  for (const step of plan.steps) {
    if (step.alreadyDone(state)) continue
    for (const c of step.changes()) {
      if (c.by === 'operator') continue
      const verbs = c.action === 'create' ? ['create', 'get', 'patch', 'delete'] : c.action === 'delete' ? ['get', 'delete'] : ['get', 'patch']
      for (const verb of verbs) add(verb, c.resource, c.namespace, c.name)
    }
  }
  // Verification reads each calico-node pod's log.
  const calico = plan.install.calicoNamespace
  if (calico && plan.steps.some((s) => !s.alreadyDone(state))) {
    add('list', Resources.pods, calico)
    add('get', Resources.pods, calico, undefined, 'log')
  }
  return [...out.values()]
}

interface AccessReview extends KubeObject {
  status?: {allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string}
}

/** Asks the API server about each permission (SelfSubjectAccessReview, 8 at a time). */
export async function checkPermissions(kube: KubeClient, asked: Permission[]): Promise<PermissionCheck> {
  const limit = pLimit(8)
  try {
    const answers = await Promise.all(
      asked.map((p) =>
        limit(async () => {
          const review = await kube.create<AccessReview>(accessReviews, {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            metadata: {} as KubeObject['metadata'],
            spec: {resourceAttributes: p},
          } as AccessReview)
          return review.status?.allowed
        }),
      ),
    )
    if (answers.some((a) => typeof a !== 'boolean')) {
      return {asked, missing: [], unchecked: 'the API server answered SelfSubjectAccessReview without a verdict'}
    }
    return {asked, missing: asked.filter((_, i) => answers[i] === false)}
  } catch (err) {
    if (err instanceof KubeApiError && (err.code === 404 || err.code === 403 || err.code === 405)) {
      return {asked, missing: [], unchecked: `SelfSubjectAccessReview is not available (${err.code})`}
    }
    // The gate is advice: when the API cannot answer it (timeouts, 5xx after retries), the run goes on as it would
    // without it — a 403 met later is still rolled back.
    if (err instanceof KubeApiError && err.isTransient) return {asked, missing: [], unchecked: err.message}
    throw err
  }
}

/** `patch daemonsets.apps/kube-proxy -n kube-system`: the arguments of `kubectl auth can-i`. */
export function formatPermission(p: Permission): string {
  const resource = p.group ? `${p.resource}.${p.group}` : p.resource
  const sub = p.subresource ? ` --subresource=${p.subresource}` : ''
  return `${p.verb} ${resource}${p.name ? `/${p.name}` : ''}${p.namespace ? ` -n ${p.namespace}` : ''}${sub}`
}

/** Refused before the first write: the full list of what the kubeconfig user may not do. Exit 2. */
export class PermissionError extends UserError {
  readonly missing: Permission[]
  constructor(missing: Permission[], command: string) {
    const first = missing[0]!
    super(
      `missing permissions: ${command} would need ${missing.length} more, nothing was changed:\n` +
        missing.map((p) => `  - ${formatPermission(p)}`).join('\n'),
      {
        exitCode: ExitCode.Usage,
        remedy:
          `Grant these to the kubeconfig user, or use a context that has them (check each with ` +
          `\`kubectl auth can-i ${formatPermission(first)}\`).`,
      },
    )
    this.name = 'PermissionError'
    this.missing = missing
  }
}



/** The dry run's permission lines: how many were asked and each one missing, as `kubectl auth can-i` arguments. */
export function renderPermissions(check: PermissionCheck | undefined): string[] {
  if (!check) return []
  if (check.unchecked) return [`Permissions: not checked (${check.unchecked}).`]
  const head = `Permissions (SelfSubjectAccessReview, as kubectl auth can-i): ${check.asked.length} checked, ${check.missing.length} missing`
  return check.missing.length ? [`${head}:`, ...check.missing.map((p) => `  - ${formatPermission(p)}`)] : [`${head}.`]
}
