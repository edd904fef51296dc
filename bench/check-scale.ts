/**
 * `ebpfctl check` against the fake API server with 5,000 nodes (default; pass other counts as arguments): API
 * requests, writes, and wall time, both for the whole CLI process (`node bin/run.js check`, start-up included;
 * needs `npm run build`) and in-process (connect + collect + runChecks + render). Targets: <= 2 s, <= 20 requests.
 * Run: npx tsx bench/check-scale.ts [nodes...]
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'

import {runChecks} from '../src/lib/checks/index.js'
import {collectClusterState, detectInstall} from '../src/lib/kube/cluster.js'
import {connect} from '../src/lib/kube/connect.js'
import {buildReport, renderFindingsTable} from '../src/lib/output/findings.js'
import {startFakeApiServer} from '../test/support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../test/support/fake-apiserver/scenarios.js'

const ROOT = join(import.meta.dirname, '..')
const RUNS = 5
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const counts = process.argv.slice(2).map(Number).filter((n) => n > 0)
const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-bench-'))
try {
  for (const nodes of counts.length ? counts : [5000]) {
    const server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes})
    seedOperatorInstall(server.store, {nodeCount: nodes})
    const kubeconfig = server.writeKubeconfig(dir)

    const cli: number[] = []
    let requests = 0
    let writes = 0
    let exitCode: number | undefined
    for (let i = 0; i < RUNS; i++) {
      server.resetLog()
      const t = performance.now()
      const r = await execa('node', [join(ROOT, 'bin', 'run.js'), 'check', '--kubeconfig', kubeconfig], {reject: false})
      cli.push(performance.now() - t)
      requests = server.log.length
      writes = server.writes().length
      exitCode = r.exitCode
    }
    const inproc: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now()
      const kube = await connect({kubeconfig, timeoutMs: 10_000})
      const state = await collectClusterState(kube)
      const install = detectInstall(state)
      const result = await runChecks({cluster: {state, install, kubeconfigServer: kube.server}})
      renderFindingsTable(buildReport(result, {ebpfctlVersion: 'bench', target: {mode: 'cluster'}, calico: null}))
      kube.close()
      inproc.push(performance.now() - t)
    }
    const nodeMs = await execa('node', ['-e', '0']).then(async () => {
      const xs: number[] = []
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now()
        await execa('node', ['-e', '0'])
        xs.push(performance.now() - t)
      }
      return median(xs)
    })
    console.log(`nodes: ${nodes}`)
    console.log(`  API requests per run: ${requests} (target <= 20), writes: ${writes}, exit code: ${exitCode}`)
    console.log(`  wall, whole CLI (median of ${RUNS}): ${median(cli).toFixed(0)} ms (target <= 2000 ms; node -e 0 here: ${nodeMs.toFixed(0)} ms)`)
    console.log(`  wall, in-process connect+collect+check+render (median of ${RUNS}): ${median(inproc).toFixed(0)} ms`)
    await server.close()
  }
} finally {
  rmSync(dir, {recursive: true, force: true})
}
