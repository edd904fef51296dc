import type {KubeClient} from '../kube/client.js'
import type {ClusterState, InstallInfo} from '../kube/cluster.js'
import type {NodeRunner, NodeTarget} from '../nodes/types.js'
import type {DataplaneReadOptions, DumpSource} from './read-maps.js'

import {type NodeAccessOptions, nodeAccessCluster, openRunner, resolveVia} from '../nodes/access.js'
import {selectNodes} from '../nodes/select.js'

export interface DumpSessionOptions {
  kubeconfig?: string
  context?: string
  requestTimeoutMs: number
  access: NodeAccessOptions
  nodes?: string[]
  allNodes?: boolean
  source: DumpSource
  agentCmd?: string
  agentCrictl?: boolean
  maxOutputBytes?: number
}

/** Everything a dump command needs: the cluster (when there is one), the nodes, a runner and read options. */
export interface DumpSession {
  kube?: KubeClient
  state?: ClusterState
  install?: InstallInfo
  targets: NodeTarget[]
  runner: NodeRunner
  read: DataplaneReadOptions
  close(): Promise<void>
}

export async function openDumpSession(opts: DumpSessionOptions): Promise<DumpSession> {
  const {clusterRequested, connect} = await import('../kube/connect.js')
  const useCluster = opts.access.via !== 'local' && clusterRequested(opts)
  let kube: KubeClient | undefined
  let state: ClusterState | undefined
  let install: InstallInfo | undefined
  if (useCluster) {
    kube = await connect({kubeconfig: opts.kubeconfig, context: opts.context, timeoutMs: opts.requestTimeoutMs})
    const {collectClusterState, detectInstall} = await import('../kube/cluster.js')
    try {
      state = await collectClusterState(kube)
    } catch (err) {
      kube.close()
      throw err
    }
    install = detectInstall(state)
  }
  const cluster = kube ? nodeAccessCluster(kube, install) : undefined
  const via = resolveVia(opts.access, cluster)
  const targets = selectNodes(state, {names: opts.nodes, all: opts.allNodes})
  const runner = await openRunner(opts.access, cluster)
  return {
    kube,
    state,
    install,
    targets,
    runner,
    read: {
      source: opts.source,
      timeoutMs: opts.access.timeoutMs,
      calicoVersion: install?.calicoVersion,
      agentPrefix: opts.agentCmd ? opts.agentCmd.split(/\s+/).filter(Boolean) : undefined,
      agentCrictl: opts.agentCrictl,
      // exec lands in the calico-node container, where the agent is; over SSH it needs --agent-cmd/--agent-crictl.
      agentReachable: via === 'exec',
      maxOutputBytes: opts.maxOutputBytes,
    },
    async close() {
      await runner.close()
      kube?.close()
    },
  }
}
