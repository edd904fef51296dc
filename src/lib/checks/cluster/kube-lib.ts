/**
 * The kube helpers the cluster checks use, imported on first use: src/lib/kube/api-endpoint.ts pulls in yaml, and
 * the local `ebpfctl check` path must not pay for it at start-up.
 */
export async function kubeLib() {
  const [endpoint, cluster] = await Promise.all([import('../../kube/api-endpoint.js'), import('../../kube/cluster.js')])
  return {
    assessApiEndpoint: endpoint.assessApiEndpoint,
    kubeProxyMode: endpoint.kubeProxyMode,
    kubeProxyKubeconfigServer: endpoint.kubeProxyKubeconfigServer,
    versionAtLeast: cluster.versionAtLeast,
    SERVICES_ENDPOINT_CONFIGMAP: cluster.SERVICES_ENDPOINT_CONFIGMAP,
  }
}
