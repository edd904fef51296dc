/**
 * `ebpfctl verify` on the netns rig (real kernel networking: test/support/netns-rig), BPF mode, 3 nodes:
 * 1. the latency it reports against a `curl -w %{time_total}` loop on the same NodePort (the demo's method), run side
 *    by side in alternating rounds (target: ebpfctl's mean within 10% of curl's);
 * 2. ebpfctl's own overhead per request (wall time of its latency phase per request, minus the mean it reports);
 * 3. the wall time of `verify` with 1,000 requests on 3 nodes (target: <= 15 s plus rollout; the rig's rollout is
 *    instant, so this is all probing).
 * Run as root after `npm run build`: npx tsx bench/verify-latency.ts [requests-per-round] [rounds]
 */
import {execFileSync} from 'node:child_process'

import {startFakeApiServer} from '../test/support/fake-apiserver/index.js'
import {createNetnsRig} from '../test/support/netns-rig/index.js'

const perRound = Number(process.argv[2] ?? 500)
const rounds = Number(process.argv[3] ?? 3)
const server = await startFakeApiServer()
const rig = await createNetnsRig(server, {nodes: 3})
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
try {
  const fc = server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
  server.store.put({...fc, spec: {...fc.spec, bpfEnabled: true}})
  const verify = async (args: string[]) => {
    const r = await rig.cli(['verify', '--kubeconfig', rig.kubeconfig, '--no-save', '--poll-interval', '100ms', '-o', 'json', ...args], {timeoutMs: 600_000})
    if (!r.stdout) throw new Error(`verify failed (${r.code}): ${r.stderr}`)
    return {...r, report: JSON.parse(r.stdout)}
  }
  const node = rig.nodes[0]!
  const ebpfctlMeans: number[] = []
  const curlMeans: number[] = []
  for (let round = 0; round < rounds; round++) {
    // --keep: the Service (and so the NodePort) stays for the curl loop; the next run replaces the namespace.
    const e = await verify(['--nodes', node.name, '--requests', String(perRound), '--keep'])
    ebpfctlMeans.push(e.report.latency[0].meanMs)
    const url = `http://${node.address}:${e.report.workload.nodePort}/clientip`
    const out = execFileSync('ip', ['netns', 'exec', rig.client, 'sh', '-c', `for i in $(seq ${perRound}); do curl -s -o /dev/null -w '%{time_total}\\n' ${url}; done`]).toString()
    const times = out.trim().split('\n').map((l) => Number(l) * 1000)
    curlMeans.push(mean(times))
    console.log(`round ${round + 1}: ebpfctl mean ${ebpfctlMeans.at(-1)!.toFixed(3)} ms, curl loop mean ${curlMeans.at(-1)!.toFixed(3)} ms (${perRound} requests each)`)
  }
  const e = mean(ebpfctlMeans)
  const c = mean(curlMeans)
  console.log(`latency: ebpfctl mean ${e.toFixed(3)} ms vs curl -w %{time_total} mean ${c.toFixed(3)} ms: ${(((e - c) / c) * 100).toFixed(1)}% (target within ±10%)`)

  // Overhead per request: the latency phase's wall time (runs with and without requests) per request, minus the mean.
  const n = 1000
  const without = await verify(['--nodes', node.name, '--requests', '0'])
  const withReq = await verify(['--nodes', node.name, '--requests', String(n)])
  const perRequest = (withReq.ms - without.ms) / n
  console.log(
    `overhead: ${perRequest.toFixed(3)} ms wall per request vs ${withReq.report.latency[0].meanMs.toFixed(3)} ms measured: ` +
      `${(perRequest - withReq.report.latency[0].meanMs).toFixed(3)} ms per request outside the timed exchange`,
  )

  // The target run: 1,000 requests on each of 3 nodes.
  const full = await verify(['--requests', '1000'])
  console.log(
    `verify --requests 1000 on ${full.report.latency.length} nodes: ${(full.ms / 1000).toFixed(2)} s wall (exit ${full.code}; ` +
      `p50 ${full.report.latency.map((l: any) => l.p50Ms.toFixed(2)).join('/')} ms; target <= 15 s plus rollout)`,
  )
  console.log(`load average: ${execFileSync('cat', ['/proc/loadavg']).toString().trim()}`)
} finally {
  await rig.close()
  await server.close()
}
