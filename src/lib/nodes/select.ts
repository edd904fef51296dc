import {hostname} from 'node:os'

import {closest} from '../cli/suggest.js'
import {UserError} from '../errors.js'
import type {NodeObject} from '../kube/objects.js'
import type {NodeTarget} from './types.js'

/** A cluster node as a runner's target: its name and its addresses. */
export const toTarget = (n: NodeObject): NodeTarget => ({name: n.metadata.name, addresses: n.status?.addresses})

/** The Linux nodes of a list (a node without nodeInfo counts as Linux), as targets. */
export function linuxNodes(nodes: NodeObject[]): NodeTarget[] {
  return nodes.filter((n) => (n.status?.nodeInfo?.operatingSystem ?? 'linux') === 'linux').map(toTarget)
}

/** Which nodes a command works on: --node NAME (repeatable), --all-nodes, or this machine without a cluster. */
export function selectNodes(
  state: {nodes: NodeObject[]} | undefined,
  opts: {names?: string[]; all?: boolean},
): NodeTarget[] {
  if (!state) {
    // No cluster: this machine, or nodes named on the command line (reached with --ssh-host NODE=ADDR or by name).
    if (opts.all) throw new UserError('--all-nodes needs a cluster to list the nodes', {remedy: 'Pass --kubeconfig, or name the nodes with --node.'})
    return (opts.names?.length ? opts.names : [hostname()]).map((name) => ({name}))
  }
  if (opts.all) return linuxNodes(state.nodes)
  if (!opts.names?.length) {
    throw new UserError('say which nodes to read', {remedy: 'Pass --node NAME (repeatable) or --all-nodes.'})
  }
  const byName = new Map(state.nodes.map((n) => [n.metadata.name, n]))
  const unknown = opts.names.filter((n) => !byName.has(n))
  if (unknown.length) {
    // One mistyped name: the closest node name, as for mistyped flags and commands.
    const guess = unknown.length === 1 ? closest(unknown[0]!, byName.keys()) : undefined
    throw new UserError(`no node named ${unknown.map((n) => `"${n}"`).join(', ')} in the cluster${guess ? `; did you mean "${guess}"?` : ''}`, {
      remedy: 'List the nodes with kubectl get nodes.',
    })
  }
  return opts.names.map((n) => toTarget(byName.get(n)!))
}
