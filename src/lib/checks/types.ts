import type {ClusterState, InstallInfo} from '../kube/cluster.js'
import type {NodeFacts} from '../nodes/facts.js'

/** Facts read on one node: one type for the probe and the local reader (src/lib/nodes/facts.ts). */
export type {NodeFacts}

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

/** One result of one check, for the cluster or for one node. Plain data: rendered as table, JSON and JUnit. */
export interface Finding {
  checkId: string
  status: CheckStatus
  summary: string
  node?: string
  detail?: string
  remedy?: string
  /** Set when --ignore demoted a failure to a warning (kubeadm-style); the finding stays visible. */
  ignored?: boolean
  /** Machine-readable facts behind the verdict (kernel strings, counts, addresses). */
  data?: Record<string, unknown>
}

export type CheckScope = 'local' | 'cluster' | 'node'

/** What a check may look at. Cluster checks are pure functions of the state read up front. */
export interface CheckContext {
  /** Felix's verdict is computed per node from NodeFacts; without facts, node-only checks report 'skip'. */
  /** Set when checking through the Kubernetes API. */
  cluster?: {state: ClusterState; install: InstallInfo; kubeconfigServer: string}
  /** Facts read on nodes (this machine for local checks; per node with --nodes). Keyed by node name. */
  nodeFacts?: Map<string, NodeFacts>
  /** Nodes that --nodes asked for but could not be probed (reported by the node-access check). */
  nodeAccessErrors?: Map<string, {message: string; remedy?: string}>
}

export interface Check {
  id: string
  title: string
  scope: CheckScope
  run(ctx: CheckContext): Finding[] | Promise<Finding[]>
}

/** What a Finding may carry besides its status and summary. */
export type FindingExtra = Pick<Finding, 'node' | 'detail' | 'remedy' | 'data'>

/** Builds one finding of the running check: its id is written once, in the registry (src/lib/checks/registry.ts). */
export type NewFinding = (status: CheckStatus, summary: string, extra?: FindingExtra) => Finding

/** A check's logic; the registry gives it its id, title and scope. */
export type CheckRun<C extends CheckContext = CheckContext> = (ctx: C, finding: NewFinding) => Finding[] | Promise<Finding[]>

/** The context of a cluster check: the registry runs one only when the cluster was read. */
export type ClusterCheckContext = CheckContext & {cluster: NonNullable<CheckContext['cluster']>}
