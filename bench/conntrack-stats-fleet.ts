/**
 * `ebpfctl conntrack stats --all-nodes --via ssh --source bpftool` over 32 rig nodes (real sshd, own bpffs each, a
 * pinned cali_v4_ct4 with 3,000 entries each) against the same command for one node, nodes from the fake API server.
 * Prints hyperfine medians and the ratio (target: 32 nodes <= 3x one node), and CPU per run: the CLI's (hyperfine)
 * and the rig's (sshd, shells, bpftool: the sshds' reaped-children times), which a loaded machine does not distort as
 * much as wall time. The rig's sshds run without a re-exec per connection (`sshd -r`, see test/support/node-rig), as
 * 32 machines' sshds would not share 2 CPUs. Run as root after `npm run build`:
 * npx tsx bench/conntrack-stats-fleet.ts [nodes] [entries]
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'

import {startFakeApiServer} from '../test/support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../test/support/fake-apiserver/scenarios.js'
import {encodeCtEntry} from '../test/support/map-encoders.js'
import {startRig} from '../test/support/node-rig/index.js'
import {ctEntries} from '../test/support/ct-entries.js'

const count = Number(process.argv[2] ?? 32)
const perNode = Number(process.argv[3] ?? 3000)
const names = Array.from({length: count}, (_, i) => `node-${String(i + 1).padStart(3, '0')}`)
const root = join(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-bench-'))
const entries = ctEntries(perNode).map((e) => {
  const b = encodeCtEntry(e)
  return {key: Buffer.from(b.key), value: Buffer.from(b.value)}
})
const ct = {name: 'cali_v4_ct4', type: 'lru_hash', keySize: 16, valueSize: 88, maxEntries: 65536, entries}

const rig = await startRig({nodes: names.map((name) => ({name, maps: [ct]}))})
const server = await startFakeApiServer()
try {
  seedKubeadmBase(server.store, {nodes: rig.nodes.map((n) => ({name: n.name, internalIP: n.address}))})
  seedOperatorInstall(server.store, {installation: 'bpf'})
  const kubeconfig = server.writeKubeconfig(dir)
  const ssh = [
    '--ssh-user', 'root', '--ssh-identity', rig.identityFile, '--ssh-known-hosts', rig.knownHostsPath,
    '--ssh-config', join(dir, 'none'),
    ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
  ].join(' ')
  const cmd = (which: string) =>
    `node ${root}/bin/run.js conntrack stats --kubeconfig ${kubeconfig} -o json --via ssh --source bpftool --concurrency 32 ${ssh} ${which}`
  const sanity = await execa('sh', ['-c', cmd('--all-nodes')], {reject: false, env: {NO_COLOR: '1'}})
  const report = JSON.parse(sanity.stdout) as {nodes: {node: string; stats?: {entries: number}}[]}
  console.log(`${report.nodes.length} nodes, ${report.nodes.filter((n) => n.stats?.entries === perNode).length} with all ${perNode} entries counted`)
  const json = join(dir, 'hyperfine.json')
  await execa(
    'hyperfine',
    ['-N', '-i', '--warmup', '1', '--runs', '6', '--export-json', json, '-n', 'one node', cmd(`--node ${names[0]}`), '-n', `${count} nodes`, cmd('--all-nodes')],
    {stdio: 'inherit', env: {...process.env, NO_COLOR: '1'}},
  )
  const results = (JSON.parse(readFileSync(json, 'utf8')) as {results: {median: number; user: number; system: number}[]}).results
  const [one, all] = results.map((r) => r.median)
  console.log(`\none node: median ${one!.toFixed(2)} s; ${count} nodes: median ${all!.toFixed(2)} s; ratio ${(all! / one!).toFixed(2)}x (target <= 3x)`)
  // Children's CPU (utime+stime of reaped children, fields 16-17 of /proc/PID/stat, in 1/100 s) of every node's sshd.
  const rigCpu = () =>
    rig.nodes.reduce((sum, n) => {
      const stat = readFileSync(`/proc/${n.pid}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return sum + (Number(f[13]) + Number(f[14])) / 100
    }, 0)
  // The nodes' CPU is a mean over a few runs: one run's figure moves by ±20% on a loaded machine.
  const rigRuns = 3
  for (const [i, which] of [`--node ${names[0]}`, '--all-nodes'].entries()) {
    const before = rigCpu()
    for (let run = 0; run < rigRuns; run++) {
      await execa('sh', ['-c', cmd(which)], {reject: false, env: {NO_COLOR: '1'}})
      await new Promise((r) => setTimeout(r, 500)) // sshd reaps its session children after the CLI disconnects
    }
    const cli = results[i]!.user + results[i]!.system
    const nodes = (rigCpu() - before) / rigRuns
    console.log(`${i === 0 ? 'one node' : `${count} nodes`}: CPU ${cli.toFixed(2)} s CLI (mean) + ${nodes.toFixed(2)} s nodes (mean of ${rigRuns})`)
  }
  console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
} finally {
  await server.close()
  await rig.stop()
}
