import type {NodeObject} from '../../kube/objects.js'
import type {ClusterCheckContext, Finding, NewFinding} from '../types.js'
import {nameList, plural} from '../util.js'

export type Platform = 'eks' | 'aks' | 'gke' | 'kops' | 'aws' | 'azure' | 'gce' | 'self-managed' | string

/** Cloud from spec.providerID (aws:///…, azure:///…, gce://…), refined by the managed-platform labels. */
export function nodePlatform(n: NodeObject): {provider?: string; platform: Platform} {
  const labels = n.metadata.labels ?? {}
  const provider = n.spec?.providerID?.match(/^([a-z0-9-]+):\/\//i)?.[1]?.toLowerCase()
  let platform: Platform = provider ?? 'self-managed'
  if (labels['kops.k8s.io/instancegroup'] !== undefined) platform = 'kops'
  else if (Object.keys(labels).some((k) => k.startsWith('eks.amazonaws.com/'))) platform = 'eks'
  else if (Object.keys(labels).some((k) => k.startsWith('kubernetes.azure.com/'))) platform = 'aks'
  else if (Object.keys(labels).some((k) => k.startsWith('cloud.google.com/gke-'))) platform = 'gke'
  return {provider, platform}
}

const isAl2With414 = (n: NodeObject) => {
  const info = n.status?.nodeInfo
  return /^4\.14\./.test(info?.kernelVersion ?? '') && (/amazon linux 2(?!0)/i.test(info?.osImage ?? '') || /amzn2/.test(info?.kernelVersion ?? ''))
}

export function run(ctx: ClusterCheckContext, finding: NewFinding): Finding[] {
  const {state} = ctx.cluster
  const counts = new Map<string, number>()
  const providers = new Map<string, number>()
  const eks414: string[] = []
  for (const n of state.nodes) {
    const {provider, platform} = nodePlatform(n)
    counts.set(platform, (counts.get(platform) ?? 0) + 1)
    if (provider) providers.set(provider, (providers.get(provider) ?? 0) + 1)
    if ((platform === 'eks' || provider === 'aws') && isAl2With414(n)) eks414.push(n.metadata.name)
  }
  const declared = state.installation?.spec?.kubernetesProvider || undefined
  const data = {platforms: Object.fromEntries(counts), providers: Object.fromEntries(providers), kubernetesProvider: declared ?? null}
  const text = [...counts].map(([p, c]) => `${p} (${plural(c, 'node')})`).join(', ') || 'no nodes'
  const out: Finding[] = [finding('pass', `platform: ${text}${declared ? `; Installation kubernetesProvider ${declared}` : ''}`, {data})]
  if (eks414.length > 0) {
    out.push(
      finding('fail', `${plural(eks414.length, 'EKS node')} on Amazon Linux 2 with 4.14 kernels: ${nameList(eks414)}`, {
        data: {nodes: eks414.length},
        detail: "Felix's minimum is 5.3 (4.14 is treated as too old): these nodes would silently stay on iptables.",
        remedy:
          'Replace these node groups with Amazon Linux 2023 or Bottlerocket AMIs (e.g. eksctl create nodegroup ' +
          '--node-ami-family AmazonLinux2023), then drain and delete the old ones.',
      }),
    )
  }
  if (counts.has('kops')) {
    out.push(
      finding('warn', 'kOps cluster: kOps owns kube-proxy and the Calico manifest, so a patch would be undone on the next kops update', {
        remedy:
          'Set in the kOps cluster spec: networking.calico.bpfEnabled: true and kubeProxy.enabled: false; then ' +
          'kops update cluster --yes && kops rolling-update cluster --yes.',
      }),
    )
  }
  if (counts.has('gke') || declared === 'GKE') {
    out.push(
      finding('fail', "GKE: Calico's eBPF dataplane is not supported on GKE", {
        remedy: "Use GKE Dataplane V2 for eBPF on GKE, or run Calico's eBPF dataplane on self-managed nodes.",
      }),
    )
  }
  if (counts.has('aks') || declared === 'AKS') {
    out.push(
      finding('warn', 'AKS manages kube-proxy: it keeps running next to the BPF dataplane', {
        remedy:
          'Set bpfKubeProxyIptablesCleanupEnabled: false and bpfKubeProxyHealthzPort: 0 in FelixConfiguration ' +
          'default.',
      }),
    )
  }
  if (counts.has('eks') || declared === 'EKS') {
    out.push(
      finding('warn', 'EKS manages kube-proxy as an add-on: a nodeSelector patch may be reverted by add-on updates', {
        remedy:
          'Remove the kube-proxy add-on (aws eks delete-addon --cluster-name NAME --addon-name kube-proxy ' +
          '--preserve) before disabling it, or keep it running with bpfKubeProxyIptablesCleanupEnabled: false ' +
          'and bpfKubeProxyHealthzPort: 0.',
      }),
    )
  }
  return out
}
