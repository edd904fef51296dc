/**
 * `ebpfctl version` against a cluster: Kubernetes from GET /version, Calico from ClusterInformation `default` (else the
 * calico-node image tag), the operator from the tigera-operator Deployment's image tag. A handful of GETs in parallel,
 * never a list, so it stays fast on any cluster size.
 */
import type {KubeClient} from './client.js'
import type {DaemonSetObject, DeploymentObject} from './objects.js'
import {Resources} from './resources.js'

export interface ClusterVersions {
  server: string
  kubernetes?: string
  calico?: string
  /** Where the Calico version came from. */
  calicoSource?: 'ClusterInformation' | 'calico-node image'
  operator?: string
}

const imageTag = (image: string | undefined) => image?.match(/:([^:/@]+)(?:@.*)?$/)?.[1]
// Versions are shown to a terminal and put in documents: short and printable only.
const clean = (v: unknown) => (typeof v === 'string' && /^[\w.+-]{1,64}$/.test(v) ? v : undefined)

export async function clusterVersions(kube: KubeClient): Promise<ClusterVersions> {
  const soft = <T>(p: Promise<T>) => p.catch(() => undefined)
  const [version, info, nodeSystem, nodeKubeSystem, operator] = await Promise.all([
    kube.serverVersion?.(),
    soft(kube.get<{metadata: {name: string}; spec?: {calicoVersion?: string}}>(Resources.clusterInformations, 'default')),
    soft(kube.get<DaemonSetObject>(Resources.daemonSets, 'calico-node', 'calico-system')),
    soft(kube.get<DaemonSetObject>(Resources.daemonSets, 'calico-node', 'kube-system')),
    soft(kube.get<DeploymentObject>(Resources.deployments, 'tigera-operator', 'tigera-operator')),
  ])
  const node = nodeSystem ?? nodeKubeSystem
  const nodeImage = node?.spec?.template?.spec?.containers?.find((c) => c.name === 'calico-node')?.image
  const fromInfo = clean(info?.spec?.calicoVersion)
  const fromImage = clean(imageTag(nodeImage))
  return {
    server: kube.server,
    kubernetes: clean(version?.gitVersion),
    calico: fromInfo ?? fromImage,
    calicoSource: fromInfo ? 'ClusterInformation' : fromImage ? 'calico-node image' : undefined,
    operator: clean(imageTag(operator?.spec?.template?.spec?.containers?.[0]?.image)),
  }
}
