import {assessApiEndpoint, parseApiEndpoint, unusableReason} from '../kube/api-endpoint.js'
import {type ClusterState, type InstallInfo, SERVICES_ENDPOINT_CONFIGMAP} from '../kube/cluster.js'
import {UserError} from '../errors.js'
import {
  DSR_WARNINGS,
  STEP_WRITES,
  apiAddressBootstrapStep,
  apiAddressConfigMapStep,
  dsrStep,
  kubeProxyDisableStep,
  kubeProxyKeepStep,
  kubeProxyOperatorStep,
  manifestBpfOnStep,
  manifestRestartStep,
  mustClearHostPorts,
  operatorBpfOnStep,
  operatorPickupStep,
  verifyBpfStep,
} from './steps.js'
import type {EnableOptions, Plan, Step} from './types.js'
import {resolveWrites, writeProblem} from './writes.js'

export const DISRUPTION_WARNING =
  'Switching dataplanes disrupts some existing connections: TCP connections survive, other flows are treated as new, ' +
  'and connections over VXLAN may be cut on kernels with BTF.'

/** The address enable writes: --api-server, else what is configured, else the best derived candidate. */
export function chooseApiEndpoint(
  state: ClusterState,
  install: InstallInfo,
  opts: Pick<EnableOptions, 'apiServer' | 'kubeconfigServer'>,
): {host: string; port: number; source: string} {
  if (opts.apiServer) {
    const ep = parseApiEndpoint(opts.apiServer)
    if (!ep) {
      throw new UserError(`--api-server=${opts.apiServer} is not HOST:PORT`, {
        remedy: 'Use e.g. --api-server 10.0.0.10:6443.',
      })
    }
    const why = unusableReason(state, ep)
    if (why) {
      throw new UserError(`--api-server ${opts.apiServer} cannot be used: ${why}`, {
        remedy: 'Use the address of a load balancer or VIP in front of the API servers, or of one API server.',
      })
    }
    return {...ep, source: '--api-server'}
  }
  const assessment = assessApiEndpoint(state, install, opts.kubeconfigServer)
  const configured = assessment.configured
  if (configured?.source === 'configmap' && configured.endpoint && !unusableReason(state, configured.endpoint)) {
    return {...configured.endpoint, source: `ConfigMap ${configured.namespace}/${SERVICES_ENDPOINT_CONFIGMAP}`}
  }
  const best = assessment.candidates[0]
  if (!best) {
    const why = assessment.problems.map((p) => p.summary).join('; ')
    throw new UserError(`no usable API-server address found for calico-node${why ? ` (${why})` : ''}`, {
      remedy:
        'Pass --api-server HOST:PORT with an address every node can reach without kube-proxy (a load balancer, VIP ' +
        'or ' +
        'an API server), not the ClusterIP or a loopback address' +
        (install.supportsBootstrap ? ', or use --bootstrap (Calico v3.31+ operator installs).' : '.'),
    })
  }
  return {host: best.host, port: best.port, source: best.why}
}

/** Builds the enable plan for the detected install; refuses (exit 2) what it cannot do safely. */
export function buildEnablePlan(
  state: ClusterState,
  install: InstallInfo,
  opts: EnableOptions,
  now = () => new Date().toISOString(),
): Plan {
  if (install.type === 'none') {
    throw new UserError(
      'no Calico installation found: neither an operator Installation "default" nor a calico-node DaemonSet',
      {
        remedy: 'Install Calico (operator or calico.yaml) first, or point --kubeconfig/--context at the right cluster.',
      },
    )
  }
  const operator = install.type === 'operator'
  if (opts.bootstrap && opts.apiServer) {
    throw new UserError('--bootstrap and --api-server cannot be combined', {
      remedy: 'With --bootstrap the operator finds the API servers itself; drop one of the two.',
    })
  }
  const bootstrapOn = state.installation?.spec?.calicoNetwork?.bpfNetworkBootstrap === 'Enabled'
  const useBootstrap = opts.bootstrap || (bootstrapOn && !opts.apiServer)
  if (useBootstrap && !(operator && install.supportsBootstrap)) {
    throw new UserError(
      `--bootstrap needs an operator install of Calico v3.31 or later ` +
        `(found: ${install.type}, ${install.calicoVersion ?? 'unknown version'})`,
      {remedy: 'Drop --bootstrap; ebpfctl then writes the kubernetes-services-endpoint ConfigMap instead.'},
    )
  }
  if (opts.kubeProxy === 'operator' && !(operator && install.supportsBootstrap)) {
    throw new UserError(
      '--kube-proxy operator needs an operator install of Calico v3.31 or later (kubeProxyManagement)',
      {
        remedy: 'Use --kube-proxy disable (ebpfctl patches the kube-proxy DaemonSet) or --kube-proxy keep.',
      },
    )
  }
  if (opts.bootstrap && bootstrapOn === false) {
    const cm = state.servicesEndpointConfigMaps.find((c) => c.metadata.namespace === install.endpointConfigMapNamespace)
    if (cm) {
      throw new UserError(
        `--bootstrap: ConfigMap ${install.endpointConfigMapNamespace}/${SERVICES_ENDPOINT_CONFIGMAP} exists and ` +
          `the operator refuses bpfNetworkBootstrap with it`,
        {
          remedy:
            `Delete it (kubectl delete configmap -n ${install.endpointConfigMapNamespace} ` +
            `${SERVICES_ENDPOINT_CONFIGMAP}) or enable without --bootstrap.`,
        },
      )
    }
  }
  if (bootstrapOn && opts.apiServer) {
    throw new UserError(
      'bpfNetworkBootstrap is Enabled on the Installation; a kubernetes-services-endpoint ConfigMap would conflict',
      {
        remedy:
          'Drop --api-server (bootstrap already gives calico-node the address), or set bpfNetworkBootstrap: ' +
          'Disabled first.',
      },
    )
  }

  const steps: Step[] = []
  let variant: string
  if (operator && useBootstrap) {
    variant = 'operator-bootstrap'
    steps.push(apiAddressBootstrapStep(state))
    // Nothing to pick up before BPF is on: the operator renders the bootstrap init container with the BPF rollout.
    steps.push(operatorBpfOnStep(install, state))
  } else {
    const endpoint = chooseApiEndpoint(state, install, opts)
    const address = apiAddressConfigMapStep(install, endpoint, state)
    steps.push(address)
    if (operator) {
      variant = 'operator'
      steps.push(operatorPickupStep(install, endpoint, address, state))
      steps.push(operatorBpfOnStep(install, state))
    } else {
      variant = 'manifest'
      steps.push(manifestRestartStep(install, address, state, now))
      steps.push(manifestBpfOnStep(install, state))
    }
  }
  const later: Step[] = []
  const kubeProxy = install.kubeProxy
  if (opts.kubeProxy === 'keep') later.push(kubeProxyKeepStep(state))
  else if (kubeProxy && opts.kubeProxy === 'operator') later.push(kubeProxyOperatorStep(kubeProxy, state))
  else if (kubeProxy) later.push(kubeProxyDisableStep(kubeProxy, state))
  if (opts.dsr !== undefined) later.push(dsrStep(opts.dsr, state))
  // Verify runs whenever any other step does (BPF just turned on, or kube-proxy about to be touched).
  const before = [...steps]
  steps.push(verifyBpfStep(install, state, (s) => [...before, ...later].every((st) => st.alreadyDone(s))))
  steps.push(...later)

  const warnings = [DISRUPTION_WARNING]
  if (!kubeProxy && opts.kubeProxy !== 'keep')
    warnings.push('No kube-proxy DaemonSet found: nothing to do for kube-proxy.')
  if (opts.dsr) warnings.push(...DSR_WARNINGS)
  if (mustClearHostPorts(install, state))
    warnings.push(
      `Calico ${install.calicoVersion}: operators before Calico v3.27 reject hostPorts with the eBPF dataplane, so ` +
        `enable clears Installation spec.calicoNetwork.hostPorts (now ` +
        `${state.installation?.spec?.calicoNetwork?.hostPorts}): pods' hostPort mappings stop working until revert ` +
        `restores it. Upgrading Calico first avoids this.`,
    )
  assertWithinWrites(steps, install, state)
  return {kind: 'enable', install, variant, steps, warnings}
}

/** Revert trusts only STEP_WRITES: a step writing anything else would be a change revert could never undo. */
function assertWithinWrites(steps: Step[], install: InstallInfo, state: ClusterState): void {
  const writes = resolveWrites(STEP_WRITES, install, state)
  for (const step of steps) {
    for (const change of step.changes()) {
      const problem = writeProblem(writes, step.id, change)
      if (problem) throw new Error(`internal error: enable step ${step.id} writes outside STEP_WRITES: ${problem}`)
    }
  }
}
