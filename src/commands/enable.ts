import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {planFlags, requireDryRunForJunit, timingFrom} from '../flags/plan.js'
import {verifyGateFlags, verifyGateFromFlags} from '../flags/verify.js'
import {ExitCode} from '../lib/errors.js'
import {isDocumentFormat, machineDocument} from '../lib/output/terminal.js'
import {cliCommand} from '../lib/cli/name.js'

export default class Enable extends BaseCommand<typeof Enable> {
  static override description = `Switch to Calico's eBPF dataplane: gated, verified step by step, undone on failure.

Runs the \`check\` suite first and refuses on failures (unless --force). Then, each step skipped when already done:
  1. API-server address: ConfigMap kubernetes-services-endpoint in the namespace the install reads
     (or, with --bootstrap on v3.31+ operator installs, Installation bpfNetworkBootstrap: Enabled)
  2. calico-node picks it up (operator rollout; manifest installs: rollout restart)
  3. BPF on (operator: Installation linuxDataplane: BPF; manifest: FelixConfiguration bpfEnabled or FELIX_BPFENABLED)
  4. verify BPF is active on every node (Felix's log on each calico-node; a node that fell back stops enable)
  5. kube-proxy (--kube-proxy disable|keep|operator)
  6. --dsr / --no-dsr: bpfExternalServiceMode DSR / Tunnel
  7. with --verify: Services work after the switch (ebpfctl verify; a baseline run comes before step 1)
What changed (with prior values) is recorded in ConfigMap ebpfctl-state beside calico-node, for \`ebpfctl revert\`.
On any failure (API error, timeout, verify, Ctrl-C) the applied steps are undone newest first.
Exit status: 0 enabled (or already); 1 preflight refused (also with --dry-run, when the real run would be refused),
or a step failed (rolled back, or a field not restored); 2 usage or API error, or another run holds the lock (Lease
kube-system/ebpfctl-lock; see --lock-timeout).`

  static override examples = [
    {
      description: 'Show the plan and every object change; change nothing.',
      command: '<%= config.bin %> <%= command.id %> --dry-run',
    },
    {
      description: 'Enable with an explicit API-server address (load balancer).',
      command: '<%= config.bin %> <%= command.id %> --api-server 10.0.0.100:6443',
    },
    {
      description: 'Operator install, Calico v3.31+: let the operator find the API servers.',
      command: '<%= config.bin %> <%= command.id %> --bootstrap --kube-proxy operator',
    },
    {
      description: 'Platform-managed kube-proxy (AKS, RKE): keep it and tell Felix not to fight it.',
      command: '<%= config.bin %> <%= command.id %> --kube-proxy keep',
    },
    {
      description: 'Direct server return (read the network requirements first).',
      command: '<%= config.bin %> <%= command.id %> --dsr',
    },
    {
      description: 'Prove Services work before and after the switch; roll back if they do not.',
      command: '<%= config.bin %> <%= command.id %> --verify',
    },
  ]

  static override flags = {
    ...planFlags,
    ...verifyGateFlags,
    'api-server': Flags.string({
      description: 'HOST:PORT calico-node uses to reach the API server (default: derived, as `check` shows).',
      exclusive: ['bootstrap'],
    }),
    bootstrap: Flags.boolean({
      description:
        'Operator installs, Calico v3.31+: set bpfNetworkBootstrap: Enabled instead of writing the ConfigMap.',
    }),
    'kube-proxy': Flags.option({
      default: 'disable',
      description:
        'disable: nodeSelector non-calico=true on kube-proxy; keep: leave it running (Felix told not to fight it); ' +
        'operator: kubeProxyManagement: Enabled.',
      options: ['disable', 'keep', 'operator'] as const,
    })(),
    dsr: Flags.boolean({
      allowNo: true,
      description: 'bpfExternalServiceMode: DSR (--no-dsr: Tunnel). Default: leave it as it is.',
    }),
    force: Flags.boolean({description: 'Go ahead although preflight checks failed.'}),
    ignore: Flags.string({
      description: 'Check IDs whose preflight failures do not stop enable (shown as ignored), comma-separated, or "all".',
      multiple: true,
    }),
  }

  async run(): Promise<void> {
    const {flags} = this
    requireDryRunForJunit(flags)
    const timing = timingFrom(flags)
    const {normalizeCheckIds} = await import('../lib/checks/index.js')
    const ignore = normalizeCheckIds(flags.ignore, 'ignore', true) // a typo is exit 2 before anything is read
    const [kube, plan] = await Promise.all([this.connectCluster(), import('../lib/plan/index.js')])
    const ac = new AbortController()
    const onSigint = () => {
      if (ac.signal.aborted) process.stderr.write('\nrollback in progress; waiting for it to finish …\n')
      else {
        process.stderr.write('\ninterrupted: rolling back …\n')
        ac.abort()
      }
    }
    process.on('SIGINT', onSigint)
    const verifyOpts = {timeoutMs: timing.timeoutMs, pollMs: timing.pollMs, signal: ac.signal, progress: (line: string) => this.err(line)}
    const verify = flags.verify ? await verifyGateFromFlags(kube, flags, verifyOpts) : undefined
    try {
      const report = await plan.enableSession({
        verify: verify?.gate,
        kube,
        options: {
          apiServer: flags['api-server'],
          bootstrap: flags.bootstrap,
          kubeProxy: flags['kube-proxy'],
          dsr: flags.dsr,
          kubeconfigServer: kube.server,
        },
        timing,
        progress: plan.createProgress(this.progressSink()),
        signal: ac.signal,
        dryRun: flags['dry-run'] !== undefined,
        force: flags.force,
        ignore,
      })
      const {install} = report
      const document = isDocumentFormat(flags.output) ? flags.output : undefined
      const about = `${report.plan.variant} install (Calico ${install.calicoVersion ?? 'version unknown'}, calico-node in ${install.calicoNamespace})`
      const named = (f: {checkId: string; node?: string; summary: string}) => `${f.checkId}${f.node ? ` (${f.node})` : ''}: ${f.summary}`
      if (!document && flags.output !== 'junit') for (const f of report.ignoredFailures ?? []) this.out(`ignored preflight failure (--ignore): ${named(f)}`)
      const dryRun = flags['dry-run']
      if (report.dryRun && dryRun) {
        const server = dryRun === 'server' ? await plan.serverDryRun(kube, report.plan, report.state) : undefined
        const doc = plan.planDocument(report, {command: 'enable', dryRun, server, force: flags.force})
        if (document) this.outDocument(await machineDocument(document, doc))
        else if (flags.output === 'junit') this.outDocument((await import('../lib/output/plan-junit.js')).renderPlanJunit(doc, {force: flags.force}))
        else {
          this.out(`Plan for ${about}:`)
          this.out(report.rendered)
          for (const w of report.plan.warnings) this.out(`warning: ${w}`)
          for (const f of report.preflightFailures)
            this.out(`preflight failure (enable would refuse${flags.force ? ', but --force overrides it' : ''}): ${named(f)}`)
          for (const line of plan.renderPermissions(report.permissions)) this.out(line)
          if (server) for (const line of plan.renderServerDryRun(server)) this.out(line)
          this.out('Dry run: nothing was changed.')
        }
        // The real run would be refused before its first write: the same error and exit status (2 for permissions).
        if (report.permissions?.missing.length) throw new plan.PermissionError(report.permissions.missing, 'enable')
        // Refused by preflight, or a write the API server refuses: a dry run in CI must not pass (exit 1).
        if (report.preflightFailures.length > 0 && !flags.force) this.exit(ExitCode.Failed)
        if (server?.some((r) => r.outcome === 'refused')) this.exit(ExitCode.Failed)
        return
      }
      if (report.preflightFailures.length > 0)
        this.err(`warning: --force: ${report.preflightFailures.length} preflight failure(s) overridden`)
      const result = report.result!
      const err = plan.runError(result, report.recordNamespace)
      if (err) throw err
      if (document) this.outDocument(await machineDocument(document, plan.resultDocument(report, 'enable', result)))
      else if (result.outcome === 'nothing-to-do') this.out('Already enabled: nothing to do.')
      else {
        this.out(`Enabled on ${about}.`)
        this.out(plan.renderChangeSummary(report.plan, result))
        this.out(
          `eBPF dataplane enabled. Record: ConfigMap ${report.recordNamespace}/${plan.RECORD_CONFIGMAP}; undo ` +
            `with \`${cliCommand('revert')}\`.`,
        )
        const after = verify?.last()
        if (after?.beforeAfter) this.out(`Verified: ${after.beforeAfter}`)
      }
    } finally {
      process.off('SIGINT', onSigint)
      kube.close()
    }
  }
}
