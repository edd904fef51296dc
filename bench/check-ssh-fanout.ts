/**
 * Fan-out bench for `ebpfctl check --via ssh`: the node probe over real sshds in the node rig (root only).
 *   npx tsx bench/check-ssh-fanout.ts [nodes=32] [rounds=3] [concurrency=16]
 * Prints rig start-up, then per round: a cold probe of every node (new SshRunner: one handshake per node, at most 8
 * at once) and a warm one (connections reused), with wall time and per-node p50/p95/max.
 */
import {runOnNodes} from '../src/lib/nodes/fanout.js'
import {probeNode} from '../src/lib/nodes/probe.js'
import {SshRunner} from '../src/lib/nodes/ssh.js'
import {startRig} from '../test/support/node-rig/index.js'

const N = Number(process.argv[2] ?? 32)
const ROUNDS = Number(process.argv[3] ?? 3)
const CONCURRENCY = Number(process.argv[4] ?? 16)

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!

async function main(): Promise<void> {
  let t = Date.now()
  const rig = await startRig({
    nodes: Array.from({length: N}, (_, i) => ({
      name: `node-${String(i).padStart(3, '0')}`,
      maps: [{name: 'cali_v4_nat_fe3', type: 'hash', keySize: 16, valueSize: 16, maxEntries: 64, flags: 1}],
    })),
  })
  console.log(`rig: ${N} nodes started in ${Date.now() - t} ms`)
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const runner = new SshRunner(rig.sshOptions({connectTimeoutMs: 20_000}))
      try {
        for (const phase of ['cold', 'warm'] as const) {
          t = Date.now()
          const rs = await runOnNodes(rig.targets(), (n) => probeNode(runner, n, {timeoutMs: 30_000}), {
            concurrency: CONCURRENCY,
          })
          const wall = Date.now() - t
          const ms = rs.map((r) => r.durationMs)
          const failed = rs.filter((r) => !r.ok || !r.value.bpffsMounted).length
          console.log(
            `round ${round} ${phase}: ${N} nodes in ${wall} ms (${(wall / N).toFixed(1)} ms/node), ` +
              `per node p50 ${pct(ms, 0.5)} p95 ${pct(ms, 0.95)} max ${Math.max(...ms)} ms, failed ${failed}`,
          )
        }
      } finally {
        await runner.close()
      }
    }
  } finally {
    t = Date.now()
    await rig.stop()
    console.log(`rig: stopped in ${Date.now() - t} ms`)
  }
}

await main()
