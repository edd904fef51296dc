/**
 * `ebpfctl check` (the built CLI) against the REAL kube-apiserver of the e2e cluster with many kwok nodes (default
 * 5,000): wall time and the API requests it makes, counted from the apiserver's audit log (only ebpfctl uses the admin
 * user during the runs). Target (issue 9): <= 2 s, <= 20 requests, as against the fake.
 * The extra nodes have no kubernetes.io/os label, so no DaemonSet places pods on them: 5,000 nodes x 2 simulated pods
 * on 2 shared CPUs would measure the controllers, not ebpfctl. kwok still manages them (Ready, leases).
 * Run: npx tsx bench/cluster-check-scale.ts [nodes]   (needs `npm run build` and `test/e2e/cluster build`)
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {Agent, request} from 'node:https'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import pLimit from 'p-limit'

const ROOT = join(import.meta.dirname, '..')
const SCRIPT = join(ROOT, 'test', 'e2e', 'cluster')
const nodes = Number(process.argv[2] ?? 5000)
const RUNS = 5
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

if ((await execa(SCRIPT, ['bin'], {reject: false})).exitCode !== 0) {
  console.error('binaries not built: run test/e2e/cluster build first')
  process.exit(2)
}
const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-bench-scale-'))
try {
  await execa(SCRIPT, ['up', dir], {timeout: 300_000})
  const server = new URL(readFileSync(join(dir, 'server'), 'utf8').trim())
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 16,
    ca: readFileSync(join(dir, 'pki/ca.crt')),
    cert: readFileSync(join(dir, 'pki/controllers.crt')),
    key: readFileSync(join(dir, 'pki/controllers.key')),
  })
  const post = (body: object) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {host: '127.0.0.1', port: server.port, path: '/api/v1/nodes', method: 'POST', agent,
          headers: {'content-type': 'application/json'}},
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        },
      )
      req.on('error', reject)
      req.end(JSON.stringify(body))
    })
  const limit = pLimit(16)
  let t = performance.now()
  const codes = await Promise.all(
    Array.from({length: nodes}, (_, i) =>
      limit(() =>
        post({
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {name: `scale-${i}`, annotations: {'kwok.x-k8s.io/node': 'fake'}, labels: {type: 'kwok'}},
          status: {
            nodeInfo: {kernelVersion: i % 1000 === 7 ? '5.4.0-42-generic' : '6.8.0-45-generic',
              osImage: 'Ubuntu 24.04.1 LTS', operatingSystem: 'linux', architecture: 'amd64'},
          },
        }),
      ),
    ),
  )
  const bad = codes.filter((c) => c !== 201).length
  console.log(`created ${nodes - bad} nodes in ${((performance.now() - t) / 1000).toFixed(1)} s${bad ? ` (${bad} failed)` : ''}`)
  agent.destroy()

  const audit = join(dir, 'audit.log')
  const lines = () => readFileSync(audit, 'utf8').split('\n').filter(Boolean)
  const walls: number[] = []
  let requests = 0
  let exitCode: number | undefined
  for (let i = 0; i < RUNS; i++) {
    const before = lines().length
    t = performance.now()
    const r = await execa(process.execPath, [join(ROOT, 'bin/run.js'), 'check', '--kubeconfig', join(dir, 'kubeconfig')], {
      reject: false,
      env: {NO_COLOR: '1', KUBECONFIG: '/nonexistent'},
    })
    walls.push(performance.now() - t)
    exitCode = r.exitCode
    const mine = lines().slice(before).map((l) => JSON.parse(l))
    requests = mine.length
    if (i === 0) {
      const writes = mine.filter((e) => !['get', 'list', 'watch'].includes(e.verb)).length
      console.log(`first run: ${requests} requests (${writes} writes): ${mine.map((e) => `${e.verb} ${e.objectRef?.resource ?? e.requestURI}`).join(', ')}`)
    }
  }
  console.log(
    `check against ${nodes + 3} nodes on the real apiserver: median ${(median(walls) / 1000).toFixed(2)} s of ${RUNS} ` +
      `(exit ${exitCode}), ${requests} requests (targets <= 2 s, <= 20)`,
  )
} finally {
  await execa(SCRIPT, ['down', dir], {reject: false})
  rmSync(dir, {recursive: true, force: true})
}
