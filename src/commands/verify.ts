import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {TABLE_FORMATS, outputFlag} from '../flags/output.js'
import {parseDuration} from '../lib/duration.js'
import {UserError} from '../lib/errors.js'
import {isDocumentFormat, machineDocument} from '../lib/output/terminal.js'

export default class Verify extends BaseCommand<typeof Verify> {
  static override description = `Prove that Services work on the current dataplane: NodePorts reachable from this machine, the client's source IP as the pod sees it, in-cluster ClusterIP and NodePort paths, and NodePort latency.

Deploys agnhost netexec into namespace ebpfctl-verify (pods spread over the nodes, a NodePort Service), probes, and deletes the namespace again — also on failure and Ctrl-C (--keep leaves it). Each run's summary is kept in ConfigMap kube-system/ebpfctl-verify-results, so later runs print before → after (kube-proxy → BPF → BPF+DSR).

Exit status: 0 every probe passed (warnings allowed: e.g. SNAT under kube-proxy); 1 a probe failed; 2 usage or API error, the workload did not become Ready within --timeout, or interrupted.`

  static override examples = [
    {description: 'Verify with 1,000 requests per node.', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'As the demo: 10,000 curls, two nodes.', command: '<%= config.bin %> <%= command.id %> --requests 10000 --nodes node-1,node-2'},
    {description: 'Air-gapped: agnhost from a mirror.', command: '<%= config.bin %> <%= command.id %> --image registry.example.com/agnhost:2.53'},
    {description: "Prove NetworkPolicy sees this machine's address.", command: '<%= config.bin %> <%= command.id %> --policy'},
    {description: 'JUnit for CI.', command: '<%= config.bin %> <%= command.id %> -o junit > verify.xml'},
  ]

  static override flags = {
    output: outputFlag(
      [...TABLE_FORMATS, 'junit'] as const,
      'Output format: table (wide is the same), json, yaml (the same document), junit (a test case per probe, for CI).',
    ),
    nodes: Flags.string({description: 'Probe these nodes only (NAME,NAME); default every Linux node.'}),
    requests: Flags.integer({default: 1000, min: 0, max: 1_000_000, description: 'New connections per node for the latency figures (0: none).'}),
    'request-interval': Flags.string({
      default: '4ms',
      description: 'Start-to-start pacing of the latency requests, as a curl loop is paced by starting a process per request (0: back to back).',
    }),
    image: Flags.string({description: 'The agnhost image (default registry.k8s.io/e2e-test-images/agnhost:2.53).'}),
    'external-traffic-policy': Flags.option({
      default: 'Cluster',
      description: 'Local: also a Service with externalTrafficPolicy: Local, probed on the nodes that run a verify pod.',
      options: ['Cluster', 'Local'] as const,
    })(),
    policy: Flags.boolean({description: "Also apply a NetworkPolicy with an ipBlock of this machine's address and probe it."}),
    keep: Flags.boolean({description: 'Leave namespace ebpfctl-verify in place for inspection.'}),
    save: Flags.boolean({default: true, allowNo: true, description: 'Store this run in ConfigMap kube-system/ebpfctl-verify-results.'}),
    timeout: Flags.string({default: '5m', description: 'Bound on the workload becoming Ready (rollout, image pull).'}),
    'probe-timeout': Flags.string({default: '2s', description: 'Bound on one probe request.'}),
    'nodeport-wait': Flags.string({
      default: '30s',
      description: "How long a node's NodePort may take to start answering once the Service's EndpointSlices list every pod (kube-proxy and Felix program a new Service on their own schedule); at most --timeout.",
    }),
    'poll-interval': Flags.string({default: '1s', hidden: true, description: 'Interval between polls of a wait.'}),
  }

  async run(): Promise<void> {
    const {flags} = this
    const timeoutMs = parseDuration(flags.timeout, 'timeout')
    const requestTimeoutMs = parseDuration(flags['probe-timeout'], 'probe-timeout')
    const pollMs = parseDuration(flags['poll-interval'], 'poll-interval')
    const requestIntervalMs = parseDuration(flags['request-interval'], 'request-interval')
    const nodePortWaitMs = Math.min(parseDuration(flags['nodeport-wait'], 'nodeport-wait'), timeoutMs)
    if (requestIntervalMs > 10_000) throw new UserError(`--request-interval=${flags['request-interval']} is more than 10s`, {remedy: 'Use a pacing like 4ms (the default) or 0 (back to back).'})
    const nodes = flags.nodes?.split(',').map((n) => n.trim()).filter(Boolean)
    if (nodes && nodes.length === 0) throw new UserError('--nodes names no node', {remedy: 'Use --nodes NAME[,NAME].'})
    const [kube, verify, render] = await Promise.all([this.connectCluster(), import('../lib/verify/run.js'), import('../lib/verify/render.js')])
    const ac = new AbortController()
    const onSigint = () => {
      if (!ac.signal.aborted) process.stderr.write('\ninterrupted: cleaning up namespace ebpfctl-verify …\n')
      ac.abort()
    }
    process.on('SIGINT', onSigint)
    try {
      const report = await verify.runVerify(kube, {
        nodes,
        requests: flags.requests,
        requestIntervalMs,
        image: flags.image,
        externalTrafficPolicyLocal: flags['external-traffic-policy'] === 'Local',
        policy: flags.policy,
        keep: flags.keep,
        save: flags.save,
        timeoutMs,
        pollMs,
        requestTimeoutMs,
        nodePortWaitMs,
        signal: ac.signal,
        progress: (line) => this.err(line),
      })
      if (isDocumentFormat(flags.output)) this.outDocument(await machineDocument(flags.output, report))
      else if (flags.output === 'junit') this.outDocument(render.renderVerifyJunit(report))
      else this.out(render.renderVerifyTable(report))
      process.exitCode = report.exitCode
    } finally {
      process.off('SIGINT', onSigint)
      kube.close()
    }
  }
}
