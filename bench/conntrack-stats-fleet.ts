/**
 * `ebpfctl conntrack stats --all-nodes --via ssh --source bpftool` over 32 rig nodes (real sshd, own bpffs each, a
 * pinned cali_v4_ct4 with 3,000 entries each) against the same command for one node, nodes from the fake API server.
 * Runs both in alternating rounds (ROUNDS, default 6) and prints per round and as medians: wall time, the ratio
 * (target: 32 nodes <= 3x one node), and CPU per run: the CLI's and the rig's (sshd, shells, bpftool), both as reaped
 * children's times, which a loaded machine does not distort as much as wall time; and the load average. The rig's
 * sshds run without a re-exec per connection (`sshd -r`, see test/support/node-rig), as 32 machines' sshds would not
 * share 2 CPUs. Run as root after `npm run build`:
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
  // Children's CPU (utime+stime of reaped children, fields 14-17 of /proc/PID/stat after the comm, in 1/100 s): the
  // rig's from every node's sshd (sshd, shells, bpftool), the CLI's from this process (each run is its reaped child).
  const reapedCpu = (pid: number | 'self') => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[13]) + Number(f[14])) / 100
  }
  const rigCpu = () => rig.nodes.reduce((sum, n) => sum + reapedCpu(n.pid), 0)
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  const run = async (which: string) => {
    const argv = cmd(which).split(' ')
    const [rig0, cli0, t0] = [rigCpu(), reapedCpu('self'), performance.now()]
    await execa(argv[0]!, argv.slice(1), {reject: false, env: {NO_COLOR: '1'}})
    const wall = (performance.now() - t0) / 1000
    const cli = reapedCpu('self') - cli0
    await new Promise((r) => setTimeout(r, 500)) // sshd reaps its session children after the CLI disconnects
    return {wall, cli, nodes: rigCpu() - rig0}
  }
  // Alternating rounds (one node, then all), so a change in the machine's load falls on both alike.
  const rounds = Number(process.env.ROUNDS ?? 6)
  console.log(`load average before: ${load()}`)
  await run(`--node ${names[0]}`)
  await run('--all-nodes')
  const one: Awaited<ReturnType<typeof run>>[] = []
  const all: Awaited<ReturnType<typeof run>>[] = []
  const fmt = (r: Awaited<ReturnType<typeof run>>) =>
    `${r.wall.toFixed(2)} s wall, CPU ${r.cli.toFixed(2)} s CLI + ${r.nodes.toFixed(2)} s nodes`
  for (let i = 0; i < rounds; i++) {
    one.push(await run(`--node ${names[0]}`))
    all.push(await run('--all-nodes'))
    console.log(`round ${i + 1}: one node ${fmt(one.at(-1)!)}; ${count} nodes ${fmt(all.at(-1)!)}; load ${load()}`)
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b)
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
  }
  const med = (rs: typeof one) => ({
    wall: median(rs.map((r) => r.wall)),
    cli: median(rs.map((r) => r.cli)),
    nodes: median(rs.map((r) => r.nodes)),
  })
  const [m1, mAll] = [med(one), med(all)]
  const ratios = one.map((r, i) => all[i]!.wall / r.wall)
  console.log(`\nmedians of ${rounds} rounds: one node ${fmt(m1)}; ${count} nodes ${fmt(mAll)}`)
  console.log(`ratio ${(mAll.wall / m1.wall).toFixed(2)}x (per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}; target <= 3x)`)
  const perExtraNode = (a: number, b: number) => (((b - a) * 1000) / (count - 1)).toFixed(0)
  console.log(`CPU per extra node: ${perExtraNode(m1.cli, mAll.cli)} ms CLI + ${perExtraNode(m1.nodes, mAll.nodes)} ms nodes`)
  console.log(`load average after: ${load()}`)
} finally {
  await server.close()
  await rig.stop()
}
