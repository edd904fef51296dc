import {spawn} from 'node:child_process'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {CLIENT_ADDRESS, type NetnsRig, createNetnsRig, isRoot} from '../support/netns-rig/index.js'
import {simulateFelixLogs, touchedFields} from '../support/operator-sim.js'

const FAST = ['--poll-interval', '10ms', '--retry-delay', '10ms', '--timeout', '20s']

// Real kernel networking (network namespaces, veth, a bridge, nftables) under a fake control plane: see
// test/support/netns-rig. Needs root (and `npm run build`: the CLI runs from bin/run.js inside the client namespace).
describe.skipIf(!isRoot)('ebpfctl verify on a netns data path', () => {
  let server: FakeApiServer
  let rig: NetnsRig

  beforeAll(async () => {
    server = await startFakeApiServer()
    rig = await createNetnsRig(server, {nodes: 2})
  }, 180_000) // namespaces, veths, nftables and echo servers: a minute and more on a loaded machine
  afterAll(async () => {
    await rig?.close()
    await server?.close()
  })

  const setFelix = (spec: Record<string, unknown>) => {
    const fc = server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
    server.store.put({...fc, spec: {...fc.spec, ...spec}})
  }
  const verify = async (...args: string[]) => {
    const requests = args.includes('--requests') ? [] : ['--requests', '40']
    const r = await rig.cli(['verify', '--kubeconfig', rig.kubeconfig, ...requests, '--poll-interval', '100ms', '-o', 'json', ...args])
    const report = r.stdout ? JSON.parse(r.stdout) : undefined
    return {...r, report}
  }
  const probe = (report: any, id: string) => report.probes.find((p: any) => p.id === id)
  const nsGone = () => expect(server.store.get('v1', 'Namespace', 'ebpfctl-verify')).toBeUndefined()

  it('kube-proxy: NodePorts reachable, the pod sees the node address (SNAT, a warning), in-cluster paths work', async () => {
    const r = await verify()
    expect(r.stderr).not.toMatch(/Error/)
    expect(r.code).toBe(0)
    expect(r.report.dataplane.label).toBe('kube-proxy')
    expect(probe(r.report, 'nodeport').findings.map((f: any) => [f.node, f.status])).toEqual([['node-1', 'pass'], ['node-2', 'pass']])
    const src = probe(r.report, 'source-ip').findings
    expect(src.map((f: any) => f.status)).toEqual(['warn', 'warn'])
    expect(src[0].summary).toMatch(`the pod saw node address 198.18.0.11 (node-1), not this machine's ${CLIENT_ADDRESS}`)
    expect(probe(r.report, 'cluster-ip').status).toBe('pass')
    expect(probe(r.report, 'pod-nodeport').status).toBe('pass')
    expect(probe(r.report, 'latency').findings).toHaveLength(2)
    expect(r.report.latency[0]).toMatchObject({requests: 40, errors: 0})
    expect(r.report.latency[0].p50Ms).toBeGreaterThan(0)
    expect(r.report.run).toMatchObject({dataplane: 'kube-proxy', sourceIp: 'node-address'})
    nsGone()
  }, 120_000)

  it('BPF: the pod sees this machine (source IP preserved), cross-node replies go back through the ingress node', async () => {
    setFelix({bpfEnabled: true})
    expect(rig.mode()).toBe('bpf')
    const r = await verify()
    expect(r.code).toBe(0)
    expect(r.report.dataplane.label).toBe('BPF')
    expect(probe(r.report, 'source-ip').findings.map((f: any) => f.status)).toEqual(['pass', 'pass'])
    expect(probe(r.report, 'source-ip').findings[0].summary).toBe(`source IP preserved: the pod saw ${CLIENT_ADDRESS}, this machine's address`)
    expect(probe(r.report, 'cluster-ip').status).toBe('pass')
    expect(probe(r.report, 'pod-nodeport').status).toBe('pass')
    nsGone()
  }, 120_000)

  it('BPF+DSR: asymmetric replies still preserve the source; the stored runs print before → after', async () => {
    setFelix({bpfEnabled: true, bpfExternalServiceMode: 'DSR'})
    expect(rig.mode()).toBe('dsr')
    // --keep: the data path (and its counters) stays until the next run replaces the namespace.
    const r = await verify('--keep')
    expect(r.code).toBe(0)
    expect(r.report.dataplane).toMatchObject({label: 'BPF+DSR', externalServiceMode: 'DSR'})
    expect(probe(r.report, 'source-ip').status).toBe('pass')
    expect(probe(r.report, 'latency').findings[0].summary).toMatch(/over 40 new connections \(BPF\+DSR, external service mode DSR\)/)
    // Asymmetric: node-2 answered connections that came in through node-1 itself, as node-1's address and NodePort.
    expect(rig.dsrDirectReplies('node-2', 'node-1')).toBeGreaterThan(0)
    expect(rig.dsrDirectReplies('node-1', 'node-2')).toBeGreaterThan(0)
    expect(server.store.get('v1', 'Namespace', 'ebpfctl-verify')).toBeDefined()
    expect(r.report.beforeAfter).toMatch(
      /^NodePort p50 \d+\.\d\d ms \(kube-proxy\) → \d+\.\d\d ms \(BPF\) → \d+\.\d\d ms \(BPF\+DSR\); source IP: node address → client address$/,
    )
    const cm = server.store.get('v1', 'ConfigMap', 'ebpfctl-verify-results', 'kube-system')
    expect(JSON.parse(cm.data['history.json']).runs.map((x: any) => x.dataplane)).toEqual(['kube-proxy', 'BPF', 'BPF+DSR'])
    const table = await rig.cli(['verify', '--kubeconfig', rig.kubeconfig, '--requests', '5', '--no-save', '--poll-interval', '100ms'])
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/Before\/after: NodePort p50 .* \(kube-proxy\) → .* \(BPF\) → .* \(BPF\+DSR\); source IP: node address → client address/)
    expect(table.stdout).toMatch(/PASS {2}node-1 {2}source IP preserved/)
  }, 120_000)

  it('broken: a node that drops the NodePort fails nodeport and the pod → NodePort probe that crosses to it (exit 1), JUnit says so', async () => {
    setFelix({bpfEnabled: true, bpfExternalServiceMode: 'Tunnel'})
    rig.breakNode('node-2')
    try {
      const r = await verify('--probe-timeout', '500ms', '--nodeport-wait', '2s')
      expect(r.code).toBe(1)
      const np = probe(r.report, 'nodeport').findings
      expect(np.map((f: any) => [f.node, f.status])).toEqual([['node-1', 'pass'], ['node-2', 'fail']])
      expect(np[1].summary).toMatch(/198\.18\.0\.12:30\d+ did not answer within 2s: /)
      expect(r.stderr).toMatch(/NodePort 30\d+: no answer within 2s from node-2\n/)
      const pn = probe(r.report, 'pod-nodeport').findings
      expect(pn.find((f: any) => f.node === 'node-1').status).toBe('fail')
      expect(pn.find((f: any) => f.node === 'node-2').status).toBe('pass')
      expect(r.report.latency.map((l: any) => l.node)).toEqual(['node-1'])
      nsGone()
      const junit = await rig.cli(['verify', '--kubeconfig', rig.kubeconfig, '--requests', '0', '--no-save', '--probe-timeout', '500ms', '--nodeport-wait', '2s', '--poll-interval', '100ms', '-o', 'junit'])
      expect(junit.code).toBe(1)
      expect(junit.stdout).toMatch(/<testsuites name="ebpfctl verify"/)
      expect(junit.stdout).toMatch(/<testcase classname="ebpfctl.verify.nodeport" name="node-2: 198.18.0.12:30\d+ did not answer[^"]*">\n\s+<failure/)
      // -o yaml: the JSON document's shape, read back by a real YAML parser.
      nsGone()
      const yaml = await rig.cli(['verify', '--kubeconfig', rig.kubeconfig, '--requests', '0', '--no-save', '--probe-timeout', '500ms', '--nodeport-wait', '2s', '--poll-interval', '100ms', '-o', 'yaml'])
      expect(yaml.code, yaml.stderr).toBe(1)
      const doc = (await import('yaml')).parse(yaml.stdout)
      expect(probe(doc, 'nodeport').findings.map((f: any) => [f.node, f.status])).toEqual([['node-1', 'pass'], ['node-2', 'fail']])
    } finally {
      rig.breakNode(undefined)
    }
  }, 120_000)

  it('--policy: an ipBlock of this machine lets it in under BPF (pass) and not under kube-proxy (SNAT: warn)', async () => {
    setFelix({bpfEnabled: true})
    const bpf = await verify('--policy', '--requests', '0', '--no-save', '--probe-timeout', '500ms')
    expect(bpf.code).toBe(0)
    expect(probe(bpf.report, 'policy').findings[0]).toMatchObject({status: 'pass', summary: expect.stringMatching(/ipBlock 198\.18\.0\.1\/32 \(this machine\): blocked while .* allowed once/)})
    setFelix({bpfEnabled: false})
    const kp = await verify('--policy', '--requests', '0', '--no-save', '--probe-timeout', '500ms', '--timeout', '3s')
    expect(kp.code).toBe(0)
    expect(probe(kp.report, 'policy').findings[0]).toMatchObject({status: 'warn', summary: expect.stringMatching(/still blocked .* \(SNAT\)/)})
    nsGone()
  }, 120_000)

  it('--external-traffic-policy Local: the Local NodePort keeps the client address even under kube-proxy', async () => {
    setFelix({bpfEnabled: false})
    const r = await verify('--external-traffic-policy', 'Local', '--requests', '0', '--no-save')
    expect(r.code).toBe(0)
    expect(probe(r.report, 'local-nodeport').findings.map((f: any) => f.status)).toEqual(['pass', 'pass'])
    expect(probe(r.report, 'source-ip').status).toBe('warn')
  }, 120_000)

  it('Ctrl-C mid-run: the namespace is deleted and the exit status is 2', async () => {
    const child = spawn(rig.cliArgv(['verify', '--kubeconfig', rig.kubeconfig, '--requests', '1000000', '--no-save', '--poll-interval', '100ms'])[0]!, rig.cliArgv(['verify', '--kubeconfig', rig.kubeconfig, '--requests', '1000000', '--no-save', '--poll-interval', '100ms']).slice(1), {env: rig.cliEnv})
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (/latency node-1: \d+\/1000000/.test(stderr)) {
          clearInterval(t)
          resolve()
        }
      }, 50)
    })
    expect(server.store.get('v1', 'Namespace', 'ebpfctl-verify')).toBeDefined()
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(stderr).toMatch(/interrupted: cleaning up namespace ebpfctl-verify/)
    expect(stderr).toMatch(/deleted namespace ebpfctl-verify/)
    expect(code).toBe(2)
    nsGone()
  }, 120_000)

  it('refuses a namespace ebpfctl-verify it did not make (exit 2), and leaves it alone', async () => {
    server.store.put({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'ebpfctl-verify', labels: {team: 'someone'}}})
    try {
      const r = await verify('--requests', '0', '--no-save')
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/namespace ebpfctl-verify exists and is not ebpfctl verify's/)
      expect(server.store.get('v1', 'Namespace', 'ebpfctl-verify')).toBeDefined()
    } finally {
      server.store.delete('v1', 'Namespace', 'ebpfctl-verify')
    }
  }, 60_000)

  const resetFelix = () => {
    const fc = server.store.get('crd.projectcalico.org/v1', 'FelixConfiguration', 'default')
    const {bpfEnabled: _b, bpfExternalServiceMode: _m, ...rest} = fc.spec
    server.store.put({...fc, spec: rest})
  }

  it('enable --verify: the baseline passes, Services fail after the switch on one node → rolled back (exit 1), nothing left', async () => {
    resetFelix()
    simulateFelixLogs(server)
    rig.breakNode('node-2', {onlyWithBpf: true})
    try {
      const before = touchedFields(server.store, 'kube-system')
      const r = await rig.cli(['enable', '--kubeconfig', rig.kubeconfig, '--verify', '--verify-requests', '20', ...FAST])
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toMatch(/verify \(before\): kube-proxy: \d+ passed, 2 warnings, 0 failed/)
      expect(r.stderr).toMatch(
        /Error: step "Services work after the switch \(ebpfctl verify\)": Services fail after the switch: nodeport \(node-2\): 198\.18\.0\.12:\d+ did not answer.*rolled back: the cluster was restored/,
      )
      expect(touchedFields(server.store, 'kube-system')).toEqual(before)
      expect(rig.mode()).toBe('kube-proxy')
      expect(server.store.get('v1', 'ConfigMap', 'ebpfctl-state', 'kube-system')).toBeUndefined()
      nsGone()
    } finally {
      rig.breakNode(undefined)
    }
  }, 180_000)

  it('enable --verify and revert --verify on a healthy data path: exit 0, before → after printed', async () => {
    resetFelix()
    simulateFelixLogs(server)
    const e = await rig.cli(['enable', '--kubeconfig', rig.kubeconfig, '--verify', '--verify-requests', '20', ...FAST])
    expect(e.code, e.stderr).toBe(0)
    expect(rig.mode()).toBe('bpf')
    // The latest stages of the stored history (earlier tests ran too): … kube-proxy → BPF.
    expect(e.stdout).toMatch(/Verified: NodePort p50 .*\d ms \(kube-proxy\) → \d+\.\d\d ms \(BPF\); source IP: .*node address → client address\n/)
    const r = await rig.cli(['revert', '--kubeconfig', rig.kubeconfig, '--verify', '--verify-requests', '20', ...FAST])
    expect(r.code, r.stderr).toBe(0)
    expect(rig.mode()).toBe('kube-proxy')
    expect(r.stdout).toMatch(/Verified: NodePort p50 \d+\.\d\d ms \(kube-proxy\) → \d+\.\d\d ms \(BPF\) → \d+\.\d\d ms \(kube-proxy\); source IP: node address → client address → node address\n/)
    // -o json: the Services check is part of the one RevertResult document, not a text line after it.
    expect((await rig.cli(['enable', '--kubeconfig', rig.kubeconfig, ...FAST])).code).toBe(0)
    const j = await rig.cli(['revert', '--kubeconfig', rig.kubeconfig, '--verify', '--verify-requests', '20', '-o', 'json', ...FAST])
    expect(j.code, j.stderr).toBe(0)
    expect(JSON.parse(j.stdout)).toMatchObject({kind: 'RevertResult', outcome: 'done', verify: {passed: true, beforeAfter: expect.stringMatching(/\(kube-proxy\)$|node address$/)}})
    nsGone()
  }, 180_000)
})
