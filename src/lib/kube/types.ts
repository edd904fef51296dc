/** Plain JSON shapes of the Kubernetes objects ebpfctl reads; only the fields it uses are typed. */
export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  creationTimestamp?: string
  deletionTimestamp?: string
  ownerReferences?: {kind: string; name: string; uid?: string}[]
}

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  // Everything else is resource-specific and read with care.
  [key: string]: unknown
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string
  kind?: string
  metadata?: {resourceVersion?: string; continue?: string}
  items: T[]
}

export interface K8sStatus {
  kind: 'Status'
  status?: string
  message?: string
  reason?: string
  code?: number
  details?: {name?: string; group?: string; kind?: string; causes?: {reason?: string; message?: string; field?: string}[]}
}
