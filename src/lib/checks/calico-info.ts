import type {ClusterState, InstallInfo} from '../kube/cluster.js'
import type {CalicoInfo} from '../output/findings.js'

/** Effective bpfEnabled and where it comes from: the env override, FelixConfiguration default, or Felix's default. */
function bpfEnabledOf(install: InstallInfo): Pick<CalicoInfo, 'bpfEnabled' | 'bpfEnabledSource'> {
  if (install.type === 'none') return {bpfEnabled: null, bpfEnabledSource: null}
  const env = install.felixBpfEnabledEnv
  if (env) return {bpfEnabled: env.enabled === true, bpfEnabledSource: 'env'}
  const spec = install.felixDefault?.spec?.bpfEnabled
  if (spec !== undefined && spec !== null) return {bpfEnabled: spec === true, bpfEnabledSource: 'felixconfiguration'}
  // A FelixConfiguration default without bpfEnabled is Felix's default, false: "unset", not "unknown".
  if (install.felixDefault) return {bpfEnabled: false, bpfEnabledSource: 'default'}
  return {bpfEnabled: null, bpfEnabledSource: null}
}

/** The `calico` block of the JSON report. Pure; types only from kube/. */
export function calicoInfo(state: ClusterState, install: InstallInfo): CalicoInfo {
  return {
    installType: install.type,
    version: install.calicoVersion ?? null,
    operatorVersion: install.operatorVersion ?? null,
    namespace: install.calicoNamespace ?? null,
    operatorNamespace: install.operatorNamespace ?? null,
    endpointConfigMapNamespace: install.endpointConfigMapNamespace ?? null,
    api: state.calicoApi ? `${state.calicoApi.group}/${state.calicoApi.version}` : null,
    linuxDataplane: install.type === 'operator' ? (state.installation?.spec?.calicoNetwork?.linuxDataplane ?? 'Iptables') : null,
    ...bpfEnabledOf(install),
  }
}
