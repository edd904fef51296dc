/**
 * Peak RSS of the ebpfctl child on hostile inputs (target: <= 256 MiB each), measured with GNU time's %M. Nodes are
 * node-rig nodes (real sshd) with stand-in agents; local cases use EBPFCTL_HOST_ROOT trees; cluster cases the fake
 * API server. Run as root after `npm run build`: npx tsx bench/hostile-rss.ts
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'

import {startFakeApiServer} from '../test/support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../test/support/fake-apiserver/scenarios.js'
import {type HostileKernelConfig, hostileHostRoot, hostileNodeBin} from '../test/support/hostile.js'
import {startRig} from '../test/support/node-rig/index.js'

const root = join(import.meta.dirname, '..')
const BIN = join(root, 'bin', 'run.js')
const TARGET_KIB = 256 * 1024
const rows: {input: string; command: string; rssMiB: number; seconds: number; exit: number | undefined; bound: string}[] = []

async function measure(input: string, args: string[], env: Record<string, string>): Promise<void> {
  const start = Date.now()
  const r = await execa('/usr/bin/time', ['-f', 'maxrss-kib=%M', 'node', BIN, ...args], {
    reject: false,
    timeout: 600_000,
    env: {NO_COLOR: '1', KUBECONFIG: '', ...env},
    // Dumps: like `> /dev/null`, so the drain is never the bottleneck; check's findings name the bound on stdout.
    stdout: args[0] === 'check' ? 'pipe' : 'ignore',
  })
  const kib = Number(/maxrss-kib=(\d+)/.exec(r.stderr)?.[1])
  const bound = /output limit reached \([^)]*\)|timed out after \d+(\.\d)?s|larger than [\d.]+ \w+|unpacks to more than [\d.]+ \w+|is a FIFO|is a character device/.exec(`${r.stderr}\n${r.stdout ?? ''}`)?.[0] ?? ''
  rows.push({input, command: args.slice(0, 4).join(' '), rssMiB: Math.round(kib / 1024), seconds: (Date.now() - start) / 1000, exit: r.exitCode, bound})
}

const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-hostile-bench-'))
const rig = await startRig({nodes: [{name: 'n-endless', bin: hostileNodeBin('endless')}, {name: 'n-stall', bin: hostileNodeBin('stall')}]})
try {
  const ssh = [
    '--via', 'ssh', '--ssh-user', 'root', '--ssh-identity', rig.identityFile, '--ssh-known-hosts', rig.knownHostsPath,
    '--ssh-config', join(dir, 'none'), ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
    '--source', 'agent', '--agent-crictl',
  ]
  const env = {HOME: dir}
  await measure('endless agent output, streamed, default 1Gi bound', ['conntrack', 'dump', '--node', 'n-endless', '-o', 'json', ...ssh], env)
  await measure('endless agent output, streamed, table', ['conntrack', 'dump', '--node', 'n-endless', '--max-output-bytes', '256Mi', ...ssh], env)
  await measure('endless agent output, parsed whole (32 MiB)', ['nat', 'dump', '--node', 'n-endless', ...ssh], env)
  await measure('agent stalls mid-stream', ['conntrack', 'dump', '--node', 'n-stall', '--node-timeout', '5s', '-o', 'json', ...ssh], env)

  for (const kind of ['sparse-3g', 'fifo', 'dev-zero', 'gzip-bomb'] as HostileKernelConfig[]) {
    const host = hostileHostRoot(kind)
    await measure(`local kernel config: ${kind}`, ['check', '--local'], {EBPFCTL_HOST_ROOT: host})
    rmSync(host, {recursive: true, force: true})
  }

  const server = await startFakeApiServer()
  try {
    const huge = `6.8.0${'\u001B[2J'.repeat(1)}${'x'.repeat(1024 * 1024)}`
    seedKubeadmBase(server.store, {nodes: [{name: 'node-1', kernelVersion: huge, osImage: huge}, {name: 'node-2'}]})
    seedOperatorInstall(server.store)
    await measure('1 MiB escape-laden node strings', ['check', '-o', 'wide', '--kubeconfig', server.writeKubeconfig(dir)], env)
  } finally {
    await server.close()
  }
} finally {
  await rig.stop()
}

console.log('input'.padEnd(52), 'command'.padEnd(36), 'peak RSS', 'time', 'exit', 'bound hit')
for (const r of rows) {
  const ok = r.rssMiB * 1024 <= TARGET_KIB ? ' ' : '!'
  console.log(r.input.padEnd(52), r.command.padEnd(36), `${String(r.rssMiB).padStart(4)} MiB${ok}`, `${r.seconds.toFixed(1).padStart(5)}s`, String(r.exit).padStart(4), r.bound)
}
const worst = Math.max(...rows.map((r) => r.rssMiB))
console.log(`\nworst peak RSS: ${worst} MiB (target <= 256 MiB): ${worst * 1024 <= TARGET_KIB ? 'met' : 'NOT met'}`)
