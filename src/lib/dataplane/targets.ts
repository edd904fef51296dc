import type {InstallInfo} from '../kube/cluster.js'
import type {NodeTarget} from '../nodes/types.js'

export function nodeIps(target: NodeTarget): string[] {
  return (target.addresses ?? []).filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => a.address)
}

export function bpfMapSizeConntrack(install: InstallInfo | undefined): number | undefined {
  const size = install?.felixDefault?.spec?.bpfMapSizeConntrack
  return typeof size === 'number' && size > 0 ? size : undefined
}
