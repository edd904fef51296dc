import type {NodeDataplane} from '../felix-log.js'
import type {ClusterState, InstallInfo} from '../kube/cluster.js'

/**
 * Facts read on one node (src/lib/nodes/probe.ts produces them over SSH, pod exec or locally). Declared here
 * structurally so checks do not depend on how the facts were fetched.
 */
export interface NodeFacts {
  procVersion?: string
  unameRv?: string
  machine?: string
  mounts: {device: string; mountpoint: string; type: string}[]
  bpffsDirExists: boolean
  bpffsMounted: boolean
  cgroup2Mount?: string
  btfVmlinux: boolean
  /** undefined when no kernel config could be read */
  kernelConfig?: Record<string, string>
  calicoMaps: string[]
  /** What Felix's log on this node says (cluster mode with --nodes, when BPF is enabled). */
  felixDataplane?: NodeDataplane
  errors: string[]
  /** Optional extras (the local reader fills them; remote probes may). */
  /** Byte order of the node: 'LE' | 'BE' (os.endianness() locally); derived from `machine` when absent. */
  endianness?: 'LE' | 'BE'
  /** The mounts file that was read (/proc/1/mounts, /proc/self/mounts). */
  mountsSource?: string
  /** Filesystems the kernel supports (/proc/filesystems), e.g. to tell "cgroup2 unsupported" from "not mounted". */
  filesystems?: string[]
  /** Where the kernel config came from (/proc/config.gz, /boot/config-<release>). */
  kernelConfigSource?: string
  /** OS image / PRETTY_NAME, a distro hint when /proc/version is missing. */
  osImage?: string
  /** How the facts were fetched. */
  via?: 'local' | 'ssh' | 'exec' | 'debug'
}

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
