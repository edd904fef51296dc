/**
 * `ebpfctl check` (the built CLI) against the REAL kube-apiserver of the e2e cluster with many kwok nodes (default
 * 5,000): wall time and the API requests it makes, counted from the apiserver's audit log (only ebpfctl uses the admin
 * user during the runs). Target (issue 9): <= 2 s, <= 20 requests, as against the fake.
 * The extra nodes have no kubernetes.io/os label, so no DaemonSet places pods on them: 5,000 nodes x 2 simulated pods
 * on 2 shared CPUs would measure the controllers, not ebpfctl. kwok still manages them (Ready, leases).
 * Run: npx tsx bench/cluster-check-scale.ts [nodes]   (needs `npm run build` and `test/e2e/cluster build`)
 * BENCH_KEEP=1 keeps the cluster; BENCH_DIR=<kept dir> measures again on it (no new cluster, nodes not created again).
 */
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {Agent, request} from 'node:https'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import pLimit from 'p-limit'

const ROOT = join(import.meta.dirname, '..')
const SCRIPT = join(ROOT, 'test', 'e2e', 'cluster')
const nodes = Number(process.argv[2] ?? 5000)
const RUNS = 5
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const REPORT_USAGE =
  'data:text/javascript,process.on("exit",()=>{const u=process.resourceUsage();' +
  'process.stderr.write(`ebpfctl-bench-usage maxrss=${u.maxRSS} cpu=${Math.round((u.userCPUTime+u.systemCPUTime)/1000)}\\n`)})'

if ((await execa(SCRIPT, ['bin'], {reject: false})).exitCode !== 0) {
  console.error('binaries not built: run test/e2e/cluster build first')
  process.exit(2)
}
const reuse = process.env.BENCH_DIR
const dir = reuse ?? mkdtempSync(join(tmpdir(), 'ebpfctl-bench-scale-'))
try {
  if (!reuse) await execa(SCRIPT, ['up', dir], {timeout: 300_000})
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
    Array.from({length: reuse ? 0 : nodes}, (_, i) =>
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
  if (!reuse) console.log(`created ${nodes - bad} nodes in ${((performance.now() - t) / 1000).toFixed(1)} s${bad ? ` (${bad} failed)` : ''}`)
  agent.destroy()

  const audit = join(dir, 'audit.log')
  const lines = () => readFileSync(audit, 'utf8').split('\n').filter(Boolean)
  const walls: number[] = []
  const rss: number[] = []
  const cpu: number[] = []
  const phases: string[] = []
  let requests = 0
  let exitCode: number | undefined
  let lastStdout = ''
  const load0 = loadavg()[0]!
  for (let i = 0; i < RUNS; i++) {
    const before = lines().length
    const startedAt = Date.now()
    t = performance.now()
    // Peak RSS and CPU time of the check process, reported by itself at exit (no external time(1) needed).
    const r = await execa(process.execPath, ['--import', REPORT_USAGE, join(ROOT, 'bin/run.js'), 'check', '--kubeconfig', join(dir, 'kubeconfig')], {
      reject: false,
      env: {NO_COLOR: '1', KUBECONFIG: '/nonexistent'},
    })
    walls.push(performance.now() - t)
    const endedAt = Date.now()
    const usage = r.stderr.match(/ebpfctl-bench-usage maxrss=(\d+) cpu=(\d+)/)
    if (usage) {
      rss.push(Number(usage[1]) / 1024)
      cpu.push(Number(usage[2]) / 1000)
    }
    exitCode = r.exitCode
    lastStdout = r.stdout
    const mine = lines().slice(before).map((l) => JSON.parse(l))
    requests = mine.length
    // From the audit log: process start → first request, the requests, last answer → exit.
    const first = Math.min(...mine.map((e) => Date.parse(e.requestReceivedTimestamp)))
    const last = Math.max(...mine.map((e) => Date.parse(e.stageTimestamp)))
    phases.push(`${((first - startedAt) / 1000).toFixed(2)} + ${((last - first) / 1000).toFixed(2)} + ${((endedAt - last) / 1000).toFixed(2)} s`)
    if (i === 0) {
      const writes = mine.filter((e) => !['get', 'list', 'watch'].includes(e.verb)).length
      console.log(`first run: ${requests} requests (${writes} writes): ${mine.map((e) => `${e.verb} ${e.objectRef?.resource ?? e.requestURI}`).join(', ')}`)
    }
  }
  const load1 = loadavg()[0]!
  console.log(
    `check against ${nodes + 3} nodes on the real apiserver: median ${(median(walls) / 1000).toFixed(2)} s of ${RUNS} ` +
      `(exit ${exitCode}), ${requests} requests (targets <= 2 s, <= 20); peak RSS median ${median(rss).toFixed(0)} MiB, ` +
      `CPU (user+sys) median ${median(cpu).toFixed(2)} s; load average ${load0.toFixed(1)} before, ${load1.toFixed(1)} after`,
  )
  console.log(`  per run, start → first request + requests + last answer → exit: ${phases.join('; ')}`)
  if (exitCode !== 0) console.log(`why the exit code: ${lastStdout.split('\n').filter((l) => /^\s+(FAIL|WARN)/.test(l)).join(' | ').slice(0, 600)}`)
  await profile(dir, walls)
} finally {
  if (process.env.BENCH_KEEP || reuse) console.log(`kept: ${dir} (test/e2e/cluster down ${dir})`)
  else {
    await execa(SCRIPT, ['down', dir], {reject: false})
    rmSync(dir, {recursive: true, force: true})
  }
}

/**
 * Where check's wall time goes: process start (--version), the node list alone (the same pages ebpfctl asks for, raw
 * HTTPS, no parsing), and one check under --cpu-prof: self time by file (ours vs dependencies vs Node).
 */
async function profile(dir: string, walls: number[]): Promise<void> {
  const starts: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    await execa(process.execPath, [join(ROOT, 'bin/run.js'), '--version'])
    starts.push(performance.now() - t0)
  }
  const server = new URL(readFileSync(join(dir, 'server'), 'utf8').trim())
  const agent = new Agent({
    keepAlive: true,
    ca: readFileSync(join(dir, 'pki/ca.crt')),
    cert: readFileSync(join(dir, 'pki/admin.crt')),
    key: readFileSync(join(dir, 'pki/admin.key')),
  })
  const get = (path: string) =>
    new Promise<{body: Buffer; ms: number}>((resolve, reject) => {
      const t0 = performance.now()
      const req = request({host: '127.0.0.1', port: server.port, path, agent, headers: {accept: 'application/json'}}, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({body: Buffer.concat(chunks), ms: performance.now() - t0}))
      })
      req.on('error', reject)
      req.end()
    })
  const listTimes: number[] = []
  const parseTimes: number[] = []
  let bytes = 0
  let pages = 0
  let managed = 0
  for (let i = 0; i < RUNS; i++) {
    let cont = ''
    let ms = 0
    let parse = 0
    bytes = 0
    pages = 0
    do {
      const r = await get(`/api/v1/nodes?limit=1000${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`)
      ms += r.ms
      bytes += r.body.length
      pages++
      const t0 = performance.now()
      const page = JSON.parse(r.body.toString('utf8'))
      parse += performance.now() - t0
      if (i === 0) managed += Buffer.byteLength(JSON.stringify(page.items.map((n: any) => n.metadata.managedFields ?? [])))
      cont = page.metadata?.continue ?? ''
    } while (cont)
    listTimes.push(ms)
    parseTimes.push(parse)
  }
  agent.destroy()
  const prof = mkdtempSync(join(tmpdir(), 'ebpfctl-bench-prof-'))
  try {
    await execa(process.execPath, ['--cpu-prof', '--cpu-prof-dir', prof, join(ROOT, 'bin/run.js'), 'check', '--kubeconfig', join(dir, 'kubeconfig')], {
      reject: false,
      env: {NO_COLOR: '1', KUBECONFIG: '/nonexistent'},
    })
    const file = readdirSync(prof).find((f) => f.endsWith('.cpuprofile'))!
    const p = JSON.parse(readFileSync(join(prof, file), 'utf8')) as {nodes: {id: number; callFrame: {url: string; functionName: string}; hitCount?: number}[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number}
    const perNode = new Map<number, number>()
    p.samples.forEach((id, i) => perNode.set(id, (perNode.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000))
    const byFile = new Map<string, number>()
    for (const n of p.nodes) {
      const ms = perNode.get(n.id) ?? 0
      const url = n.callFrame.url.replace(`file://${ROOT}/`, '') || `(${n.callFrame.functionName || 'native'})`
      byFile.set(url, (byFile.get(url) ?? 0) + ms)
    }
    const top = [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 8)
    console.log(
      `where the time goes: process start (--version) median ${median(starts).toFixed(0)} ms; node list alone ` +
        `(${pages} pages of 1000, ${(bytes / 1024 / 1024).toFixed(1)} MiB, of which managedFields ${(managed / 1024 / 1024).toFixed(1)} MiB) ` +
        `median ${median(listTimes).toFixed(0)} ms + JSON.parse ${median(parseTimes).toFixed(0)} ms; check median ${median(walls).toFixed(0)} ms`,
    )
    console.log(`check under --cpu-prof: ${((p.endTime - p.startTime) / 1000).toFixed(0)} ms profiled; self time by file:`)
    for (const [f, ms] of top) console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${f}`)
  } finally {
    rmSync(prof, {recursive: true, force: true})
  }
}
