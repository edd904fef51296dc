import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {nodeAccessFlags, nodeAccessOptions} from '../flags/node-access.js'
import {planFlags, requireDryRunForJunit, timingFrom} from '../flags/plan.js'
import {verifyGateFlags, verifyGateFromFlags} from '../flags/verify.js'
import {ExitCode, UserError} from '../lib/errors.js'
import {isDocumentFormat, machineDocument} from '../lib/output/terminal.js'
import {cliCommand} from '../lib/cli/name.js'
import type {NodeLeftovers} from '../lib/dataplane/leftovers.js'

export default class Revert extends BaseCommand<typeof Revert> {
  static override description = `Undo \`ebpfctl enable\` from the record it left in the cluster (from any machine).

In this order: kube-proxy back (only the nodeSelector key that was added is removed) and its pods Ready; BPF off
(operator: linuxDataplane, and bpfNetworkBootstrap or hostPorts when enable set them, in one patch; manifest: bpfEnabled
or FELIX_BPFENABLED); every other field back to its prior value (absent fields removed); ConfigMap
kubernetes-services-endpoint deleted only if enable created it; then the record. Without a record the well-known
changes are reverted best-effort.
Switching dataplanes disrupts some existing connections.
With --verify, \`ebpfctl verify\` runs before and after; Services failing after the revert is exit 1 (nothing is undone).
With --verify-clean, every Linux node is then checked for Calico BPF programs still attached (tc/tcx/XDP on its
interfaces, connect-time programs on cgroups; projectcalico/calico#9620), each leftover listed with the command that
removes it.
Exit status: 0 reverted (or nothing to do) [and every node clean]; 1 a step failed or a field is not back (re-run it),
--verify failed after the revert, or --verify-clean found leftovers or could not check a node; 2 usage or API error,
or another run holds the lock (Lease kube-system/ebpfctl-lock; see --lock-timeout).`

  static override examples = [
    {description: 'Show what would be undone.', command: '<%= config.bin %> <%= command.id %> --dry-run'},
    {description: 'Revert.', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Revert, then check no Calico BPF program is left attached on any node.', command: '<%= config.bin %> <%= command.id %> --verify-clean'},
  ]

  static override flags = {
    ...planFlags,
    ...verifyGateFlags,
    'verify-clean': Flags.boolean({
      description: 'After the switch back, check every Linux node for Calico BPF programs still attached (bpftool through --via), and list each with its remedy.',
    }),
    ...nodeAccessFlags,
  }

  async run(): Promise<void> {
    const {flags} = this
    requireDryRunForJunit(flags)
    const timing = timingFrom(flags)
    const [kube, plan] = await Promise.all([this.connectCluster(), import('../lib/plan/index.js')])
    const ac = new AbortController()
    const onSigint = () => {
      process.stderr.write('\ninterrupted: stopping after the current step …\n')
      ac.abort()
    }
    process.on('SIGINT', onSigint)
    const verifyOpts = {timeoutMs: timing.timeoutMs, pollMs: timing.pollMs, signal: ac.signal, progress: (line: string) => this.err(line)}
    const verify = flags.verify && !flags['dry-run'] ? await verifyGateFromFlags(kube, flags, verifyOpts) : undefined
    try {
      // The baseline is informational: a revert is often run because Services fail.
      await verify?.gate('before')
      const report = await plan.revertSession({
        kube,
        timing,
        progress: plan.createProgress(this.progressSink()),
        signal: ac.signal,
        dryRun: flags['dry-run'] !== undefined,
      })
      const document = isDocumentFormat(flags.output) ? flags.output : undefined
      const source = report.hadRecord
        ? `from the record in ${report.recordNamespace}/${plan.RECORD_CONFIGMAP}`
        : 'no record found: best effort'
      const dryRun = flags['dry-run']
      if (report.dryRun && dryRun) {
        const server = dryRun === 'server' ? await plan.serverDryRun(kube, report.plan, report.state) : undefined
        const doc = plan.planDocument(report, {command: 'revert', dryRun, server, hadRecord: report.hadRecord})
        if (document) this.outDocument(await machineDocument(document, doc))
        else if (flags.output === 'junit') this.outDocument((await import('../lib/output/plan-junit.js')).renderPlanJunit(doc))
        else {
          this.out(`Revert plan (${source}):`)
          this.out(report.plan.steps.length ? report.rendered : '(nothing to revert)')
          for (const w of report.plan.warnings) this.out(`warning: ${w}`)
          for (const line of plan.renderPermissions(report.permissions)) this.out(line)
          if (server) for (const line of plan.renderServerDryRun(server)) this.out(line)
          this.out('Dry run: nothing was changed.')
        }
        // The real run would be refused before its first write: the same error and exit status (2).
        if (report.permissions?.missing.length) throw new plan.PermissionError(report.permissions.missing, 'revert')
        if (server?.some((r) => r.outcome === 'refused')) this.exit(ExitCode.Failed)
        return
      }
      const result = report.result!
      if (result.outcome === 'rollback-incomplete') {
        throw new UserError(`revert stopped: ${result.error}`, {
          exitCode: ExitCode.Failed,
          remedy:
            'kube-proxy is restored before BPF is turned off, so Services keep working; fix the cause and run ' +
            `\`${cliCommand('revert')}\` again.`,
        })
      }
      if (!document) {
        if (result.outcome === 'nothing-to-do') this.out(`Nothing to revert (${source}).`)
        else {
          this.out(`Reverted (${source}): the cluster is back on its previous dataplane.`)
          this.out(plan.renderChangeSummary(report.plan, result))
        }
      }
      // With -o json|yaml, what --verify-clean and --verify found goes into the one document, printed last (also when
      // one of them fails: the revert itself happened and its result must not be lost).
      let leftovers: NodeLeftovers[] | undefined
      let after: Awaited<ReturnType<NonNullable<typeof verify>['gate']>> | undefined
      try {
        if (flags['verify-clean']) leftovers = await this.verifyClean(kube, !document)
        if (verify) after = await verify.gate('after')
      } finally {
        const verified = verify?.last()?.beforeAfter
        if (document) {
          const doc = {
            ...plan.resultDocument(report, 'revert', result),
            ...(leftovers ? {verifyClean: {clean: leftovers.every((r) => !r.error && r.leftovers.length === 0), nodes: leftovers}} : {}),
            ...(after ? {verify: {passed: after.passed, summary: after.summary, ...(verified ? {beforeAfter: verified} : {})}} : {}),
          }
          this.outDocument(await machineDocument(document, doc))
        } else if (after && verified) this.out(`Verified: ${verified}`)
      }
      if (after && !after.passed)
        throw new UserError(`Services fail after the revert: ${after.summary}`, {
          exitCode: ExitCode.Failed,
          remedy: `Run \`${cliCommand('verify')}\` and \`${cliCommand('status')}\` to see which node or path fails.`,
        })
    } finally {
      process.off('SIGINT', onSigint)
      kube.close()
    }
  }

  /**
   * --verify-clean: leftovers per node (as text on stdout unless a document is printed; nodes that could not be checked
   * also on stderr, as every command reports them); exit 1 when any node is not clean or could not be checked.
   */
  private async verifyClean(kube: Awaited<ReturnType<Revert['connectCluster']>>, asText: boolean): Promise<NodeLeftovers[]> {
    const {flags} = this
    const access = nodeAccessOptions(flags)
    const [{collectClusterState, detectInstall}, {nodeAccessCluster, openRunner}, {linuxNodes}, {verifyClean, renderLeftovers}, {writeNodeErrors}] = await Promise.all([
      import('../lib/kube/cluster.js'),
      import('../lib/nodes/access.js'),
      import('../lib/nodes/select.js'),
      import('../lib/dataplane/leftovers.js'),
      import('../lib/output/node-errors.js'),
    ])
    const state = await collectClusterState(kube)
    const install = detectInstall(state)
    const runner = await openRunner(access, nodeAccessCluster(kube, install))
    try {
      const results = await verifyClean(runner, linuxNodes(state.nodes), {
        timeoutMs: access.timeoutMs,
        maxBytes: 32 * 1024 * 1024,
        concurrency: access.concurrency,
      })
      if (asText) this.out(renderLeftovers(results))
      writeNodeErrors(results, (t) => this.err(t))
      if (results.some((r) => r.error || r.leftovers.length > 0)) process.exitCode = ExitCode.Failed
      return results
    } finally {
      await runner.close()
    }
  }
}
