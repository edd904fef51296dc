/**
 * `ebpfctl status` (the built CLI) against the REAL kube-apiserver of the e2e cluster with many kwok nodes (default
 * 1,000), each with a calico-node pod whose Felix log kwok serves from a file through the apiserver: wall time, and
 * the bytes of logs transferred per pod, counted by the e2e fault proxy passing everything through (no faults).
 * Two logs: felix-sim's own (a few lines), and a noisy one (FILLER lines of periodic Felix output before the lines that
 * say BPF is on), where the per-pod bound (tailLines 5000, limitBytes 4 MiB) decides what is sent.
 * BPF is enabled on the 3 seeded nodes first, so kube-proxy (off) puts no pods on the new nodes.
 * Run: npx tsx bench/status-scale.ts [nodes] [filler lines]   (needs `npm run build` and `test/e2e/cluster build`)
 * The calico-node pods of 1,000 nodes take minutes to start on a loaded machine: BENCH_DIR=<its dir> reruns the
 * measurement on a cluster a killed run left behind.
 */
import {mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {Agent, request} from 'node:https'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import pLimit from 'p-limit'

import {startFaultProxy} from '../test/e2e/support/fault-proxy.js'

const ROOT = join(import.meta.dirname, '..')
const SCRIPT = join(ROOT, 'test', 'e2e', 'cluster')
const nodes = Number(process.argv[2] ?? 1000)
const FILLER = Number(process.argv[3] ?? 20_000)
const RUNS = 3
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`

if ((await execa(SCRIPT, ['bin'], {reject: false})).exitCode !== 0) {
  console.error('binaries not built: run test/e2e/cluster build first')
  process.exit(2)
}
// BENCH_DIR=<dir of a cluster this bench set up before>: reuse it (nodes created, BPF on) and leave it running.
const reuse = process.env.BENCH_DIR
const dir = reuse ?? mkdtempSync(join(tmpdir(), 'ebpfctl-bench-status-'))
const cli = (args: string[], kubeconfig: string) =>
  execa(process.execPath, [join(ROOT, 'bin/run.js'), ...args, '--kubeconfig', kubeconfig], {
    reject: false,
    env: {NO_COLOR: '1', KUBECONFIG: '/nonexistent'},
  })
try {
  let t = performance.now()
  const kubeconfig = join(dir, 'kubeconfig')
  if (!reuse) {
    await execa(SCRIPT, ['up', dir], {timeout: 300_000})
    const en = await cli(['enable', '--dsr', '--poll-interval', '500ms', '--timeout', '120s'], kubeconfig)
    if (en.exitCode !== 0) throw new Error(`enable failed: ${en.stderr}`)
  }

  const server = new URL(readFileSync(join(dir, 'server'), 'utf8').trim())
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 16,
    ca: readFileSync(join(dir, 'pki/ca.crt')),
    cert: readFileSync(join(dir, 'pki/controllers.crt')),
    key: readFileSync(join(dir, 'pki/controllers.key')),
  })
  const call = (method: string, path: string, body?: object) =>
    new Promise<{status: number; body: string}>((resolve, reject) => {
      const req = request(
        {host: '127.0.0.1', port: server.port, path, method, agent, headers: {'content-type': 'application/json'}},
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (c) => (text += c))
          res.on('end', () => resolve({status: res.statusCode ?? 0, body: text}))
        },
      )
      req.on('error', reject)
      req.end(body ? JSON.stringify(body) : undefined)
    })
  t = performance.now()
  const limit = pLimit(16)
  const codes = reuse ? [] : await Promise.all(
    Array.from({length: nodes}, (_, i) =>
      limit(async () =>
        (await call('POST', '/api/v1/nodes', {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {name: `status-${i}`, annotations: {'kwok.x-k8s.io/node': 'fake'},
            labels: {'kubernetes.io/os': 'linux', type: 'kwok'}},
          status: {nodeInfo: {kernelVersion: '6.8.0-45-generic', osImage: 'Ubuntu 24.04.1 LTS', operatingSystem: 'linux', architecture: 'amd64'}},
        })).status,
      ),
    ),
  )
  const bad = codes.filter((c) => c !== 201).length
  if (!reuse) console.log(`created ${nodes - bad} nodes in ${((performance.now() - t) / 1000).toFixed(1)} s${bad ? ` (${bad} failed)` : ''}`)
  // Running, not Ready: on a loaded machine kwok's heartbeats for 1,000 nodes lag, the node lifecycle controller marks
  // some NotReady and their pods unready; kwok serves the logs of Running pods all the same.
  let running = 0
  for (;;) {
    const pods = JSON.parse((await call('GET', '/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dcalico-node')).body)
    running = (pods.items as any[]).filter((p) => p.status?.phase === 'Running').length
    if (running >= nodes + 3) break
    if (performance.now() - t > 20 * 60_000) throw new Error(`calico-node: ${running} Running of ${nodes + 3} after 20 min`)
    await new Promise((r) => setTimeout(r, 2000))
  }
  console.log(`calico-node Running on ${running} nodes after ${((performance.now() - t) / 1000).toFixed(1)} s`)
  agent.destroy()

  const proxy = await startFaultProxy(dir)
  const logFile = join(dir, 'node-logs/calico-node.log')
  const felixLines = readFileSync(logFile, 'utf8')
  const stamp = new Date().toISOString()
  const filler = Array.from(
    {length: FILLER},
    (_, i) => `${stamp} stdout F ${stamp.replace('T', ' ').replace('Z', '')} [INFO][63] felix/summary.go 100: Summarising 12 dataplane reconciliation loops over 1m2.3s: avg=4ms longest=15ms (resync-filter-v4) n=${i}\n`,
  ).join('')
  try {
    for (const [name, text] of [['felix-sim log', felixLines], [`noisy log (${FILLER} lines before)`, filler + felixLines]] as const) {
      writeFileSync(`${logFile}.tmp`, text)
      renameSync(`${logFile}.tmp`, logFile)
      const walls: number[] = []
      let perPod: number[] = []
      let requests = 0
      let code: number | undefined
      // The noisy log moves hundreds of MiB at 1,000 nodes: once is enough to count it.
      const runs = text === felixLines ? RUNS : 1
      for (let i = 0; i < runs; i++) {
        proxy.log.length = 0
        const t0 = performance.now()
        const r = await cli(['status', '-o', 'json'], proxy.kubeconfig)
        walls.push(performance.now() - t0)
        code = r.exitCode
        const logs = proxy.log.filter((e) => e.path.endsWith('/log'))
        perPod = logs.map((e) => e.bytes ?? 0)
        requests = proxy.log.length
        if (i === 0 && r.exitCode !== 0) console.log(`status exit ${r.exitCode}: ${r.stderr.slice(0, 300)}`)
      }
      const total = perPod.reduce((a, b) => a + b, 0)
      console.log(
        `status, ${nodes + 3} nodes, ${name} (file ${mb(Buffer.byteLength(text))}): median ${(median(walls) / 1000).toFixed(2)} s of ${walls.length} ` +
          `(exit ${code}); ${requests} requests, ${perPod.length} pod logs: ${mb(total)} in all, per pod max ${(Math.max(...perPod) / 1024).toFixed(1)} KiB, ` +
          `median ${(median(perPod) / 1024).toFixed(1)} KiB`,
      )
    }
  } finally {
    await proxy.close()
  }
} finally {
  if (!reuse) {
    await execa(SCRIPT, ['down', dir], {reject: false})
    rmSync(dir, {recursive: true, force: true})
  }
}
