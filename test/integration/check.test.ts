/**
 * `ebpfctl check` against the in-repo fake API server, run as a child process (the built CLI) so exit codes, stdout
 * and stderr are the real ones. Every run passes a generated kubeconfig and talks only to 127.0.0.1.
 */
import {mkdtempSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, afterEach, beforeAll, describe, expect, it, vi} from 'vitest'

import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {seedKubeadmBase, seedManifestInstall, seedOperatorInstall} from '../support/fake-apiserver/scenarios.js'

// Each case starts the CLI one to three times; on a busy 2-CPU box a start is several seconds.
vi.setConfig({testTimeout: 120_000, hookTimeout: 120_000})

const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'run.js')

interface Report {
  apiVersion: string
  kind: string
  target: {mode: string; server?: string; context?: string}
  calico: {installType: string; version: string | null; namespace: string | null; api: string | null; bpfEnabled: boolean | null} | null
  checks: {id: string; status: string; counts: Record<string, number>; findings: {status: string; summary: string; remedy?: string; ignored?: boolean}[]}[]
  nodes: {name: string; status: string; findings: {checkId: string; status: string; summary: string}[]}[]
  summary: {passed: number; warnings: number; failed: number; skipped: number}
}

let server: FakeApiServer
let dir: string

async function check(args: string[], kubeconfig = server.writeKubeconfig(dir)) {
  const r = await execa('node', [BIN, 'check', '--kubeconfig', kubeconfig, ...args], {reject: false, cwd: ROOT})
  return r
}
async function json(args: string[] = []): Promise<{report: Report; exitCode: number}> {
  const r = await check(['-o', 'json', ...args])
  if (!r.stdout.startsWith('{')) throw new Error(`not JSON (exit ${r.exitCode}): ${r.stdout}\n${r.stderr}`)
  return {report: JSON.parse(r.stdout) as Report, exitCode: r.exitCode ?? -1}
}
const checkOf = (r: Report, id: string) => r.checks.find((c) => c.id === id)!
const summaries = (r: Report, id: string) => checkOf(r, id).findings.map((f) => `${f.status} ${f.summary}`)

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ebpfctl-check-'))
})

async function fresh(seed: (s: FakeApiServer) => void) {
  server = await startFakeApiServer()
  seed(server)
  server.resetLog()
}

afterEach(async () => {
  await server?.close()
})

describe('operator install', () => {
  it('passes, reports the install, and makes no writes', async () => {
    await fresh((s) => {
      seedKubeadmBase(s.store, {nodes: 3})
      seedOperatorInstall(s.store)
    })
    const {report, exitCode} = await json()
    expect(exitCode).toBe(0)
    expect(report).toMatchObject({apiVersion: 'ebpfctl/v1', kind: 'CheckReport', target: {mode: 'cluster', server: server.url, context: 'fake'}})
    expect(report.calico).toMatchObject({installType: 'operator', version: 'v3.32.1', namespace: 'calico-system', api: 'crd.projectcalico.org/v1', bpfEnabled: false})
    expect(summaries(report, 'calico-install')[0]).toContain('pass operator install')
    expect(summaries(report, 'api-endpoint')[0]).toContain('enable would write 172.18.0.2:6443 into tigera-operator/kubernetes-services-endpoint')
    expect(report.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2', 'node-3'])
    expect(report.summary.failed).toBe(0)
    expect(server.writes()).toHaveLength(0)
  })

  it('fails ConfigMap plus bpfNetworkBootstrap together', async () => {
    await fresh((s) => {
      seedKubeadmBase(s.store, {nodes: 2})
      seedOperatorInstall(s.store, {calicoNetwork: {linuxDataplane: 'BPF', bpfNetworkBootstrap: 'Enabled'}})
      s.store.put({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'kubernetes-services-endpoint', namespace: 'tigera-operator'},
        data: {KUBERNETES_SERVICE_HOST: '172.18.0.2', KUBERNETES_SERVICE_PORT: '6443'}})
    })
    const {report, exitCode} = await json()
    expect(exitCode).toBe(1)
    const f = checkOf(report, 'api-endpoint').findings.find((x) => x.summary.includes('bpfNetworkBootstrap is Enabled'))!
    expect(f.status).toBe('fail')
    expect(f.remedy).toContain('kubectl delete configmap -n tigera-operator kubernetes-services-endpoint')
    // --ignore demotes it to a visible warning and the run passes.
    // (kube-proxy also fails here: BPF is on and kube-proxy still runs with cleanup enabled)
    const ignored = await json(['--ignore', 'api-endpoint,kube-proxy'])
    expect(ignored.exitCode).toBe(0)
    expect(checkOf(ignored.report, 'api-endpoint').findings.find((x) => x.summary.includes('bpfNetworkBootstrap'))).toMatchObject({status: 'warn', ignored: true})
  })
})

describe('manifest install', () => {
  it('detects it, warns on the IPIP default pool, fails with --strict', async () => {
    await fresh((s) => {
      seedKubeadmBase(s.store, {nodes: 3})
      seedManifestInstall(s.store)
    })
    const {report, exitCode} = await json()
    expect(report.calico).toMatchObject({installType: 'manifest', namespace: 'kube-system', version: 'v3.32.1'})
    expect(summaries(report, 'calico-install')[0]).toContain('manifest install (calico-node DaemonSet in kube-system)')
    expect(summaries(report, 'ip-pools')[0]).toMatch(/^warn IP pool default-ipv4-ippool \(192\.168\.0\.0\/16\): IPIP Always/)
    expect(exitCode).toBe(0)
    expect((await check(['--strict'])).exitCode).toBe(1)
    expect(server.writes()).toHaveLength(0)
  })

  it('JUnit: a testcase per finding, warnings as system-out', async () => {
    await fresh((s) => {
      seedKubeadmBase(s.store, {nodes: 2})
      seedManifestInstall(s.store)
    })
    const r = await check(['-o', 'junit'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('<testsuite name="ip-pools" tests="1" failures="0" errors="0" skipped="0">')
    expect(r.stdout).toContain('<system-out>WARNING: IP pool default-ipv4-ippool')
    expect(r.stdout).toContain('<testcase classname="ebpfctl.check.kernel" name="node-1: kernel 6.8.0-45-generic')
  })
})

describe('no Calico', () => {
  it('fails calico-install and skips the Calico-only checks', async () => {
    await fresh((s) => seedKubeadmBase(s.store, {nodes: 2}))
    const {report, exitCode} = await json()
    expect(exitCode).toBe(1)
    expect(report.calico).toMatchObject({installType: 'none', version: null})
    expect(checkOf(report, 'calico-install').status).toBe('fail')
    expect(checkOf(report, 'felix-config').status).toBe('skip')
    const table = await check([])
    expect(table.stdout).toContain('FAIL  Calico is not installed')
    expect(table.stdout).toContain('Remedy: Install Calico first')
  })
})

describe('EKS-like cluster with Amazon Linux 2 4.14 nodes', () => {
  it('fails kernel, platform and hybrid with remedies', async () => {
    await fresh((s) => {
      const eks = (name: string, al2: boolean) => ({
        name,
        controlPlane: false,
        kernelVersion: al2 ? '4.14.336-257.562.amzn2.x86_64' : '6.1.72-96.166.amzn2023.x86_64',
        osImage: al2 ? 'Amazon Linux 2' : 'Amazon Linux 2023.3.20240122',
        providerID: `aws:///eu-west-1a/i-${name}`,
        labels: {'eks.amazonaws.com/nodegroup': al2 ? 'ng-al2' : 'ng-al2023', 'eks.amazonaws.com/capacityType': 'ON_DEMAND'},
      })
      seedKubeadmBase(s.store, {nodes: [eks('ip-10-0-1-1', true), eks('ip-10-0-1-2', true), eks('ip-10-0-1-3', false)]})
      seedOperatorInstall(s.store)
    })
    const {report, exitCode} = await json()
    expect(exitCode).toBe(1)
    const kernel = report.nodes.find((n) => n.name === 'ip-10-0-1-1')!.findings.find((f) => f.checkId === 'kernel')!
    expect(kernel.status).toBe('fail')
    expect(kernel.summary).toContain('4.14.336-257 is below Felix')
    const platform = checkOf(report, 'platform').findings.find((f) => f.summary.includes('4.14'))!
    expect(platform.status).toBe('fail')
    expect(platform.remedy).toContain('Amazon Linux 2023 or Bottlerocket')
    expect(checkOf(report, 'hybrid').findings[0]!.summary).toContain('1 node would run BPF and 2 would fall back')
    const table = await check([])
    expect(table.stdout).toMatch(/FAIL {2}2 nodes +kernel 4\.14\.336-257\.562\.amzn2\.x86_64 \(Amazon Linux 2\)/)
    expect(table.stdout).toContain('platform: eks (3 nodes)')
  })
})

describe('kube-proxy in IPVS mode', () => {
  it('warns with the cleanup remedy', async () => {
    await fresh((s) => {
      seedKubeadmBase(s.store, {nodes: 2, kubeProxyMode: 'ipvs'})
      seedManifestInstall(s.store)
    })
    const {report} = await json()
    const ipvs = checkOf(report, 'kube-proxy').findings.find((f) => f.summary.includes('IPVS'))!
    expect(ipvs.status).toBe('warn')
    expect(ipvs.remedy).toContain('mode: iptables')
    expect(checkOf(report, 'kube-proxy').findings[0]!.summary).toContain('mode ipvs')
  })
})

describe('API errors are exit 2 with one line and a remedy', () => {
  it('unreachable server (closed port): connection refused', async () => {
    await fresh((s) => seedKubeadmBase(s.store, {nodes: 1}))
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as {port: number}).port
        srv.close(() => resolve(p))
      })
    })
    const kc = server.writeKubeconfig(join(dir, 'closed'), {server: `https://127.0.0.1:${port}`})
    const r = await check(['-o', 'json'], kc)
    expect(r.exitCode).toBe(2)
    expect(r.stdout).toBe('')
    const lines = r.stderr.trim().split('\n')
    expect(lines[0]).toBe(`Error: cannot reach the API server at https://127.0.0.1:${port}: connection refused`)
    expect(lines[1]).toMatch(/^ {2}Check the server address/)
    expect(lines).toHaveLength(2)
  })

  it('a server that never answers is bounded by --request-timeout', async () => {
    await fresh((s) => seedKubeadmBase(s.store, {nodes: 1}))
    server.onRequest(() => 'hang')
    const start = Date.now()
    const r = await check(['--request-timeout', '1s'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('no answer within 1s')
    expect(Date.now() - start).toBeLessThan(30_000) // start-up on a loaded CI box + 1 s
  })

  it('403 names the verb and the resource', async () => {
    await fresh((s) => {
      seedKubeadmBase(s.store, {nodes: 1})
      seedManifestInstall(s.store)
    })
    server.forbid({verb: 'list', resource: 'daemonsets'})
    const r = await check([])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Error: forbidden: the kubeconfig user cannot list daemonsets.apps')
    expect(r.stderr).toContain('kubectl auth can-i list daemonsets.apps')
  })

  it('401 with a wrong token', async () => {
    await fresh((s) => seedKubeadmBase(s.store, {nodes: 1}))
    const r = await check([], server.writeKubeconfig(join(dir, 'badtoken'), {token: 'wrong'}))
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('rejected the credentials (401 Unauthorized)')
  })

  it('unknown context and missing kubeconfig', async () => {
    await fresh((s) => seedKubeadmBase(s.store, {nodes: 1}))
    const r = await check(['--context', 'nope'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Error: context "nope" is not in the kubeconfig')
    expect(r.stderr).toContain('Use one of: fake.')
    const missing = await check([], join(dir, 'does-not-exist'))
    expect(missing.exitCode).toBe(2)
    expect(missing.stderr).toContain('does not exist')
  })
})

describe('--nodes --via exec (node probe through calico-node pods)', () => {
  it('judges each node from its own /proc/version, and reports nodes it cannot reach', async () => {
    await fresh((s) => {
      seedKubeadmBase(s.store, {nodes: 2})
      seedOperatorInstall(s.store)
    })
    const pods = server.store.list('v1', 'Pod', 'calico-system').filter((p: {metadata: {labels?: Record<string, string>}}) => p.metadata.labels?.['k8s-app'] === 'calico-node')
    const podNode = new Map<string, string>(pods.map((p: {metadata: {name: string}; spec: {nodeName: string}}) => [p.metadata.name, p.spec.nodeName]))
    let failNode2 = false
    // The probe's argv (sh -c <fixed script>) runs for real on this machine, standing in for each node.
    server.setExecHandler(async (req) => {
      if (failNode2 && podNode.get(req.pod) === 'node-2') return {stderr: 'container not found', exitCode: 126}
      const r = await execa(req.command[0]!, req.command.slice(1), {reject: false})
      return {stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? 1}
    })
    const {report, exitCode} = await json(['--nodes', 'all', '--via', 'exec'])
    const {stdout: unameRv} = await execa('uname', ['-rv'])
    for (const name of ['node-1', 'node-2']) {
      const n = report.nodes.find((x) => x.name === name)!
      const kernel = n.findings.find((f) => f.checkId === 'kernel')! as {summary: string; data?: {inferred?: boolean}}
      expect(kernel.summary).toContain(`uname -rv: ${unameRv.trim()}`)
      expect(kernel.data?.inferred).toBe(false)
      expect(n.findings.map((f) => f.checkId)).toEqual(expect.arrayContaining(['bpffs', 'cgroup2', 'btf', 'kernel-config']))
    }
    expect(checkOf(report, 'node-access').findings[0]!.summary).toBe('2 nodes probed')
    expect(exitCode).toBe(report.summary.failed > 0 ? 1 : 0)
    expect(server.writes()).toHaveLength(0)

    failNode2 = true
    const partial = await json(['--nodes', 'node-1,node-2', '--via', 'exec'])
    expect(partial.exitCode).toBe(1)
    const access = partial.report.nodes.find((x) => x.name === 'node-2')!.findings.find((f) => f.checkId === 'node-access')!
    expect(access.status).toBe('fail')
    const unknown = await check(['--nodes', 'node-9'])
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toContain('no node named "node-9" in the cluster')
  })
})

describe('--nodes with BPF enabled: what Felix logged on each node', () => {
  it('fails the node whose Felix fell back to iptables, passes the one running BPF', async () => {
    await fresh((s) => {
      seedKubeadmBase(s.store, {nodes: 2})
      seedOperatorInstall(s.store, {installation: 'bpf'})
    })
    const pods = server.store.list('v1', 'Pod', 'calico-system').filter((p: {metadata: {labels?: Record<string, string>}}) => p.metadata.labels?.['k8s-app'] === 'calico-node')
    const podNode = new Map<string, string>(pods.map((p: {metadata: {name: string}; spec: {nodeName: string}}) => [p.metadata.name, p.spec.nodeName]))
    server.setExecHandler(async (req) => {
      const r = await execa(req.command[0]!, req.command.slice(1), {reject: false})
      return {stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? 1}
    })
    // Felix's real log lines (calico-config.md §3.2, §4.3).
    server.setPodLogs((req) =>
      podNode.get(req.pod) === 'node-1'
        ? '2026-12-01 10:00:00.000 [ERROR][1] felix/daemon.go 1601: BPF dataplane mode enabled but not supported by the kernel.  Disabling BPF mode. error=kernel is too old (have: 4.15.0 but want at least: 5.3.0)\n'
        : '2026-12-01 10:00:00.000 [INFO][1] felix/int_dataplane.go 1082: BPF enabled, starting BPF endpoint manager and map manager.\n',
    )
    server.resetLog()
    const {report, exitCode} = await json(['--nodes', 'all', '--via', 'exec'])
    const felix = (node: string) => report.nodes.find((x) => x.name === node)!.findings.find((f) => f.checkId === 'felix-log')!
    expect(felix('node-1').status).toBe('fail')
    expect(felix('node-1').summary).toMatch(/fell back to iptables/)
    expect(felix('node-2').status).toBe('pass')
    expect(exitCode).toBe(1)
    expect(server.log.filter((l) => l.verb === 'logs')).toHaveLength(2)
    expect(server.writes()).toHaveLength(0)
  })
})

describe('scale: 5,000 nodes', () => {
  let big: FakeApiServer
  beforeAll(async () => {
    big = await startFakeApiServer()
    seedKubeadmBase(big.store, {nodes: 5000})
    seedOperatorInstall(big.store, {nodeCount: 5000})
  }, 120_000)
  afterAll(async () => {
    await big?.close()
  })
  it('uses at most 20 requests, makes no writes, and groups the table', async () => {
    big.resetLog()
    const kc = big.writeKubeconfig(join(dir, 'big'))
    const r = await execa('node', [BIN, 'check', '--kubeconfig', kc], {reject: false, cwd: ROOT})
    expect(r.exitCode).toBe(0)
    expect(big.log.length).toBeLessThanOrEqual(20)
    expect(big.writes()).toHaveLength(0)
    expect(r.stdout).toContain('PASS  5000 nodes  kernel 6.8.0-45-generic (Ubuntu 24.04.1 LTS)')
    expect(r.stdout.split('\n').length).toBeLessThan(80)
    const wide = await execa('node', [BIN, 'check', '--kubeconfig', kc, '-o', 'wide', '--only', 'kernel'], {reject: false, cwd: ROOT})
    expect(wide.stdout.split('\n').filter((l) => l.includes('kernel 6.8.0-45-generic')).length).toBe(5000)
  }, 60_000)
})
