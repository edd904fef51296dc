import type {ClusterCheckContext, Finding, NewFinding} from '../types.js'
import {kubeLib} from './kube-lib.js'

export async function run(ctx: ClusterCheckContext, finding: NewFinding): Promise<Finding[]> {
  const {state, install} = ctx.cluster
  const {versionAtLeast, SERVICES_ENDPOINT_CONFIGMAP} = await kubeLib()
  const api = state.calicoApi ? `${state.calicoApi.group}/${state.calicoApi.version}` : undefined
  const version = install.calicoVersion
  const data: Record<string, unknown> = {
    installType: install.type,
    calicoVersion: version ?? null,
    operatorVersion: install.operatorVersion ?? null,
    calicoNamespace: install.calicoNamespace ?? null,
    operatorNamespace: install.operatorNamespace ?? null,
    felixConfigurationApi: api ?? null,
    clusterType: state.clusterInformation?.spec?.clusterType ?? null,
  }
  if (install.type === 'none') {
    return [
      finding('fail', 'Calico is not installed (no Installation "default", no calico-node DaemonSet)', {
        data,
        remedy: 'Install Calico first (tigera-operator or calico.yaml), then run ebpfctl check again.',
      }),
    ]
  }
  const touches: string[] = []
  const dataplane = state.installation?.spec?.calicoNetwork?.linuxDataplane ?? 'Iptables'
  if (install.type === 'operator') {
    touches.push('Installation default (spec.calicoNetwork.linuxDataplane: BPF)')
    touches.push(
      install.supportsBootstrap
        ? `spec.calicoNetwork.bpfNetworkBootstrap, or ConfigMap ${install.endpointConfigMapNamespace}/${SERVICES_ENDPOINT_CONFIGMAP}`
        : `ConfigMap ${install.endpointConfigMapNamespace}/${SERVICES_ENDPOINT_CONFIGMAP}`,
    )
  } else {
    touches.push(`ConfigMap kube-system/${SERVICES_ENDPOINT_CONFIGMAP}`)
    touches.push(
      install.felixBpfEnabledEnv
        ? `DaemonSet ${install.calicoNamespace}/calico-node env FELIX_BPFENABLED (it overrides FelixConfiguration)`
        : `FelixConfiguration default (spec.bpfEnabled, via ${api ?? 'the Calico API'})`,
    )
    touches.push(`rollout restart of DaemonSet ${install.calicoNamespace}/calico-node`)
  }
  if (install.kubeProxy) touches.push(`DaemonSet ${install.kubeProxy.metadata.namespace}/kube-proxy (nodeSelector)`)
  data.enableWouldTouch = touches
  if (install.type === 'operator') data.linuxDataplane = dataplane
  const what =
    install.type === 'operator'
      ? `operator install (Installation default, calico-node in ${install.calicoNamespace}, operator in ${install.operatorNamespace})`
      : `manifest install (calico-node DaemonSet in ${install.calicoNamespace})`
  const out = [
    finding('pass', `${what}, Calico ${version ?? 'version unknown'}`, {
      data,
      detail: `FelixConfiguration is served by ${api ?? 'no Calico API group'}; enable would touch: ${touches.join('; ')}.`,
    }),
  ]
  if (!api) {
    out.push(
      finding('fail', 'neither crd.projectcalico.org/v1 nor projectcalico.org/v3 is served', {
        remedy: "Calico's CRDs are missing: reinstall them (kubectl get crd | grep projectcalico).",
      }),
    )
  }
  if (!version) {
    out.push(finding('warn', 'Calico version unknown (no ClusterInformation default, untagged image)'))
  } else if (!versionAtLeast(version, [3, 16, 0])) {
    out.push(
      finding('fail', `Calico ${version} predates the supported eBPF dataplane (v3.16)`, {
        remedy: 'Upgrade Calico (v3.28 or newer recommended) before enabling eBPF.',
      }),
    )
  }
  return out
}
