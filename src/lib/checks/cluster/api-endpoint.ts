import type {ClusterCheckContext, Finding, NewFinding} from '../types.js'
import {kubeLib} from './kube-lib.js'

export async function run(ctx: ClusterCheckContext, finding: NewFinding): Promise<Finding[]> {
  const {state, install, kubeconfigServer} = ctx.cluster
  if (install.type === 'none') return [finding('skip', 'Calico is not installed')]
  const {assessApiEndpoint, SERVICES_ENDPOINT_CONFIGMAP} = await kubeLib()
  const a = assessApiEndpoint(state, install, kubeconfigServer)
  const out: Finding[] = a.problems.map((p) => finding(p.severity, p.summary, {remedy: p.remedy}))
  const data = {configured: a.configured ?? null, candidates: a.candidates}
  const failed = a.problems.some((p) => p.severity === 'fail')
  if (a.configured?.source === 'bootstrap') {
    if (!failed) {
      out.unshift(
        finding('pass', 'bpfNetworkBootstrap: Enabled (the operator programs the API server into the BPF NAT maps)', {data}),
      )
    }
  } else if (a.configured?.source === 'configmap') {
    const ep = a.configured.endpoint
    if (ep && !failed) {
      out.unshift(
        finding('pass', `calico-node reaches the API server directly at ${ep.host}:${ep.port} (ConfigMap ${a.configured.namespace}/${SERVICES_ENDPOINT_CONFIGMAP})`, {data}),
      )
    }
  } else if (a.candidates.length > 0) {
    const c = a.candidates[0]!
    const alt = install.supportsBootstrap ? ' (or set bpfNetworkBootstrap: Enabled, Calico >= v3.31 operator installs)' : ''
    out.unshift(
      finding(
                'pass',
        `not configured yet; enable would write ${c.host}:${c.port} into ${install.endpointConfigMapNamespace}/${SERVICES_ENDPOINT_CONFIGMAP}: ${c.why}${alt}`,
        {data},
      ),
    )
  } else if (!install.supportsBootstrap) {
    out.push(
      finding('fail', 'no usable API-server address found (not configured, and no candidate that is not a ClusterIP or loopback)', {
        data: {...data, reason: 'no-address'},
        remedy: 'Pass the address of a load balancer or API server with ebpfctl enable --api-server HOST:PORT.',
      }),
    )
  } else {
    out.push(
      finding('warn', 'no usable API-server address found; enable would use bpfNetworkBootstrap: Enabled', {
        data,
        remedy: 'Or pass ebpfctl enable --api-server HOST:PORT.',
      }),
    )
  }
  return out
}
