/**
 * `ebpfctl check --nodes all --via ssh`: cluster facts from the fake API server, node facts over real SSH from rig
 * nodes (own mount and PID namespaces, own bpffs, own /proc/version). The node probe corrects what the API alone infers.
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'
import {type Rig, startRig} from '../support/node-rig/index.js'

const root = join(import.meta.dirname, '..', '..')
const isRoot = process.getuid?.() === 0
// A Rocky 8 kernel: no `_N` in the release and no "Red Hat" in the compiler string, so Felix's distro rule says
// "default" and wants 5.3.0 — while the OS image alone suggests RHEL (minimum 4.18.0-193).
const ROCKY_PROC_VERSION =
  'Linux version 4.18.0-305.3.1.el8.x86_64 (mockbuild@dal1-prod-builder001.bld.equ.rockylinux.org) (gcc version 8.4.1 20200928 (GCC)) #1 SMP Thu Jun 3 19:40:12 UTC 2021\n'

interface Report {
  nodes: {name: string; findings: {checkId: string; status: string; summary: string; data?: Record<string, unknown>}[]}[]
  summary: {failed: number}
}

describe.runIf(isRoot)('check --nodes over SSH', () => {
  let rig: Rig
  let server: FakeApiServer
  let kubeconfig: string

  beforeAll(async () => {
    rig = await startRig({
      nodes: [
        {name: 'rocky-1', procVersion: ROCKY_PROC_VERSION},
        {name: 'plain-1', bpffs: false},
      ],
    })
    server = await startFakeApiServer()
    seedKubeadmBase(server.store, {
      nodes: [
        {name: 'rocky-1', kernelVersion: '4.18.0-305.3.1.el8.x86_64', osImage: 'Rocky Linux 8.4 (Green Obsidian)'},
        {name: 'plain-1', kernelVersion: '6.8.0-45-generic', osImage: 'Ubuntu 24.04.1 LTS'},
      ],
    })
    seedOperatorInstall(server.store)
    kubeconfig = server.writeKubeconfig(mkdtempSync(join(tmpdir(), 'ebpfctl-checkssh-')))
  }, 60_000)
  afterAll(async () => {
    await rig?.stop()
    await server?.close()
  })

  const check = (args: string[]) =>
    execa(
      'node',
      [
        join(root, 'bin/run.js'), 'check', '--kubeconfig', kubeconfig, '-o', 'json',
        '--ssh-user', 'root', '--ssh-identity', rig.identityFile, '--ssh-known-hosts', rig.knownHostsPath,
        '--ssh-config', join(rig.dir, 'none'),
        ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
        ...args,
      ],
      {reject: false, env: {NO_COLOR: '1'}},
    )
  const finding = (r: Report, node: string, id: string) => r.nodes.find((n) => n.name === node)!.findings.find((f) => f.checkId === id)!

  it('judges the kernel from the real /proc/version, and sees the bpffs of each node', async () => {
    const apiOnly = JSON.parse((await check([])).stdout) as Report
    expect(finding(apiOnly, 'rocky-1', 'kernel').status).not.toBe('fail')

    const r = await check(['--nodes', 'all', '--via', 'ssh'])
    expect(r.exitCode).toBe(1)
    const report = JSON.parse(r.stdout) as Report
    const kernel = finding(report, 'rocky-1', 'kernel')
    expect(kernel.status).toBe('fail')
    expect(kernel.summary).toMatch(/4\.18\.0-305/)
    expect(finding(report, 'rocky-1', 'bpffs').status).toBe('pass')
    expect(finding(report, 'plain-1', 'bpffs').status).toBe('warn')
    expect(finding(report, 'plain-1', 'kernel').status).not.toBe('fail')
    expect(server.writes()).toHaveLength(0)
  })

  it('refuses nodes whose host key is unknown, naming each with its fingerprint', async () => {
    const r = await execa(
      'node',
      [
        join(root, 'bin/run.js'), 'check', '--kubeconfig', kubeconfig, '-o', 'json', '--nodes', 'all', '--via', 'ssh',
        '--ssh-user', 'root', '--ssh-identity', rig.identityFile, '--ssh-known-hosts', join(rig.dir, 'empty-known-hosts'),
        '--ssh-config', join(rig.dir, 'none'),
        ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
      ],
      {reject: false, env: {NO_COLOR: '1'}},
    )
    expect(r.exitCode).toBe(1)
    // Per-node errors also go to stderr, one line each, with the reason.
    expect(r.stderr).toMatch(/^error rocky-1: .*known_hosts/m)
    expect(r.stderr).toMatch(/^error plain-1: .*known_hosts/m)
    const report = JSON.parse(r.stdout) as Report
    for (const node of ['rocky-1', 'plain-1']) {
      const access = finding(report, node, 'node-access')
      expect(access.status).toBe('fail')
      expect(access.summary).toMatch(new RegExp(`^${node} .*is not in known_hosts.*fingerprint is SHA256:\\S+`))
    }
  })

  it('--nodes a,b --via ssh works without a kubeconfig (only the named nodes, no cluster)', async () => {
    const r = await execa(
      'node',
      [
        join(root, 'bin/run.js'), 'check', '-o', 'json', '--nodes', 'rocky-1,plain-1', '--via', 'ssh',
        '--ssh-user', 'root', '--ssh-identity', rig.identityFile, '--ssh-known-hosts', rig.knownHostsPath,
        '--ssh-config', join(rig.dir, 'none'),
        ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
      ],
      {reject: false, env: {NO_COLOR: '1', KUBECONFIG: ''}},
    )
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(1)
    const report = JSON.parse(r.stdout) as Report & {target: {mode: string; nodes: string[]}}
    expect(report.target).toMatchObject({mode: 'nodes', nodes: ['rocky-1', 'plain-1']})
    expect(finding(report, 'rocky-1', 'kernel').status).toBe('fail')
    expect(finding(report, 'plain-1', 'bpffs').status).toBe('warn')
  })
})
