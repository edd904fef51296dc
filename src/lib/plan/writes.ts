import type {ClusterState, InstallInfo} from '../kube/cluster.js'
import {calicoResource} from '../kube/cluster.js'
import {type ResourceRef, Resources} from '../kube/resources.js'
import {showPath} from './fields.js'
import type {FieldChange, ObjectChange} from './types.js'

/** A JSON schema (ajv) for one field's value, before or after. */
export type ValueSchema = Record<string, unknown>

/** Where a written object lives, resolved from the live cluster (never from the record). */
export type WriteNamespace = 'endpoint-configmap' | 'calico' | 'kube-proxy' | 'cluster-scoped'

/** One object a step may write, and the only fields it may change there. */
export interface WriteRule {
  kind: 'ConfigMap' | 'Installation' | 'FelixConfiguration' | 'DaemonSet' | 'Deployment'
  namespace: WriteNamespace
  /** The object's name; 'kube-proxy' DaemonSet names resolve to the live kube-proxy DaemonSet. */
  name: string
  /** Enable may create it (so undo deletes it). */
  create?: boolean
  /** Changes the operator makes in reaction (recorded, never sent by ebpfctl). */
  operatorMade?: boolean
  /**
   * priorAbsent: enable only ever adds this field, so its prior value is absent; revert writing a recorded prior
   * value there could only switch something off (the kube-proxy keys).
   */
  fields: {path: string[]; value: ValueSchema; priorAbsent?: boolean}[]
}

/** A rule with its namespace, name and API resource resolved against the live cluster. */
export interface ResolvedWrite extends WriteRule {
  stepId: string
  resource: ResourceRef
  /** Other groups the same resource may have been recorded under (crd.projectcalico.org vs projectcalico.org). */
  groups: string[]
  resolvedNamespace?: string
  resolvedName: string
}

const RESOURCE_BY_KIND = {
  ConfigMap: Resources.configMaps,
  Installation: Resources.installations,
  FelixConfiguration: Resources.felixConfigurations,
  DaemonSet: Resources.daemonSets,
  Deployment: Resources.deployments,
} as const

/** The allow-list: every rule of every step, resolved against the live cluster. */
export function resolveWrites(
  stepWrites: Record<string, WriteRule[]>,
  install: InstallInfo,
  state: ClusterState,
): ResolvedWrite[] {
  const kubeProxy = install.kubeProxy?.metadata
  const out: ResolvedWrite[] = []
  for (const [stepId, rules] of Object.entries(stepWrites)) {
    for (const rule of rules) {
      let namespace: string | undefined
      let name = rule.name
      if (rule.namespace === 'calico') namespace = install.calicoNamespace
      else if (rule.namespace === 'endpoint-configmap') namespace = install.endpointConfigMapNamespace
      else if (rule.namespace === 'kube-proxy') {
        namespace = kubeProxy?.namespace ?? 'kube-system'
        name = kubeProxy?.name ?? 'kube-proxy'
      }
      if (rule.namespace !== 'cluster-scoped' && !namespace) continue
      const base = RESOURCE_BY_KIND[rule.kind]
      const resource = rule.kind === 'FelixConfiguration' ? calicoResource(state, base) : base
      const groups = rule.kind === 'FelixConfiguration' ? ['crd.projectcalico.org', 'projectcalico.org'] : [base.group]
      out.push({...rule, stepId, resource, groups, resolvedNamespace: namespace, resolvedName: name})
    }
  }
  return out
}

const samePath = (a: string[], b: string[]) => a.length === b.length && a.every((s, i) => s === b[i])
const isPrefix = (prefix: string[], path: string[]) =>
  prefix.length < path.length && prefix.every((s, i) => s === path[i])

/** The rule's write for this object, or a reason it is not one. */
export function findRule(
  writes: ResolvedWrite[],
  stepId: string,
  c: Pick<ObjectChange, 'resource' | 'namespace' | 'name' | 'by'>,
): ResolvedWrite | undefined {
  return writes.find(
    (w) =>
      w.stepId === stepId &&
      !!w.operatorMade === (c.by === 'operator') &&
      w.resource.plural === c.resource.plural &&
      w.groups.includes(c.resource.group) &&
      w.resolvedName === c.name &&
      (w.resolvedNamespace ?? undefined) === (c.namespace ?? undefined),
  )
}

/**
 * The allowed leaf fields a recorded field stands for: itself, or, for a map that was added whole (fieldChange records
 * the outermost missing map), every leaf under it. Undefined when the field is not one the rule allows.
 */
export function leavesOf(rule: WriteRule, field: Pick<FieldChange, 'path'>): WriteRule['fields'] | undefined {
  const exact = rule.fields.filter((f) => samePath(f.path, field.path))
  if (exact.length) return exact
  const under = rule.fields.filter((f) => isPrefix(field.path, f.path))
  return under.length ? under : undefined
}

export const describeTarget = (c: Pick<ObjectChange, 'resource' | 'namespace' | 'name'>) =>
  `${c.resource.kind || c.resource.plural} ${c.namespace ? `${c.namespace}/` : ''}${c.name}`

/** Why a change is outside the rules (for enable's self-check and the record check), or undefined when allowed. */
export function writeProblem(writes: ResolvedWrite[], stepId: string, c: ObjectChange): string | undefined {
  const rule = findRule(writes, stepId, c)
  if (!rule)
    return `${describeTarget(c)}${c.by === 'operator' ? ' (made by the operator)' : ''} is not an object step "${stepId}" writes`
  if (c.action === 'create' && !rule.create) return `step "${stepId}" never creates ${describeTarget(c)}`
  if (c.action === 'delete') return `step "${stepId}" never deletes ${describeTarget(c)}`
  for (const f of c.fields) {
    if (!leavesOf(rule, f)) return `${describeTarget(c)} field ${showPath(f.path)} is not one step "${stepId}" writes`
  }
  return undefined
}
