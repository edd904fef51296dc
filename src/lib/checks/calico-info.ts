import type {ClusterState, InstallInfo} from '../kube/cluster.js'
import type {CalicoInfo} from '../output/findings.js'

/** The `calico` block of the JSON report. Pure; types only from kube/. */
export function calicoInfo(state: ClusterState, install: InstallInfo): CalicoInfo {
  const env = install.felixBpfEnabledEnv
  const spec = install.felixDefault?.spec?.bpfEnabled
  // A FelixConfiguration default without bpfEnabled is Felix's default, false: "unset", not "unknown".
  const bpfEnabledSource: CalicoInfo['bpfEnabledSource'] =
    install.type === 'none' ? null : env ? 'env' : spec !== undefined && spec !== null ? 'felixconfiguration' : install.felixDefault ? 'default' : null
  const bpfEnabled =
    bpfEnabledSource === 'env' ? env!.enabled === true : bpfEnabledSource === 'felixconfiguration' ? spec === true : bpfEnabledSource === 'default' ? false : null
  return {
    installType: install.type,
    version: install.calicoVersion ?? null,
    operatorVersion: install.operatorVersion ?? null,
    namespace: install.calicoNamespace ?? null,
    operatorNamespace: install.operatorNamespace ?? null,
    endpointConfigMapNamespace: install.endpointConfigMapNamespace ?? null,
    api: state.calicoApi ? `${state.calicoApi.group}/${state.calicoApi.version}` : null,
    linuxDataplane: install.type === 'operator' ? (state.installation?.spec?.calicoNetwork?.linuxDataplane ?? 'Iptables') : null,
    bpfEnabled,
    bpfEnabledSource,
  }
}
