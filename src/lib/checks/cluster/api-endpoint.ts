import type {Check, Finding} from '../types.js'
import {finding} from '../util.js'
import {kubeLib} from './kube-lib.js'

export const apiEndpointCheck: Check = {
  id: 'api-endpoint',
  title: 'API-server address for BPF mode',
  scope: 'cluster',
  async run(ctx) {
    if (!ctx.cluster) return []
    const {state, install, kubeconfigServer} = ctx.cluster
    if (install.type === 'none') return [finding('api-endpoint', 'skip', 'Calico is not installed')]
    const {assessApiEndpoint, SERVICES_ENDPOINT_CONFIGMAP} = await kubeLib()
    const a = assessApiEndpoint(state, install, kubeconfigServer)
    const out: Finding[] = a.problems.map((p) => finding('api-endpoint', p.severity, p.summary, {remedy: p.remedy}))
    const data = {configured: a.configured ?? null, candidates: a.candidates}
    const failed = a.problems.some((p) => p.severity === 'fail')
    if (a.configured?.source === 'bootstrap') {
      if (!failed) {
        out.unshift(
          finding('api-endpoint', 'pass', 'bpfNetworkBootstrap: Enabled (the operator programs the API server into the BPF NAT maps)', {data}),
        )
      }
    } else if (a.configured?.source === 'configmap') {
      const ep = a.configured.endpoint
      if (ep && !failed) {
        out.unshift(
          finding('api-endpoint', 'pass', `calico-node reaches the API server directly at ${ep.host}:${ep.port} (ConfigMap ${a.configured.namespace}/${SERVICES_ENDPOINT_CONFIGMAP})`, {data}),
        )
      }
    } else if (a.candidates.length > 0) {
      const c = a.candidates[0]!
      const alt = install.supportsBootstrap ? ' (or set bpfNetworkBootstrap: Enabled, Calico >= v3.31 operator installs)' : ''
      out.unshift(
        finding(
          'api-endpoint',
          'pass',
          `not configured yet; enable would write ${c.host}:${c.port} into ${install.endpointConfigMapNamespace}/${SERVICES_ENDPOINT_CONFIGMAP}: ${c.why}${alt}`,
          {data},
        ),
      )
    } else if (!install.supportsBootstrap) {
      out.push(
        finding('api-endpoint', 'fail', 'no usable API-server address found (not configured, and no candidate that is not a ClusterIP or loopback)', {
          data: {...data, reason: 'no-address'},
          remedy: 'Pass the address of a load balancer or API server with ebpfctl enable --api-server HOST:PORT.',
        }),
      )
    } else {
      out.push(
        finding('api-endpoint', 'warn', 'no usable API-server address found; enable would use bpfNetworkBootstrap: Enabled', {
          data,
          remedy: 'Or pass ebpfctl enable --api-server HOST:PORT.',
        }),
      )
    }
    return out
  },
}
