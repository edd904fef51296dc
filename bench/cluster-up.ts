/**
 * Warm start/stop of the e2e control plane (test/e2e/cluster up/down with cached binaries): etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, kwok, felix-sim, seeded with 3 kwok nodes and Calico v3.32.1's
 * calico.yaml, every DaemonSet rolled out and Ready; with --operator REL, an operator install instead: the real
 * tigera-operator of that release reconciles Installation default until TigeraStatus calico is Available.
 * Target (issue 9): up <= 30 s. Needs `test/e2e/cluster build`.
 * Run: npx tsx bench/cluster-up.ts [runs] [--operator v1.42|v1.43]
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'

const SCRIPT = join(import.meta.dirname, '..', 'test', 'e2e', 'cluster')
const args = process.argv.slice(2)
const opAt = args.indexOf('--operator')
const operator = opAt >= 0 ? args.splice(opAt, 2)[1] : undefined
const runs = Number(args[0] ?? 3)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`

if ((await execa(SCRIPT, ['bin'], {reject: false})).exitCode !== 0) {
  console.error('binaries not built: run test/e2e/cluster build first')
  process.exit(2)
}
if (operator) {
  const bin = await execa(SCRIPT, ['operator-bin', operator], {reject: false})
  if (bin.exitCode !== 0) {
    console.error(bin.stderr)
    process.exit(2)
  }
}
const ups: number[] = []
const downs: number[] = []
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-bench-cluster-'))
  try {
    let t = performance.now()
    await execa(SCRIPT, ['up', dir, ...(operator ? ['--operator', operator] : [])], {timeout: 300_000})
    ups.push(performance.now() - t)
    t = performance.now()
    await execa(SCRIPT, ['down', dir])
    downs.push(performance.now() - t)
  } finally {
    await execa(SCRIPT, ['down', dir], {reject: false})
    rmSync(dir, {recursive: true, force: true})
  }
  console.log(`run ${i + 1}: up ${s(ups.at(-1)!)}, down ${s(downs.at(-1)!)}`)
}
const what = operator ? `tigera-operator ${operator} install Ready` : 'manifest install Ready'
console.log(`cluster up (warm, 3 kwok nodes, ${what}): median ${s(median(ups))} of ${runs} (target <= 30 s)`)
console.log(`cluster down: median ${s(median(downs))}`)
