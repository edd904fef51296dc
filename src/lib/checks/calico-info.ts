import type {ClusterState, InstallInfo} from '../kube/cluster.js'
import type {CalicoInfo} from '../output/findings.js'

/** The `calico` block of the JSON report. Pure; types only from kube/. */
export function calicoInfo(state: ClusterState, install: InstallInfo): CalicoInfo {
  const env = install.felixBpfEnabledEnv
  const bpfEnabled = env ? env.enabled === true : (install.felixDefault?.spec?.bpfEnabled ?? null)
  return {
    installType: install.type,
    version: install.calicoVersion ?? null,
    operatorVersion: install.operatorVersion ?? null,
    namespace: install.calicoNamespace ?? null,
    operatorNamespace: install.operatorNamespace ?? null,
    endpointConfigMapNamespace: install.endpointConfigMapNamespace ?? null,
    api: state.calicoApi ? `${state.calicoApi.group}/${state.calicoApi.version}` : null,
    linuxDataplane: install.type === 'operator' ? (state.installation?.spec?.calicoNetwork?.linuxDataplane ?? 'Iptables') : null,
    bpfEnabled: install.type === 'none' ? null : bpfEnabled,
  }
}
