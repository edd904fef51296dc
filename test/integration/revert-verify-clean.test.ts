/**
 * `revert --verify-clean`: Calico BPF programs left attached after the switch back (projectcalico/calico#9620) are
 * found on the node with bpftool, named with their remedy, and the remedies work. Real programs: a tc program named
 * like Calico's preamble on both hooks of a veth, and a connect4 program named like Calico's connect-time balancer on
 * a cgroup, loaded with bpf(2) (load-named-prog.py) and attached with tc and bpftool; a foreign tc program next to them
 * must not be reported.
 */
import {mkdirSync, mkdtempSync, readFileSync, rmdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {findCalicoLeftovers} from '../../src/lib/dataplane/leftovers.js'
import {SshRunner} from '../../src/lib/nodes/ssh.js'
import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'
import {type Rig, startRig} from '../support/node-rig/index.js'

const root = join(import.meta.dirname, '..', '..')
const isRoot = process.getuid?.() === 0
const LOAD = join(root, 'test/support/node-rig/load-named-prog.py')
const cgroup2Mount = () =>
  readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[2] === 'cgroup2')?.[1]

describe.runIf(isRoot && cgroup2Mount())('revert --verify-clean on rig nodes with real programs attached', {timeout: 180_000}, () => {
  let rig: Rig
  let server: FakeApiServer
  let kubeconfig: string
  let runner: SshRunner
  // Host-wide names (the rig shares this host's network namespace and cgroup tree), unique per run.
  const tag = `e${process.pid.toString(36)}`
  const veth = `${tag}a`
  const cgroup = join(cgroup2Mount() ?? '/sys/fs/cgroup', `ebpfctl-${tag}`)

  const sh = async (argv: string[]) => {
    const r = await rig.runInNode('dirty', argv)
    if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`)
  }

  beforeAll(async () => {
    rig = await startRig({nodes: [{name: 'dirty'}]})
    server = await startFakeApiServer()
    seedKubeadmBase(server.store, {nodes: [{name: 'dirty', internalIP: rig.nodes[0]!.address}]})
    seedOperatorInstall(server.store)
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-verify-')))
    runner = new SshRunner(rig.sshOptions())
  }, 90_000)
  afterAll(async () => {
    await execa('ip', ['link', 'del', veth], {reject: false})
    try {
      rmdirSync(cgroup)
    } catch {
      // not created
    }
    await runner?.close()
    await rig?.stop()
    await server?.close()
  })

  const cli = (extra: string[] = []) =>
    execa(
      'node',
      [
        join(root, 'bin/run.js'), 'revert', '--verify-clean', '--kubeconfig', kubeconfig, '--via', 'ssh',
        '--ssh-user', 'root', '--ssh-identity', rig.identityFile, '--ssh-known-hosts', rig.knownHostsPath,
        '--ssh-config', join(rig.dir, 'none'),
        ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
        ...extra,
      ],
      {reject: false, env: {NO_COLOR: '1'}},
    )

  it('finds the tc and cgroup leftovers by program name, prints each remedy, exit 1; after the remedies the node is clean', async () => {
    const opts = {timeoutMs: 30_000, maxBytes: 32 << 20}
    const mine = (l: {where: string}) => l.where === veth || l.where === cgroup
    expect((await findCalicoLeftovers(runner, rig.target('dirty'), opts)).filter(mine)).toEqual([])

    await sh(['python3', LOAD, 'sched_cls', 'cali_tc_preamble', '/sys/fs/bpf/leftover_tc'])
    await sh(['python3', LOAD, 'sched_cls', 'other_team_prog', '/sys/fs/bpf/foreign_tc'])
    await sh(['python3', LOAD, 'connect4', 'calico_connect_v4', '/sys/fs/bpf/leftover_ctlb'])
    await sh(['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', `${tag}b`])
    await sh(['tc', 'qdisc', 'add', 'dev', veth, 'clsact'])
    for (const hook of ['ingress', 'egress']) {
      await sh(['tc', 'filter', 'add', 'dev', veth, hook, 'bpf', 'da', 'object-pinned', '/sys/fs/bpf/leftover_tc'])
    }
    await sh(['tc', 'filter', 'add', 'dev', veth, 'ingress', 'pref', '7', 'bpf', 'da', 'object-pinned', '/sys/fs/bpf/foreign_tc'])
    mkdirSync(cgroup)
    await sh(['bpftool', 'cgroup', 'attach', cgroup, 'connect4', 'pinned', '/sys/fs/bpf/leftover_ctlb'])

    // tcx (kernel 6.6+, how Calico attaches on new kernels): a BPF link on the peer's egress, pinned. Debian's bpftool
    // 7.1 lists no tcx in `net show`; the link is found all the same (its device named when bpftool is 7.3+).
    const tcxPin = `/sys/fs/bpf/leftover_tcx_${tag}`
    await sh(['python3', LOAD, 'tcx', 'cali_tcx_egress', tcxPin, `${tag}b`, 'egress'])
    const tcxMine = (l: {kind: string; name: string}) => l.kind === 'tcx' && l.name === 'cali_tcx_egress'

    const all = await findCalicoLeftovers(runner, rig.target('dirty'), opts)
    const found = all.filter(mine)
    expect(found.map((l) => [l.kind, l.where, l.hook, l.name])).toEqual([
      ['tc', veth, 'ingress', 'cali_tc_preambl'],
      ['tc', veth, 'egress', 'cali_tc_preambl'],
      ['cgroup', cgroup, expect.stringMatching(/^(cgroup_inet4_connect|connect4)$/), 'calico_connect_'],
    ])
    expect(found[2]!.remedy).toBe(`bpftool cgroup detach ${cgroup} connect4 id ${found[2]!.progId}`)
    const tcx = all.filter(tcxMine)
    expect(tcx).toHaveLength(1)
    expect(tcx[0]!.where).toMatch(new RegExp(`^(${tag}b|link \\d+ \\(device not shown by this bpftool; 7\\.3\\+ shows it\\))$`))
    expect(tcx[0]!.remedy).toMatch(new RegExp(`^bpftool link detach id \\d+ && rm ${tcxPin}$`))

    const r = await cli()
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toContain('Verify clean: 0/1 node(s) have no Calico BPF program attached.')
    expect(r.stdout).toContain(`tc ingress on ${veth}: cali_tc_preambl`)
    expect(r.stdout).toContain(`remove: tc filter del dev ${veth} ingress pref P (P: the pref of id ${found[0]!.progId} in \`tc filter show dev ${veth} ingress\`)`)
    expect(r.stdout).toContain('projectcalico/calico#9620')
    expect(r.stdout).not.toContain('other_team_prog')
    expect(r.stdout).toMatch(/tcx (egress|\(hook not shown\)) on .*: cali_tcx_egress \(id \d+\); remove: bpftool link detach id \d+ && rm /)

    // -o json / yaml: one document, the leftovers inside it (not text after it), nothing else on stdout.
    for (const format of ['json', 'yaml']) {
      const doc = await cli(['-o', format])
      expect(doc.exitCode, doc.stderr).toBe(1)
      const parsed = (format === 'json' ? JSON.parse(doc.stdout) : (await import('yaml')).parse(doc.stdout)) as {
        kind: string
        verifyClean: {clean: boolean; nodes: {node: string; leftovers: {kind: string; where: string; name: string; remedy: string}[]}[]}
      }
      expect(parsed.kind).toBe('RevertResult')
      expect(parsed.verifyClean.clean).toBe(false)
      const listed = parsed.verifyClean.nodes[0]!.leftovers.filter(mine)
      expect(listed.map((l) => [l.kind, l.where, l.name])).toEqual(found.map((l) => [l.kind, l.where, l.name]))
      expect(listed[2]!.remedy).toBe(found[2]!.remedy)
    }

    // The printed remedies remove exactly what was found (the foreign program stays).
    await sh(['tc', 'filter', 'del', 'dev', veth, 'egress'])
    await sh(['tc', 'filter', 'del', 'dev', veth, 'ingress', 'pref', '49152'])
    await sh(found[2]!.remedy.split(' '))
    for (const part of tcx[0]!.remedy.split(' && ')) await sh(part.split(' '))
    const after = await findCalicoLeftovers(runner, rig.target('dirty'), opts)
    expect(after.filter(mine)).toEqual([])
    expect(after.filter(tcxMine)).toEqual([])
  })
})
