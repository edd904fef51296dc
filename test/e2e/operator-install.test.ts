/**
 * ebpfctl (the built bin/run.js) against the real tigera-operator: for each release test/e2e/cluster can build
 * (test/e2e/operator-<release>), a real control plane with 3 kwok nodes where the operator, running out of cluster,
 * has reconciled Installation default into calico-system's workloads (`cluster up DIR --operator <release>`).
 * What is asserted is the operator's own reaction to what ebpfctl writes, read back with the real kubectl.
 * A release whose operator is not built is reported as skipped, with the reason its build recorded.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {userInfo} from 'node:os'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  CLUSTER_SCRIPT,
  type E2ECluster,
  OPERATOR_RELEASES,
  type OperatorRelease,
  ebpfctl,
  operatorSkipReason,
  startE2ECluster,
} from './support/cluster.js'

const FAST = ['--poll-interval', '200ms', '--timeout', '150s']
const BPF_ANNOTATION = 'operator.tigera.io/bpfEnabled'

/**
 * `kubectl get --watch` of one object, one line per event: its resourceVersion and the fields asked for. The
 * kube-apiserver's resourceVersions are etcd revisions, one counter for every object in this (single) etcd, so
 * they order events on different objects: that is how the tests show what the operator wrote after what.
 */
class Watch {
  readonly events: {rv: number; fields: string[]}[] = []
  private readonly child: ChildProcess
  private buffered = ''
  constructor(c: E2ECluster, args: string[], jsonpath: string) {
    this.child = spawn(
      CLUSTER_SCRIPT,
      ['kubectl', c.dir, 'get', ...args, '--watch', '-o', `jsonpath={.metadata.resourceVersion}|${jsonpath}{"\\n"}`],
      {env: {...process.env, HOME: userInfo().homedir}, stdio: ['ignore', 'pipe', 'ignore']},
    )
    this.child.stdout!.setEncoding('utf8')
    this.child.stdout!.on('data', (chunk: string) => {
      this.buffered += chunk
      const lines = this.buffered.split('\n')
      this.buffered = lines.pop()!
      for (const line of lines) {
        const [rv, ...fields] = line.split('|')
        if (rv) this.events.push({rv: Number(rv), fields})
      }
    })
  }

  stop(): void {
    this.child.kill('SIGTERM')
  }
}

const daemonSetFields =
  '{.metadata.generation}|{.status.observedGeneration}|{.status.currentNumberScheduled}|' +
  '{.status.updatedNumberScheduled}|{.status.numberAvailable}|' +
  '{.spec.template.spec.initContainers[?(@.name=="ebpf-bootstrap")].command[*]}'

/**
 * What the operator renders differently for BPF: calico-node's ebpf-bootstrap init container runs `calico-node
 * -init`, in best-effort mode (-best-effort) unless the dataplane is BPF. (The bpffs volume is always there.)
 */
const bpfTemplate = (command: string | undefined) => /-init/.test(command ?? '') && !/-best-effort/.test(command ?? '')
const bootstrapCommand = (ds: any): string =>
  (ds.spec.template.spec.initContainers ?? []).find((x: any) => x.name === 'ebpf-bootstrap')?.command?.join(' ') ?? ''
/** A watch event of calico-node whose BPF template is observed and rolled out: every pod updated and available. */
const rolledOutWithBpf = (f: string[]) =>
  f[0] === f[1] && f[2] === f[3] && f[2] === f[4] && Number(f[2]) > 0 && bpfTemplate(f[5])

function operatorSuite(release: OperatorRelease): void {
  describe(`e2e: real tigera-operator ${release} (operator install, 3 kwok nodes)`, () => {
    let c: E2ECluster
    beforeAll(async () => {
      c = await startE2ECluster({}, {operator: release})
    }, 360_000)
    afterAll(async () => {
      await c?.down()
    }, 60_000)

    const installation = () => c.kubectlJson(['get', 'installations.operator.tigera.io', 'default'])
    const felix = () => c.kubectlJson(['get', 'felixconfigurations.crd.projectcalico.org', 'default'])
    const kubeProxy = () => c.kubectlJson(['get', 'daemonset', 'kube-proxy', '-n', 'kube-system'])
    const calicoNode = () => c.kubectlJson(['get', 'daemonset', 'calico-node', '-n', 'calico-system'])
    const kubeProxyPods = async () =>
      (await c.kubectlJson(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-proxy'])).items as any[]

    it('the operator reconciled Installation default: calico-system workloads Ready on the kwok nodes, bpfEnabled: false owned by it', async () => {
      const inst = await installation()
      expect(inst.status.calicoVersion).toMatch(/^v3\.\d+\.\d+$/)
      expect(inst.status.computed.calicoNetwork.linuxDataplane).toBe('Iptables')
      const cn = await calicoNode()
      expect(bootstrapCommand(cn)).toBe('calico-node -init -best-effort')
      expect(cn.metadata.ownerReferences?.[0]?.kind).toBe('Installation')
      expect(cn.status.numberReady).toBe(3)
      const typha = await c.kubectlJson(['get', 'deployment', 'calico-typha', '-n', 'calico-system'])
      expect(typha.status.readyReplicas).toBeGreaterThan(0)
      const fc = await felix()
      // The operator, not ebpfctl or the harness, wrote bpfEnabled, with its ownership annotation.
      expect(fc.spec.bpfEnabled).toBe(false)
      expect(fc.metadata.annotations?.[BPF_ANNOTATION]).toBe('false')
      const ts = await c.kubectlJson(['get', 'tigerastatus', 'calico'])
      expect(ts.status.conditions.find((x: any) => x.type === 'Available')?.status).toBe('True')
    }, 120_000)

    it('check -o json: an operator install (calico-system, the operator and its release), no writes', async () => {
      const before = (await installation()).metadata.resourceVersion
      const r = await ebpfctl(['check', '-o', 'json'], c.kubeconfig)
      expect([0, 1], r.stderr).toContain(r.code)
      const report = JSON.parse(r.stdout)
      expect(report.calico.installType).toBe('operator')
      expect(report.calico.namespace).toBe('calico-system')
      expect(report.calico.operatorNamespace).toBe('tigera-operator')
      expect(report.calico.operatorVersion).toMatch(new RegExp(`^${release.replace('.', '\\.')}\\.\\d+$`))
      expect(report.calico.version).toBe((await installation()).status.calicoVersion)
      expect(report.calico.linuxDataplane).toBe('Iptables')
      expect(report.calico.bpfEnabled).toBe(false)
      expect(report.checks.find((x: any) => x.id === 'calico-health').status, r.stdout).toBe('pass')
      expect(report.checks.find((x: any) => x.id === 'calico-install').status, r.stdout).toBe('pass')
      expect((await installation()).metadata.resourceVersion).toBe(before)
    }, 120_000)

    it('enable --dsr: Installation BPF; the operator rolls calico-node out for BPF and sets bpfEnabled; kube-proxy off only after that rollout; DSR', async () => {
      const cnWatch = new Watch(c, ['daemonset', 'calico-node', '-n', 'calico-system'], daemonSetFields)
      const fcWatch = new Watch(
        c,
        ['felixconfigurations.crd.projectcalico.org', 'default'],
        `{.spec.bpfEnabled}|{.metadata.annotations.operator\\.tigera\\.io/bpfEnabled}`,
      )
      const kpWatch = new Watch(c, ['daemonset', 'kube-proxy', '-n', 'kube-system'], '{.spec.template.spec.nodeSelector}')
      let r
      try {
        r = await ebpfctl(['enable', '--dsr', ...FAST], c.kubeconfig, 240_000)
      } finally {
        cnWatch.stop()
        fcWatch.stop()
        kpWatch.stop()
      }
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)

      expect((await installation()).spec.calicoNetwork.linuxDataplane).toBe('BPF')
      const fc = await felix()
      expect(fc.spec.bpfEnabled).toBe(true)
      expect(fc.metadata.annotations?.[BPF_ANNOTATION]).toBe('true')
      expect(fc.spec.bpfExternalServiceMode).toBe('DSR')

      // The operator, not ebpfctl, set bpfEnabled: the first event with it true carries the operator's annotation.
      const bpfOn = fcWatch.events.find((e) => e.fields[0] === 'true')
      expect(bpfOn, JSON.stringify(fcWatch.events)).toBeDefined()
      expect(bpfOn!.fields[1]).toBe('true')
      // calico-node really rolled out for BPF (it did not start so), and ebpfctl took kube-proxy off only after that
      // rollout was complete. (The operator itself does not wait for it: its gate, isRolloutCompleteWithBPFVolumes,
      // looks for the bpffs volume, which v1.42/v1.43 always render, so bpfEnabled may come before the rollout.)
      const rolledOut = cnWatch.events.find((e) => rolledOutWithBpf(e.fields))
      expect(rolledOut, JSON.stringify(cnWatch.events)).toBeDefined()
      expect(cnWatch.events.some((e) => !bpfTemplate(e.fields[5]))).toBe(true)
      const kubeProxyOff = kpWatch.events.find((e) => (e.fields[0] ?? '').includes('non-calico'))
      expect(kubeProxyOff, JSON.stringify(kpWatch.events)).toBeDefined()
      expect(kubeProxyOff!.rv).toBeGreaterThan(rolledOut!.rv)

      const cn = await calicoNode()
      expect(bootstrapCommand(cn)).toBe('calico-node -init')
      const env = cn.spec.template.spec.containers.find((x: any) => x.name === 'calico-node').env as any[]
      // The operator rendered the API-server address ebpfctl put in its namespace's kubernetes-services-endpoint.
      expect(env.find((e) => e.name === 'KUBERNETES_SERVICE_HOST')?.value).toBe('192.0.2.10')
      const cm = await c.kubectlJson(['get', 'configmap', 'kubernetes-services-endpoint', '-n', 'tigera-operator'])
      expect(cm.data).toEqual({KUBERNETES_SERVICE_HOST: '192.0.2.10', KUBERNETES_SERVICE_PORT: '6443'})

      const kp = await kubeProxy()
      expect(kp.spec.template.spec.nodeSelector).toEqual({'kubernetes.io/os': 'linux', 'non-calico': 'true'})
      expect(kp.status.desiredNumberScheduled).toBe(0)
      expect(await kubeProxyPods()).toEqual([])
    }, 300_000)

    it('status -o json after enable: BPF on, as the operator install reports it', async () => {
      const r = await ebpfctl(['status', '-o', 'json'], c.kubeconfig)
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
      const s = JSON.parse(r.stdout)
      expect(JSON.stringify(s)).toMatch(/"kube-?[pP]roxy"/)
      expect(JSON.stringify(s)).toMatch(/bpf/i)
    }, 120_000)

    it('revert: Installation Iptables; the operator sets bpfEnabled false; DSR gone; kube-proxy back and Ready', async () => {
      const r = await ebpfctl(['revert', ...FAST], c.kubeconfig, 240_000)
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
      expect((await installation()).spec.calicoNetwork.linuxDataplane).toBe('Iptables')
      const fc = await felix()
      expect(fc.spec.bpfEnabled).toBe(false)
      expect(fc.metadata.annotations?.[BPF_ANNOTATION]).toBe('false')
      expect(fc.spec.bpfExternalServiceMode).toBeUndefined()
      const kp = await kubeProxy()
      expect(kp.spec.template.spec.nodeSelector).toEqual({'kubernetes.io/os': 'linux'})
      await c.kubectl(['rollout', 'status', '-n', 'kube-system', 'daemonset/kube-proxy', '--timeout=120s'])
      expect((await kubeProxyPods()).length).toBe(3)
      const gone: [string, string][] = [['tigera-operator', 'kubernetes-services-endpoint'], ['calico-system', 'ebpfctl-state']]
      for (const [ns, name] of gone) {
        const g = await c.kubectl(['get', 'configmap', name, '-n', ns], {reject: false})
        expect(g.stderr).toMatch(/NotFound/)
      }
      // The operator rolls calico-node back to its non-BPF template, and the cluster settles Ready.
      await c.kubectl(['rollout', 'status', '-n', 'calico-system', 'daemonset/calico-node', '--timeout=120s'])
      expect(bootstrapCommand(await calicoNode())).toBe('calico-node -init -best-effort')
      const st = await ebpfctl(['status'], c.kubeconfig)
      expect(st.code, `${st.stdout}\n${st.stderr}`).toBe(0)
    }, 300_000)
  })
}

for (const release of OPERATOR_RELEASES) {
  const skip = operatorSkipReason(release)
  if (skip) {
    describe(`e2e: real tigera-operator ${release}`, () => {
      it.skip(`skipped: ${skip}`, () => {})
    })
  } else {
    operatorSuite(release)
  }
}
