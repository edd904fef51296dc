/**
 * `ebpfctl status` on a fake cluster of 1,000 nodes (default; pass other counts as arguments), each node's
 * calico-node answering `ifstate dump --json` through pod exec with a typical node's interfaces (2 host, 30 workload).
 * Prints wall time of the CLI process (and per node, with the load average: the machine is shared), exec calls and bytes transferred per node (stdout+stderr of the execs; the
 * largest single read must stay ≤ 64 KiB), API requests besides exec, and the same for `--node-state log`.
 * Needs `npm run build`. Run: npx tsx bench/status-fleet.ts [nodes...] [--concurrency N]
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'

import {FELIX_BPF_ACTIVE} from '../src/lib/felix-log.js'
import {startFakeApiServer} from '../test/support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../test/support/fake-apiserver/scenarios.js'

const ROOT = join(import.meta.dirname, '..')
const args = process.argv.slice(2)
const ci = args.indexOf('--concurrency')
const concurrency = ci >= 0 ? args[ci + 1]! : '16'
// Without --concurrency (ci = -1) no argument is its value: `ci + 1` would drop the first node count.
const counts = args.filter((_, i) => ci < 0 || (i !== ci && i !== ci + 1)).map(Number).filter((n) => n > 0)

function ifstateJson(workloads: number): string {
  const entry = (ifindex: number, name: string, flags: string[]) => ({
    ifindex, name, flags, ingress_policy_v4: ifindex, egress_policy_v4: ifindex + 1, xdp_policy_v4: -1,
    ingress_policy_v6: -1, egress_policy_v6: -1, xdp_policy_v6: -1, tc_ingress_filter: -1, tc_egress_filter: -1,
  })
  const list = [entry(2, 'eth0', ['v4Ready', 'host']), entry(3, 'vxlan.calico', ['v4Ready', 'vxlan'])]
  for (let i = 0; i < workloads; i++) list.push(entry(10 + i, `cali${(0x1a2b3c4d5e + i).toString(16)}`, ['workload', 'v4Ready']))
  return `${JSON.stringify(list, null, 2)}\n`
}

const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-bench-status-'))
try {
  for (const nodes of counts.length ? counts : [1000]) {
    const server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes})
    seedOperatorInstall(server.store, {installation: 'bpf', nodeCount: nodes})
    const kubeconfig = server.writeKubeconfig(dir)
    const answer = ifstateJson(30)
    const bytes = new Map<string, number>()
    let largest = 0
    let execs = 0
    server.setExecHandler((req) => {
      execs++
      const cmd = req.command.join(' ')
      const r = cmd === 'test -x /usr/bin/calico' ? {exitCode: 1} : cmd === 'calico-node -bpf ifstate dump --json' ? {stdout: answer, exitCode: 0} : {stderr: `unexpected ${cmd}`, exitCode: 2}
      const n = Buffer.byteLength((r as {stdout?: string}).stdout ?? '') + Buffer.byteLength((r as {stderr?: string}).stderr ?? '')
      bytes.set(req.pod, (bytes.get(req.pod) ?? 0) + n)
      largest = Math.max(largest, n)
      return r
    })
    // For --node-state log: a long-running node's log (Felix's line first, then 2 MB of chatter).
    const log = `2026-12-01 [INFO][1] felix/int_dataplane.go 1: ${FELIX_BPF_ACTIVE}\n` + `${'x'.repeat(199)}\n`.repeat(10_000)
    server.setPodLogs(() => log)

    for (const mode of ['auto', 'log'] as const) {
      server.resetLog()
      bytes.clear()
      execs = 0
      largest = 0
      const t = performance.now()
      const r = await execa('node', [join(ROOT, 'bin', 'run.js'), 'status', '--kubeconfig', kubeconfig, '-o', 'json', '--node-state', mode, '--concurrency', concurrency, '--log-concurrency', concurrency], {reject: false})
      const ms = performance.now() - t
      const report = JSON.parse(r.stdout) as {nodes: {total: number; groups: {dataplane: string; count: number}[]}}
      const logReqs = server.log.filter((l) => l.subresource === 'log')
      const logBytes = logReqs.length * Math.min(Number(logReqs[0]?.query.get('limitBytes') ?? 0), Buffer.byteLength(log))
      const perNode = [...bytes.values()]
      const mean = perNode.length ? perNode.reduce((a, b) => a + b, 0) / perNode.length : logBytes / Math.max(1, logReqs.length)
      const other = server.log.filter((l) => l.verb !== 'exec' && l.subresource !== 'log').length
      console.log(
        `${nodes} nodes, --node-state ${mode}, concurrency ${concurrency}: ${(ms / 1000).toFixed(2)} s wall ` +
          `(${(ms / nodes).toFixed(1)} ms per node, load avg ${loadavg()[0]!.toFixed(1)}; exit ${r.exitCode}); ` +
          `verdicts ${report.nodes.groups.map((g) => `${g.dataplane} ${g.count}`).join(', ')}; ` +
          `${execs} execs (${(execs / nodes).toFixed(1)}/node), ${logReqs.length} log reads, ${other} other API requests; ` +
          `bytes per node: mean ${Math.round(mean)}, largest single read ${mode === 'log' ? logReqs[0]?.query.get('limitBytes') : largest} ` +
          `(log read bound ${logReqs[0]?.query.get('limitBytes') ?? '-'}, tailLines ${logReqs[0]?.query.get('tailLines') ?? 'none'})`,
      )
    }
    await server.close()
  }
} finally {
  rmSync(dir, {recursive: true, force: true})
}
