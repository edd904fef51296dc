/**
 * API requests and wall time of `enable` and `revert` on fake clusters of 10 and 1,000 nodes (operator and manifest
 * installs). Run: npx tsx bench/enable-requests.ts [nodes...]
 *
 * Requests are split into: state reads (the fixed set of lists read before the plan, and the record), wait polls (GET
 * of a DaemonSet/FelixConfiguration, lists of pods by label — never per node), per-pod log reads (verify-bpf reads
 * each calico-node pod's log once: the only per-node requests), and writes.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {connect} from '../src/lib/kube/connect.js'
import {enableSession, revertSession} from '../src/lib/plan/index.js'
import {startFakeApiServer} from '../test/support/fake-apiserver/index.js'
import {enableOperatorSimulation} from '../test/support/fake-apiserver/operator.js'
import {seedKubeadmBase, seedManifestInstall, seedOperatorInstall} from '../test/support/fake-apiserver/scenarios.js'
import {simulateFelixLogs} from '../test/support/operator-sim.js'

const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

interface Counts {
  stateReads: number
  waitPolls: number
  podLogReads: number
  writes: number
  total: number
  ms: number
}

function count(log: {method: string; subresource?: string}[], ms: number): Counts {
  const firstWrite = log.findIndex((r) => WRITE.has(r.method))
  const c: Counts = {stateReads: 0, waitPolls: 0, podLogReads: 0, writes: 0, total: log.length, ms}
  log.forEach((r, i) => {
    if (WRITE.has(r.method)) c.writes++
    else if (r.subresource === 'log') c.podLogReads++
    else if (firstWrite < 0 || i < firstWrite) c.stateReads++
    else c.waitPolls++
  })
  return c
}

async function bench(kind: 'operator' | 'manifest', nodes: number): Promise<{enable: Counts; revert: Counts}> {
  const server = await startFakeApiServer()
  const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-bench-'))
  try {
    seedKubeadmBase(server.store, {nodes})
    if (kind === 'manifest') seedManifestInstall(server.store)
    else {
      seedOperatorInstall(server.store)
      enableOperatorSimulation(server)
    }
    simulateFelixLogs(server)
    const kube = await connect({kubeconfig: server.writeKubeconfig(dir), timeoutMs: 30_000})
    const timing = {pollMs: 50, timeoutMs: 120_000}
    server.resetLog()
    let t = performance.now()
    const e = await enableSession({
      kube,
      options: {kubeProxy: 'disable', dsr: true, kubeconfigServer: kube.server},
      timing,
    })
    if (e.result?.outcome !== 'done') throw new Error(`enable: ${e.result?.error}`)
    const enable = count(server.log, performance.now() - t)
    server.resetLog()
    t = performance.now()
    const r = await revertSession({kube, timing})
    if (r.result?.outcome !== 'done') throw new Error(`revert: ${r.result?.error}`)
    const revert = count(server.log, performance.now() - t)
    kube.close()
    return {enable, revert}
  } finally {
    await server.close()
    rmSync(dir, {recursive: true, force: true})
  }
}

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0)
const rows: string[][] = []
for (const kind of ['operator', 'manifest'] as const) {
  for (const nodes of sizes.length ? sizes : [10, 1000]) {
    const {enable, revert} = await bench(kind, nodes)
    for (const [cmd, c] of [
      ['enable', enable],
      ['revert', revert],
    ] as const) {
      rows.push([
        kind,
        String(nodes),
        cmd,
        String(c.stateReads),
        String(c.waitPolls),
        String(c.podLogReads),
        String(c.writes),
        String(c.total),
        `${(c.ms / 1000).toFixed(2)}s`,
      ])
    }
  }
}
const head = ['install', 'nodes', 'command', 'state reads', 'wait polls', 'pod-log reads', 'writes', 'total', 'wall']
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')
console.log(line(head))
for (const r of rows) console.log(line(r))
console.log(
  '\npod-log reads: verify-bpf (enable) reads each calico-node pod log once (one request per pod, 16 at a time);',
)
console.log('every other request count is independent of the node count (list-based waits, no per-node GETs).')
