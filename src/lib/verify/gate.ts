import type {KubeClient} from '../kube/client.js'
import {type VerifyOptions, type VerifyReport, runVerify} from './run.js'

/**
 * `ebpfctl verify` as a gate for enable/revert --verify: each phase is a full run (deploy, probe, clean up; stored,
 * so before → after shows the switch). Passed means no probe failed; the summary names what failed.
 */
export function verifyGate(
  kube: KubeClient,
  opts: Omit<VerifyOptions, 'progress'> & {progress: (line: string) => void},
): {gate: (phase: 'before' | 'after') => Promise<{passed: boolean; summary: string}>; last: () => VerifyReport | undefined} {
  let last: VerifyReport | undefined
  return {
    last: () => last,
    async gate(phase) {
      const report = await runVerify(kube, {...opts, progress: (l) => opts.progress(`verify (${phase}): ${l}`)})
      last = report
      const failed = report.probes.flatMap((p) => p.findings.filter((f) => f.status === 'fail').map((f) => `${f.checkId}${f.node ? ` (${f.node})` : ''}: ${f.summary}`))
      const s = report.summary
      opts.progress(`verify (${phase}): ${report.dataplane.label}: ${s.passed} passed, ${s.warnings} warnings, ${s.failed} failed${report.beforeAfter ? `; ${report.beforeAfter}` : ''}`)
      return {passed: report.exitCode === 0, summary: failed.length ? failed.slice(0, 5).join('; ') + (failed.length > 5 ? `; and ${failed.length - 5} more` : '') : 'all probes passed'}
    },
  }
}
