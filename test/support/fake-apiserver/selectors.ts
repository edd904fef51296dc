/** Label and field selectors as kube-apiserver parses them (k8s.io/apimachinery/pkg/labels, /fields). */
import {badRequest} from './status.js'

export type Matcher = (obj: any) => boolean

type Req = {key: string; op: 'eq' | 'ne' | 'in' | 'notin' | 'exists' | '!exists'; values: string[]}

/** Split on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of s) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      out.push(cur)
      cur = ''
    } else cur += ch
  }
  out.push(cur)
  return out.map((x) => x.trim()).filter((x) => x !== '')
}

function parseLabelSelector(sel: string): Req[] {
  const reqs: Req[] = []
  for (const part of splitTop(sel)) {
    let m: RegExpMatchArray | null
    if ((m = part.match(/^([^\s!=(),]+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      reqs.push({
        key: m[1]!,
        op: m[2] as 'in' | 'notin',
        values: m[3]!
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      })
    } else if ((m = part.match(/^([^\s!=(),]+)\s*(==|!=|=)\s*([^\s!=(),]*)$/))) {
      reqs.push({key: m[1]!, op: m[2] === '!=' ? 'ne' : 'eq', values: [m[3]!]})
    } else if ((m = part.match(/^!\s*([^\s!=(),]+)$/))) {
      reqs.push({key: m[1]!, op: '!exists', values: []})
    } else if ((m = part.match(/^([^\s!=(),]+)$/))) {
      reqs.push({key: m[1]!, op: 'exists', values: []})
    } else {
      throw badRequest(`unable to parse requirement: found '${part}', expected: identifier`)
    }
  }
  return reqs
}

function matchReq(r: Req, value: string | undefined): boolean {
  switch (r.op) {
    case 'eq':
      return value === r.values[0]
    case 'ne':
      return value !== r.values[0] // includes "key absent", as in Kubernetes
    case 'in':
      return value !== undefined && r.values.includes(value)
    case 'notin':
      return value === undefined || !r.values.includes(value)
    case 'exists':
      return value !== undefined
    case '!exists':
      return value === undefined
  }
}

export function labelMatcher(sel: string | null | undefined): Matcher | undefined {
  if (!sel) return undefined
  const reqs = parseLabelSelector(sel)
  return (obj) => {
    const labels = obj?.metadata?.labels ?? {}
    return reqs.every((r) => matchReq(r, labels[r.key]))
  }
}

/** Match a map of labels against a metav1.LabelSelector ({matchLabels, matchExpressions}). */
export function matchesLabelSelector(selector: any, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false
  const l = labels ?? {}
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false
  for (const e of selector.matchExpressions ?? []) {
    const value = l[e.key]
    const op = {In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists'}[e.operator as string] as Req['op']
    if (!op || !matchReq({key: e.key, op, values: e.values ?? []}, value)) return false
  }
  return true
}

const FIELDS: Record<string, (o: any) => string | undefined> = {
  'metadata.name': (o) => o.metadata?.name,
  'metadata.namespace': (o) => o.metadata?.namespace ?? '',
  'spec.nodeName': (o) => o.spec?.nodeName ?? '',
  'status.phase': (o) => o.status?.phase ?? '',
  'spec.unschedulable': (o) => String(o.spec?.unschedulable ?? false),
  'spec.schedulerName': (o) => o.spec?.schedulerName ?? '',
  'spec.serviceAccountName': (o) => o.spec?.serviceAccountName ?? '',
  'status.podIP': (o) => o.status?.podIP ?? '',
  'spec.hostNetwork': (o) => String(o.spec?.hostNetwork ?? false),
  type: (o) => o.type, // Secrets, Events
}

export function fieldMatcher(sel: string | null | undefined, plural: string): Matcher | undefined {
  if (!sel) return undefined
  const reqs = splitTop(sel).map((part) => {
    const m = part.match(/^([^!=]+?)\s*(==|!=|=)\s*(.*)$/)
    if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${part}'`)
    const key = m[1]!.trim()
    const get = FIELDS[key]
    const allowed =
      key === 'metadata.name' ||
      key === 'metadata.namespace' ||
      (plural === 'pods' && get) ||
      (plural === 'nodes' && key === 'spec.unschedulable') ||
      (key === 'type' && plural === 'secrets')
    if (!get || !allowed) {
      throw badRequest(`"${key}" is not a known field selector: only "metadata.name", "metadata.namespace"`)
    }
    return {get, ne: m[2] === '!=', value: m[3]!.trim()}
  })
  return (obj) => reqs.every((r) => (r.get(obj) === r.value) !== r.ne)
}
