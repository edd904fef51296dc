/**
 * `ebpfctl check --nodes all --via ssh` over 32 rig nodes (real sshd, own mount/PID namespace and bpffs each) against
 * the same check of a single node, cluster facts from the fake API server. Prints hyperfine medians and the ratio
 * (target: 32 nodes <= 3x one node). Run as root after `npm run build`: npx tsx bench/check-nodes-ssh.ts [nodes]
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'

import {startFakeApiServer} from '../test/support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../test/support/fake-apiserver/scenarios.js'
import {startRig} from '../test/support/node-rig/index.js'

const count = Number(process.argv[2] ?? 32)
const names = Array.from({length: count}, (_, i) => `node-${String(i + 1).padStart(3, '0')}`)
const root = join(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-bench-'))

const rig = await startRig({nodes: names.map((name) => ({name}))})
const server = await startFakeApiServer()
try {
  seedKubeadmBase(server.store, {nodes: names.map((name) => ({name}))})
  seedOperatorInstall(server.store)
  const kubeconfig = server.writeKubeconfig(dir)
  const ssh = [
    '--ssh-user', 'root', '--ssh-identity', rig.identityFile, '--ssh-known-hosts', rig.knownHostsPath,
    '--ssh-config', join(dir, 'none'),
    ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
  ].join(' ')
  const cmd = (nodes: string) => `node ${root}/bin/run.js check --kubeconfig ${kubeconfig} -o json --via ssh ${ssh} --nodes ${nodes}`
  // Sanity: every node probed, none unreachable.
  const probe = await execa('sh', ['-c', cmd('all')], {reject: false, env: {NO_COLOR: '1'}})
  const report = JSON.parse(probe.stdout) as {nodes: {name: string; findings: {checkId: string; status: string}[]}[]}
  const unreachable = report.nodes.filter((n) => n.findings.some((f) => f.checkId === 'node-access' && f.status === 'fail'))
  console.log(`${report.nodes.length} nodes in the report, ${unreachable.length} unreachable`)
  // Where the time goes: CPU used by every process on the machine (ebpfctl and the rig's sshds share these cores).
  const stat = () => readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number)
  const before = stat()
  const t0 = Date.now()
  await execa('sh', ['-c', cmd('all')], {reject: false, env: {NO_COLOR: '1'}})
  const wallMs = Date.now() - t0
  const after = stat()
  const delta = after.map((v, i) => v - before[i]!)
  const idle = delta[3]! + delta[4]!
  const busy = delta.reduce((a, b) => a + b, 0) - idle
  console.log(`one ${count}-node run: ${wallMs} ms wall, ${(busy / 100).toFixed(1)} CPU-seconds busy machine-wide (${(idle / 100).toFixed(1)} idle)`)
  const json = join(dir, 'hyperfine.json')
  await execa(
    'hyperfine',
    ['-N', '-i', '--warmup', '1', '--runs', '8', '--export-json', json, '-n', 'one node', cmd(names[0]!), '-n', `${count} nodes`, cmd('all')],
    {stdio: 'inherit', env: {...process.env, NO_COLOR: '1'}},
  )
  const results = (JSON.parse(readFileSync(json, 'utf8')) as {results: {command: string; median: number}[]}).results
  const [one, all] = results.map((r) => r.median)
  console.log(`\none node: median ${one!.toFixed(2)} s; ${count} nodes: median ${all!.toFixed(2)} s; ratio ${(all! / one!).toFixed(2)}x (target <= 3x)`)
} finally {
  await server.close()
  await rig.stop()
}
