import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {nodeAccessFlags, nodeAccessOptions} from '../flags/node-access.js'
import type {CheckContext} from '../lib/checks/types.js'
import {CHECK_IDS, normalizeCheckIds, runChecks} from '../lib/checks/index.js'
import {bpfEnabledInCluster} from '../lib/checks/util.js'
import {localNodeName, readLocalFacts} from '../lib/checks/facts.js'
import {UserError} from '../lib/errors.js'
import {clusterRequested} from '../lib/kube/kubeconfig-path.js'
import {resolveVia} from '../lib/nodes/access.js'
import {type CalicoInfo, type CheckReport, buildReport, renderFindingsTable, renderJunit} from '../lib/output/findings.js'
import {isDocumentFormat, machineDocument} from '../lib/output/terminal.js'
import {outputFlag} from '../flags/output.js'

// Start-up matters: nothing from src/lib/kube (client-node, yaml) is imported here; the cluster path loads it.

export default class Check extends BaseCommand<typeof Check> {
  static override description = [
    "Preflight for Calico's eBPF dataplane: judge this machine, or a cluster through the Kubernetes API.",
    '',
    "Without a kubeconfig (or with --local) the checks read this machine: kernel (Felix's exact rule on /proc/version), " +
      'architecture, /sys/fs/bpf, cgroup v2, BTF, kernel config and pinned Calico maps.',
    '',
    'With --kubeconfig, --context or KUBECONFIG they read the cluster with a fixed number of list requests and no node ' +
      'access: per-node kernel verdicts from status.nodeInfo, install type, API-server address, kube-proxy, ' +
      'FelixConfiguration, IP pools, platform and Calico health. --nodes adds the node-side checks on cluster nodes.',
    '',
    `Check IDs: ${CHECK_IDS.join(', ')}.`,
    '',
    'Exit status: 0 nothing failed; 1 a check failed (or a warning, with --strict); 2 usage, kubeconfig or API error.',
  ].join('\n')

  static override examples = [
    {description: 'Check this machine (no cluster needed).', command: '<%= config.bin %> <%= command.id %>'},
    {
      description: 'Check a cluster through its API.',
      command: '<%= config.bin %> <%= command.id %> --kubeconfig ~/.kube/prod --context prod',
    },
    {description: 'CI gate: JSON, warnings fail.', command: '<%= config.bin %> <%= command.id %> -o json --strict'},
    {
      description: 'kubeadm-style: keep going despite a known failure.',
      command: '<%= config.bin %> <%= command.id %> --ignore ip-pools,platform',
    },
    {
      description: 'Only the kernel verdicts, every node listed.',
      command: '<%= config.bin %> <%= command.id %> --only kernel,hybrid -o wide',
    },
    {
      description: 'JUnit for a CI test report.',
      command: '<%= config.bin %> <%= command.id %> -o junit > ebpf-preflight.xml',
    },
    {
      description: 'Add the node-side checks on every node, through the calico-node pods.',
      command: '<%= config.bin %> <%= command.id %> --nodes all --via exec',
    },
  ]

  static override flags = {
    local: Flags.boolean({description: 'Check this machine even when a kubeconfig is available.', exclusive: ['nodes']}),
    output: outputFlag(
      ['table', 'wide', 'json', 'yaml', 'junit'] as const,
      'Output format: table (grouped), wide (every node listed), json (README schema), yaml (the same document), junit.',
    ),
    strict: Flags.boolean({description: 'Warnings fail too (exit 1).'}),
    ignore: Flags.string({
      description: 'Check IDs whose failures become warnings (shown, marked ignored), comma-separated, or "all".',
      multiple: true,
    }),
    only: Flags.string({description: 'Run only these check IDs, comma-separated.', multiple: true}),
    nodes: Flags.string({
      description: 'Also probe these nodes (all, or NAME,NAME) for the node-side checks (needs node access).',
      helpGroup: 'NODE ACCESS',
    }),
    ...nodeAccessFlags,
  }

  /**
   * What the flags ask to check: this machine, named nodes over SSH without a cluster (as the dumps: by name or
   * --ssh-host), or a cluster. bin/run.js's local-check bundle runs only 'local' (check-entry.ts).
   */
  static targetMode(flags: Check['flags']): 'local' | 'nodes' | 'cluster' {
    const hasCluster = clusterRequested(flags)
    if (!hasCluster && flags.nodes !== undefined && resolveVia(nodeAccessOptions(flags), undefined) === 'ssh') return 'nodes'
    return !flags.local && (hasCluster || flags.nodes !== undefined) ? 'cluster' : 'local'
  }

  async run(): Promise<void> {
    const {flags} = this
    // Validate IDs before touching anything, so a typo is exit 2 and not a half-run.
    const only = normalizeCheckIds(flags.only, 'only')
    const ignore = normalizeCheckIds(flags.ignore, 'ignore', true)
    this.requestTimeoutMs() // a bad --request-timeout is a usage error in local mode too

    let ctx: CheckContext
    let target: CheckReport['target']
    let calico: CalicoInfo | null = null
    const access = nodeAccessOptions(flags)
    const mode = Check.targetMode(flags)
    if (mode === 'nodes') {
      const names = flags.nodes!.split(',').map((n) => n.trim()).filter(Boolean)
      if (names.length === 0 || names.some((n) => n.toLowerCase() === 'all')) {
        throw new UserError('--nodes all needs a cluster to list the nodes', {
          remedy: 'Name the nodes (--nodes a,b with --ssh-host NAME=ADDR as needed), or pass --kubeconfig.',
        })
      }
      const [{probeNodes}, {openRunner}] = await Promise.all([import('../lib/checks/node-facts.js'), import('../lib/nodes/access.js')])
      const runner = await openRunner(access, undefined)
      try {
        const res = await probeNodes(runner, names.map((name) => ({name})), access)
        ctx = {nodeFacts: res.facts, nodeAccessErrors: res.errors}
      } finally {
        await runner.close()
      }
      target = {mode: 'nodes', nodes: names}
    } else if (mode === 'local') {
      const name = localNodeName()
      ctx = {nodeFacts: new Map([[name, await readLocalFacts()]])}
      target = {mode: 'local', node: name}
    } else {
      const [kube, {collectClusterState, detectInstall}, {calicoInfo}] = await Promise.all([
        this.connectCluster(),
        import('../lib/kube/cluster.js'),
        import('../lib/checks/calico-info.js'),
      ])
      try {
        const state = await collectClusterState(kube)
        const install = detectInstall(state)
        ctx = {cluster: {state, install, kubeconfigServer: kube.server}}
        if (flags.nodes !== undefined) {
          const [{probeNodes}, {nodeAccessCluster, openRunner}, {selectNodes}] = await Promise.all([
            import('../lib/checks/node-facts.js'),
            import('../lib/nodes/access.js'),
            import('../lib/nodes/select.js'),
          ])
          const all = flags.nodes.trim().toLowerCase() === 'all'
          const nodes = selectNodes(state, {all, names: all ? undefined : flags.nodes.split(',').map((n) => n.trim()).filter(Boolean)})
          const runner = await openRunner(access, nodeAccessCluster(kube, install))
          try {
            const res = await probeNodes(runner, nodes, access)
            ctx.nodeFacts = res.facts
            ctx.nodeAccessErrors = res.errors
          } finally {
            await runner.close()
          }
          if (install.calicoNamespace && bpfEnabledInCluster(ctx)) {
            // Felix's own word on each probed node: BPF started, or fell back to iptables (one log read per pod).
            const {readNodeDataplanes} = await import('../lib/felix-log.js')
            const reports = await readNodeDataplanes(kube, install.calicoNamespace, {
              concurrency: flags.concurrency,
              onlyNodes: new Set(ctx.nodeFacts.keys()),
            })
            for (const r of reports) {
              const facts = ctx.nodeFacts.get(r.node)
              if (facts) facts.felixDataplane = r.dataplane
            }
          }
        }
        target = {mode: 'cluster', server: kube.server, context: kube.contextName}
        calico = calicoInfo(state, install)
      } finally {
        kube.close()
      }
    }

    const result = await runChecks(ctx, {only, ignore, strict: flags.strict})
    const report = buildReport(result, {ebpfctlVersion: this.config.version, target, calico})
    if (isDocumentFormat(flags.output)) this.outDocument(await machineDocument(flags.output, report))
    else if (flags.output === 'junit') this.outDocument(renderJunit(report))
    else {
      const {terminalWidth} = await import('../lib/output/wrap.js')
      this.out(renderFindingsTable(report, {wide: flags.output === 'wide', width: terminalWidth()}))
    }
    if (ctx.nodeAccessErrors?.size) {
      const {writeNodeErrors} = await import('../lib/output/node-errors.js')
      writeNodeErrors(
        [...ctx.nodeAccessErrors].map(([node, error]) => ({node, error})),
        (t) => this.err(t),
      )
    }
    process.exitCode = result.exitCode
  }
}
