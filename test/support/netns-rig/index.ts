/**
 * A real-kernel data path for `ebpfctl verify`, made of network namespaces (iproute2 + nftables, root only), with the
 * fake API server as its control plane. Addresses are from 198.18.0.0/15 and exist only inside these namespaces.
 *
 *   client (this machine, 198.18.0.1) ── bridge in "lan" ── node-i (198.18.0.1i, eth0) ── pod-i (198.19.i.x, via pod0)
 *
 * Node i's pods are in 198.19.i.0/24 (its podCIDR), their gateway 198.19.i.254 on the node's pod0. A pod's address is
 * the control plane's: the fake gives 198.19.i.2; with a real cluster (kwok) it is what kwok chose from the node's
 * podCIDR, and the data path moves the pod namespace's address there.
 *
 * ClusterIPs are 198.19.255.x, NodePorts 30080+. The nodes' nftables follow the fake's FelixConfiguration (a
 * controller in the fake's loop, so the data path is programmed before a write's answer):
 * - kube-proxy: DNAT to a pod plus SNAT to the ingress node's address (the pod sees the node);
 * - BPF (bpfEnabled): DNAT without SNAT; the backend node marks the connection by the ingress node (DSCP set by the
 *   ingress node) and routes its replies back through that node, which un-DNATs (the pod sees the client);
 * - DSR (bpfExternalServiceMode: DSR): the ingress node rewrites statelessly (per-flow hash) and forwards; the backend
 *   node answers the client directly with the ingress node's address and NodePort as source (asymmetric path);
 * - broken: the NodePort is dropped on one node.
 * The fake's pod proxy reaches each pod's echo server over a unix socket; the CLI runs inside the client namespace and
 * reaches the API server through a unix-socket bridge (the namespace has its own loopback).
 *
 * The data path (createNetnsDataPath) is programmed from control-plane objects (dataPathState): the fake's store here
 * (createNetnsRig), or a real API server's (test/e2e/verify-real-cluster.test.ts), whose pod proxy reaches the pods
 * through an HTTP CONNECT proxy on a node (serveEgress), as konnectivity does.
 */
import {type ChildProcess, execFile, execFileSync, spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {type Server, createConnection, createServer} from 'node:net'
import {request} from 'node:http'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {FakeApiServer} from '../fake-apiserver/index.js'
import {seedKubeadmBase, seedManifestInstall} from '../fake-apiserver/scenarios.js'
import type {Store} from '../fake-apiserver/store.js'

const HERE = dirname(fileURLToPath(import.meta.url))
export const isRoot = process.getuid?.() === 0
export const CLIENT_ADDRESS = '198.18.0.1'
const POD_CIDR = '198.19.0.0/16'
const VERIFY_NS = 'ebpfctl-verify'

export type RigMode = 'kube-proxy' | 'bpf' | 'dsr'

export interface RigNode {
  name: string
  index: number
  ns: string
  podNs: string
  address: string
  podIp: string
  socket: string
}

/** What the data path serves, from the control plane's objects (see dataPathState). */
export interface DataPathState {
  mode: RigMode
  /** The verify Service with externalTrafficPolicy Cluster. */
  nodePort?: number
  clusterIP?: string
  /** Its ready endpoints (EndpointSlices). */
  backends: {ip: string; node: string}[]
  /** The Local Service, and its ready endpoints. */
  localNodePort?: number
  localBackends: {ip: string; node: string}[]
  /** ipBlock CIDRs of the verify namespace's NetworkPolicies; undefined: no policy. */
  policyCidrs?: string[]
}

export interface NetnsDataPath {
  dir: string
  client: string
  nodes: RigNode[]
  /** Programs every node (nftables, pod addresses) for this state; unchanged rules are not reloaded. */
  program(state: DataPathState): void
  /** The mode the data path runs now (the last programmed, or forced). */
  mode(): RigMode
  /** Force a mode regardless of the control plane (undefined: follow it). */
  forceMode(m: RigMode | undefined): void
  /** Drop the NodePort on this node (optionally only while BPF is on). */
  breakNode(name: string | undefined, opts?: {onlyWithBpf?: boolean}): void
  /**
   * DSR: packets this node sent straight to the client as replies of connections that came in through `via` (the
   * counter of its reply rewrite to via's address and NodePort).
   */
  dsrDirectReplies(node: string, via: string): number
  /** Makes 127.0.0.1:port inside the client namespace reach 127.0.0.1:port of the host (an API server there). */
  exposeApi(port: number): Promise<void>
  /**
   * An HTTP CONNECT proxy on a node (a konnectivity agent's place), listening on a unix socket for kube-apiserver's
   * egress selector: writes and returns the EgressSelectorConfiguration file. Only the rig's addresses are dialled.
   */
  serveEgress(viaNode?: string): Promise<string>
  /** The rig's own helper processes (pods' echo servers, the API bridge), e.g. to renice them in a bench. */
  helperPids(): number[]
  /** argv prefix that runs a command inside the client namespace. */
  inClient(argv: string[]): string[]
  /** The built CLI (bin/run.js) run inside the client namespace, with an empty HOME and no KUBECONFIG. */
  cliArgv(args: string[]): string[]
  cliEnv: NodeJS.ProcessEnv
  /** Runs the CLI inside the client namespace. */
  cli(args: string[], opts?: {timeoutMs?: number}): Promise<{code: number; stdout: string; stderr: string; ms: number}>
  close(): Promise<void>
}

export interface NetnsRig {
  dir: string
  client: string
  nodes: RigNode[]
  /** kubeconfig valid inside the client namespace. */
  kubeconfig: string
  /** The mode the data path runs now (from the fake's FelixConfiguration, or forced). */
  mode(): RigMode
  /** Force a mode regardless of the fake (undefined: follow the fake). */
  forceMode(m: RigMode | undefined): void
  /** Drop the NodePort on this node (optionally only while BPF is on). */
  breakNode(name: string | undefined, opts?: {onlyWithBpf?: boolean}): void
  /**
   * DSR: packets this node sent straight to the client as replies of connections that came in through `via` (the
   * counter of its reply rewrite to via's address and NodePort).
   */
  dsrDirectReplies(node: string, via: string): number
  /** The rig's own helper processes (pods' echo servers, the API bridge), e.g. to renice them in a bench. */
  helperPids(): number[]
  /** argv prefix that runs a command inside the client namespace. */
  inClient(argv: string[]): string[]
  /** The built CLI (bin/run.js) run inside the client namespace, with an empty HOME and no KUBECONFIG. */
  cliArgv(args: string[]): string[]
  cliEnv: NodeJS.ProcessEnv
  /** Runs the CLI inside the client namespace. */
  cli(args: string[], opts?: {timeoutMs?: number}): Promise<{code: number; stdout: string; stderr: string; ms: number}>
  close(): Promise<void>
}

function sh(argv: string[], input?: string): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), {input, stdio: ['pipe', 'pipe', 'pipe']}).toString()
  } catch (err) {
    throw new Error(`${argv.join(' ')}: ${String((err as {stderr?: Buffer}).stderr ?? err)}${input ? `\n${input}` : ''}`)
  }
}
const ipn = (ns: string, ...args: string[]) => sh(['ip', '-n', ns, ...args])
const inNs = (ns: string, ...argv: string[]) => sh(['ip', 'netns', 'exec', ns, ...argv])

function waitReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      if (out.includes('ready')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`rig helper exited (${code}) before it was ready`)))
  })
}

export async function createNetnsDataPath(opts: {nodes?: number; nodeNames?: string[]} = {}): Promise<NetnsDataPath> {
  const count = opts.nodeNames?.length ?? opts.nodes ?? 2
  if (count > 7) throw new Error('the rig encodes the ingress node in DSCP cs1..cs7: at most 7 nodes')
  const id = `ev${process.pid % 100000}${Math.floor(Math.random() * 100)}`
  const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-netns-'))
  const lan = `${id}-lan`
  const client = `${id}-client`
  const nodes: RigNode[] = Array.from({length: count}, (_, k) => ({
    name: opts.nodeNames?.[k] ?? `node-${k + 1}`,
    index: k + 1,
    ns: `${id}-n${k + 1}`,
    podNs: `${id}-p${k + 1}`,
    address: `198.18.0.${11 + k}`,
    podIp: `198.19.${k + 1}.2`,
    socket: join(dir, `pod-${k + 1}.sock`),
  }))
  const namespaces = [lan, client, ...nodes.flatMap((n) => [n.ns, n.podNs])]
  const children: ChildProcess[] = []
  const servers: Server[] = []
  const teardown = () => {
    for (const c of children) c.kill('SIGKILL')
    for (const s of servers) s.close()
    for (const ns of namespaces) {
      try {
        sh(['ip', 'netns', 'del', ns])
      } catch {
        // not created
      }
    }
    rmSync(dir, {recursive: true, force: true})
  }
  const helper = async (ns: string, script: string, args: string[]) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(HERE, script), ...args], {stdio: ['ignore', 'pipe', 'inherit']})
    children.push(child)
    await waitReady(child)
  }
  try {
    for (const ns of namespaces) {
      sh(['ip', 'netns', 'add', ns])
      ipn(ns, 'link', 'set', 'lo', 'up')
    }
    ipn(lan, 'link', 'add', 'br0', 'type', 'bridge')
    ipn(lan, 'link', 'set', 'br0', 'up')
    const plug = (port: string, ns: string, addr: string) => {
      ipn(lan, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
      ipn(lan, 'link', 'set', port, 'master', 'br0', 'up')
      ipn(ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0')
      ipn(ns, 'link', 'set', 'eth0', 'up')
    }
    plug('vc', client, CLIENT_ADDRESS)
    for (const n of nodes) {
      plug(`vn${n.index}`, n.ns, n.address)
      for (const k of ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.all.send_redirects=0'])
        inNs(n.ns, 'sysctl', '-qw', k)
      ipn(n.ns, 'link', 'add', 'pod0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.podNs)
      ipn(n.ns, 'addr', 'add', `${podGateway(n)}/24`, 'dev', 'pod0')
      ipn(n.ns, 'link', 'set', 'pod0', 'up')
      inNs(n.ns, 'sysctl', '-qw', 'net.ipv4.conf.eth0.rp_filter=0', 'net.ipv4.conf.pod0.rp_filter=0')
      ipn(n.podNs, 'link', 'set', 'eth0', 'up')
      setPodAddress(n, n.podIp)
      for (const o of nodes) {
        if (o === n) continue
        ipn(n.ns, 'route', 'add', `198.19.${o.index}.0/24`, 'via', o.address)
        // BPF mode: replies of a connection that came in through node o go back through it (fwmark = o's index).
        ipn(n.ns, 'rule', 'add', 'fwmark', String(o.index), 'table', String(100 + o.index))
        ipn(n.ns, 'route', 'add', 'default', 'via', o.address, 'table', String(100 + o.index))
      }
      await helper(n.podNs, 'echo-server.mjs', ['8080', n.socket, `pod-on-${n.name}`])
    }
  } catch (err) {
    teardown()
    throw err
  }

  mkdirSync(join(dir, 'home'))
  const cliEnv = {...process.env, NO_COLOR: '1', KUBECONFIG: '', HOME: join(dir, 'home')}
  let forced: RigMode | undefined
  let broken: {name: string; onlyWithBpf: boolean} | undefined
  let last: DataPathState = {mode: 'kube-proxy', backends: [], localBackends: []}
  const applied = new Map<string, string>()
  const modeNow = (): RigMode => forced ?? last.mode
  const program = (state: DataPathState) => {
    last = state
    const mode = modeNow()
    // The pods' addresses: the control plane's (one verify pod per node, spread by the Deployment).
    for (const n of nodes) {
      const ip = [...state.backends, ...state.localBackends].find((b) => b.node === n.name)?.ip
      if (ip && ip !== n.podIp) setPodAddress(n, ip)
    }
    const backends = state.backends.map((b) => b.ip)
    const cidrs = state.policyCidrs
    for (const n of nodes) {
      const isBroken = broken?.name === n.name && (!broken.onlyWithBpf || mode !== 'kube-proxy')
      const text = nodeRules(n, nodes, mode, {
        nodePort: state.nodePort,
        clusterIP: state.clusterIP,
        localNodePort: state.localNodePort,
        backends,
        hasLocalPod: state.localBackends.some((b) => b.node === n.name),
        broken: isBroken,
      })
      if (applied.get(n.ns) !== text) {
        sh(['ip', 'netns', 'exec', n.ns, 'nft', '-f', '-'], text)
        applied.set(n.ns, text)
      }
      const pol = cidrs
        ? `flush ruleset\ntable ip pol {\n chain input {\n  type filter hook input priority filter; policy accept;\n  tcp dport 8080 ip saddr != { ${cidrs.length ? cidrs.join(', ') : '0.0.0.0/32'} } drop\n }\n}\n`
        : 'flush ruleset\n'
      if (applied.get(n.podNs) !== pol) {
        sh(['ip', 'netns', 'exec', n.podNs, 'nft', '-f', '-'], pol)
        applied.set(n.podNs, pol)
      }
    }
  }

  return {
    dir,
    client,
    nodes,
    program,
    mode: modeNow,
    forceMode(m) {
      forced = m
      program(last)
    },
    breakNode(name, o = {}) {
      broken = name ? {name, onlyWithBpf: !!o.onlyWithBpf} : undefined
      program(last)
    },
    dsrDirectReplies(node, via) {
      const n = nodes.find((x) => x.name === node)!
      const v = nodes.find((x) => x.name === via)!
      const text = sh(['ip', 'netns', 'exec', n.ns, 'nft', 'list', 'chain', 'ip', 'rig', 'mangle_post'])
      const line = text.split('\n').find((l) => l.includes(`ip saddr set ${v.address} `))
      return Number(/counter packets (\d+)/.exec(line ?? '')?.[1] ?? 0)
    },
    async exposeApi(port) {
      // The API server on the host's loopback, reached from the client namespace through a unix socket.
      const apiSock = join(dir, `api-${port}.sock`)
      const bridge = createServer((c) => {
        const up = createConnection(port, '127.0.0.1')
        c.pipe(up).pipe(c)
        c.on('error', () => up.destroy())
        up.on('error', () => c.destroy())
      })
      servers.push(bridge)
      await new Promise<void>((r) => bridge.listen(apiSock, r))
      await helper(client, 'bridge.mjs', [String(port), apiSock])
    },
    async serveEgress(viaNode) {
      const n = nodes.find((x) => x.name === viaNode) ?? nodes[0]!
      const sock = join(dir, 'egress.sock')
      await helper(n.ns, 'connect-proxy.mjs', [sock])
      const file = join(dir, 'egress-selector.yaml')
      writeFileSync(
        file,
        'apiVersion: apiserver.k8s.io/v1beta1\nkind: EgressSelectorConfiguration\negressSelections:\n- name: cluster\n  connection:\n' +
          `    proxyProtocol: HTTPConnect\n    transport:\n      uds:\n        udsName: ${sock}\n`,
      )
      return file
    },
    helperPids: () => children.map((c) => c.pid).filter((p): p is number => p !== undefined),
    inClient: (argv) => ['ip', 'netns', 'exec', client, ...argv],
    cliArgv: (args) => ['ip', 'netns', 'exec', client, process.execPath, 'bin/run.js', ...args],
    cliEnv,
    cli(args, o = {}) {
      const t0 = Date.now()
      return new Promise((resolve) => {
        execFile('ip', ['netns', 'exec', client, process.execPath, 'bin/run.js', ...args], {env: cliEnv, timeout: o.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024}, (err, stdout, stderr) => {
          const code = err ? (typeof (err as {code?: unknown}).code === 'number' ? ((err as {code: number}).code) : -1) : 0
          resolve({code, stdout, stderr, ms: Date.now() - t0})
        })
      })
    },
    async close() {
      teardown()
    },
  }
}

const podGateway = (n: RigNode) => `198.19.${n.index}.254`

/** Moves the pod namespace to the control plane's address for it (inside the node's podCIDR 198.19.i.0/24). */
function setPodAddress(n: RigNode, ip: string): void {
  const m = /^198\.19\.(\d{1,3})\.(\d{1,3})$/.exec(ip)
  if (!m || Number(m[1]) !== n.index || Number(m[2]) < 1 || Number(m[2]) > 253)
    throw new Error(`pod address ${ip} on ${n.name} is not in its podCIDR 198.19.${n.index}.0/24 (gateway .254 excluded)`)
  ipn(n.podNs, 'addr', 'flush', 'dev', 'eth0')
  ipn(n.podNs, 'addr', 'add', `${ip}/24`, 'dev', 'eth0')
  ipn(n.podNs, 'route', 'replace', 'default', 'via', podGateway(n))
  n.podIp = ip
}

type Obj = {metadata: {name: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string}; spec?: any; endpoints?: any[]}

/**
 * The data path's state from control-plane objects, as Calico or kube-proxy reads them: FelixConfiguration default
 * (bpfEnabled, bpfExternalServiceMode), the verify namespace's Services, their EndpointSlices (ready endpoints with
 * their nodeName) and NetworkPolicies (ipBlock CIDRs).
 */
export function dataPathState(o: {felix?: Obj; services: Obj[]; slices: Obj[]; policies: Obj[]}): DataPathState {
  const fc = o.felix?.spec
  const mode: RigMode = fc?.bpfEnabled !== true ? 'kube-proxy' : String(fc.bpfExternalServiceMode ?? '').toLowerCase() === 'dsr' ? 'dsr' : 'bpf'
  const live = o.services.filter((s) => !s.metadata.deletionTimestamp)
  const cluster = live.find((s) => s.spec?.externalTrafficPolicy !== 'Local')
  const local = live.find((s) => s.spec?.externalTrafficPolicy === 'Local')
  const endpointsOf = (svc: Obj | undefined) =>
    svc
      ? o.slices
          .filter((sl) => sl.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name)
          .flatMap((sl) => sl.endpoints ?? [])
          .filter((e: any) => e?.conditions?.ready !== false && typeof e?.addresses?.[0] === 'string' && typeof e?.nodeName === 'string')
          .map((e: any) => ({ip: e.addresses[0] as string, node: e.nodeName as string}))
          .sort((a, b) => a.node.localeCompare(b.node) || a.ip.localeCompare(b.ip))
      : []
  const cidrs = o.policies.flatMap((p) => (p.spec?.ingress ?? []).flatMap((r: any) => (r.from ?? []).map((f: any) => f.ipBlock?.cidr).filter(Boolean)))
  return {
    mode,
    nodePort: cluster?.spec?.ports?.[0]?.nodePort,
    clusterIP: cluster?.spec?.clusterIP,
    backends: endpointsOf(cluster),
    localNodePort: local?.spec?.ports?.[0]?.nodePort,
    localBackends: endpointsOf(local),
    policyCidrs: o.policies.length ? cidrs : undefined,
  }
}

export async function createNetnsRig(server: FakeApiServer, opts: {nodes?: number} = {}): Promise<NetnsRig> {
  const dp = await createNetnsDataPath(opts)
  const {nodes} = dp
  try {
    await dp.exposeApi(Number(new URL(server.url).port))
  } catch (err) {
    await dp.close()
    throw err
  }

  // ---- the control plane: nodes with the namespaces' addresses, Calico (manifest), the verify pods' addresses ----
  seedKubeadmBase(server.store, {nodes: nodes.map((n) => ({name: n.name, internalIP: n.address}))})
  seedManifestInstall(server.store)
  const store = server.store as unknown as Store
  let nextClusterIP = 10
  let nextNodePort = 30080
  store.createHook = (rt, obj) => {
    if (rt.plural !== 'services') return
    obj.spec ??= {}
    if (!obj.spec.clusterIP) {
      obj.spec.clusterIP = `198.19.255.${nextClusterIP++}`
      obj.spec.clusterIPs = [obj.spec.clusterIP]
    }
    if (obj.spec.type === 'NodePort' || obj.spec.type === 'LoadBalancer')
      for (const p of obj.spec.ports ?? []) p.nodePort ??= nextNodePort++
  }
  store.podHook = (pod, {node}) => {
    if (pod.metadata.namespace !== VERIFY_NS || !node) return
    const n = nodes.find((x) => x.name === node.metadata.name)
    if (!n) return
    pod.status.podIP = n.podIp
    pod.status.podIPs = [{ip: n.podIp}]
  }
  server.setProxyHandler(async (req) => {
    const n = nodes.find((x) => x.name === req.node)
    if (!n) return {status: 503, body: `error trying to reach service: no route to pod ${req.pod}`}
    return proxyOverSocket(n.socket, `${req.path}${req.query.size ? `?${req.query}` : ''}`)
  })

  const felixType = () => store.typeByPlural('crd.projectcalico.org', 'felixconfigurations')!
  const reconcile = () => {
    const services = store.peekList(store.typeByPlural('', 'services')!, VERIFY_NS)
    const pods = store
      .peekList(store.typeByPlural('', 'pods')!, VERIFY_NS)
      .filter((p) => p.status?.podIP && !p.metadata.deletionTimestamp)
    // EndpointSlices, as the endpointslice controller keeps them.
    const sliceType = store.typeByPlural('discovery.k8s.io', 'endpointslices')!
    for (const svc of services) {
      const sel = svc.spec?.selector ?? {}
      const eps = pods
        .filter((p) => Object.entries(sel).every(([k, v]) => p.metadata.labels?.[k] === v))
        .map((p) => ({addresses: [p.status.podIP], conditions: {ready: true}, nodeName: p.spec.nodeName, targetRef: {kind: 'Pod', name: p.metadata.name, namespace: VERIFY_NS}}))
      const name = `${svc.metadata.name}-rig`
      const slice = {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {name, namespace: VERIFY_NS, labels: {'kubernetes.io/service-name': svc.metadata.name}},
        addressType: 'IPv4',
        endpoints: eps,
        ports: [{name: 'http', port: 8080, protocol: 'TCP'}],
      }
      const live = store.peek(sliceType, name, VERIFY_NS)
      if (!live || JSON.stringify(live.endpoints) !== JSON.stringify(eps)) store.put(slice)
    }
    dp.program(
      dataPathState({
        felix: store.peek(felixType(), 'default'),
        services,
        slices: store.peekList(sliceType, VERIFY_NS),
        policies: store.peekList(store.typeByPlural('networking.k8s.io', 'networkpolicies')!, VERIFY_NS),
      }),
    )
  }
  store.addController({
    name: 'netns-rig',
    watches: ['/pods', '/services', 'crd.projectcalico.org/felixconfigurations', 'networking.k8s.io/networkpolicies', '/namespaces'],
    run: reconcile,
  })

  return {
    dir: dp.dir,
    client: dp.client,
    nodes,
    kubeconfig: server.writeKubeconfig(join(dp.dir, 'kube')),
    mode: dp.mode,
    forceMode: dp.forceMode,
    breakNode: dp.breakNode,
    dsrDirectReplies: dp.dsrDirectReplies,
    helperPids: dp.helperPids,
    inClient: dp.inClient,
    cliArgv: dp.cliArgv,
    cliEnv: dp.cliEnv,
    cli: dp.cli,
    async close() {
      store.createHook = undefined
      store.podHook = undefined
      await dp.close()
    },
  }
}

function proxyOverSocket(socketPath: string, path: string): Promise<{status: number; body: string}> {
  return new Promise((resolve) => {
    const req = request({socketPath, path, method: 'GET', timeout: 5000}, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (err) => resolve({status: 503, body: `error trying to reach service: ${err.message}`}))
    req.end()
  })
}

/** One node's nftables for the mode (see the file comment). */
export function nodeRules(
  n: RigNode,
  nodes: RigNode[],
  mode: RigMode,
  s: {nodePort?: number; clusterIP?: string; localNodePort?: number; backends: string[]; hasLocalPod: boolean; broken: boolean},
): string {
  const raw: string[] = []
  const manglePre: string[] = []
  const natPre: string[] = []
  const natPost: string[] = []
  const manglePost: string[] = []
  const N = s.backends.length
  const hashTo = (chain: string[], match: string, offset: number, action: (ip: string, k: number) => string) => {
    if (!N) return
    chain.push(`${match} meta mark set jhash ip saddr . tcp sport mod ${N} seed 0x5eed offset ${offset}`)
    s.backends.forEach((ip, k) => chain.push(`meta mark ${offset + k} meta l4proto tcp meta mark set 0 ${action(ip, k)}`))
  }
  const np = s.nodePort
  if (np) {
    if (s.broken) raw.push(`ip daddr ${n.address} tcp dport ${np} drop`)
    const toMe = `ip daddr ${n.address} tcp dport ${np}`
    if (mode === 'dsr') {
      hashTo(raw, `iifname "eth0" ${toMe} ip saddr != ${POD_CIDR}`, 256, (ip) => {
        const remote = !ip.startsWith(`198.19.${n.index}.`)
        return `ip daddr set ${ip} tcp dport set 8080 ip dscp set cs${n.index}${remote ? ' notrack' : ''}`
      })
      hashTo(natPre, `${toMe} ip saddr ${POD_CIDR}`, 512, (ip) => `dnat to ${ip}:8080`)
      for (const o of nodes)
        manglePost.push(`ct direction reply ct mark ${o.index} ip saddr ${n.podIp} tcp sport 8080 counter ip saddr set ${o.address} tcp sport set ${np}`)
    } else {
      hashTo(natPre, toMe, 512, (ip) => `dnat to ${ip}:8080`)
    }
    if (mode === 'kube-proxy') natPost.push(`meta l4proto tcp ct status dnat ct original ip daddr ${n.address} ct original proto-dst ${np} snat to ${n.address}`)
    else natPost.push(`meta l4proto tcp ct status dnat ct original ip daddr ${n.address} ct original proto-dst ${np} ip saddr ${POD_CIDR} snat to ${n.address}`)
    if (mode === 'bpf') {
      manglePost.push(`oifname "eth0" meta l4proto tcp ct status dnat ct original proto-dst ${np} ip daddr ${POD_CIDR} ip dscp set cs${n.index}`)
      manglePre.push(`iifname "pod0" ct mark != 0 meta mark set ct mark`)
    }
    for (const o of nodes) manglePre.push(`iifname "eth0" ip dscp cs${o.index} ip daddr ${n.podIp} tcp dport 8080 ct state new ct mark set ${o.index}`)
  }
  if (s.clusterIP) {
    hashTo(natPre, `iifname "pod0" ip daddr ${s.clusterIP} tcp dport 80`, 768, (ip) => `dnat to ${ip}:8080`)
    natPost.push(`ct original ip daddr ${s.clusterIP} ip saddr ${n.podIp} ip daddr ${n.podIp} snat to ${podGateway(n)}`)
  }
  if (s.localNodePort) {
    if (s.hasLocalPod) natPre.push(`ip daddr ${n.address} tcp dport ${s.localNodePort} dnat to ${n.podIp}:8080`)
    else raw.push(`ip daddr ${n.address} tcp dport ${s.localNodePort} drop`)
  }
  const chain = (name: string, hook: string, prio: string, type: string, rules: string[]) =>
    ` chain ${name} {\n  type ${type} hook ${hook} priority ${prio}; policy accept;\n${rules.map((r) => `  ${r}\n`).join('')} }\n`
  return (
    'flush ruleset\ntable ip rig {\n' +
    chain('raw_pre', 'prerouting', 'raw', 'filter', raw) +
    chain('mangle_pre', 'prerouting', 'mangle', 'filter', manglePre) +
    chain('nat_pre', 'prerouting', 'dstnat', 'nat', natPre) +
    chain('nat_post', 'postrouting', 'srcnat', 'nat', natPost) +
    chain('mangle_post', 'postrouting', 'mangle', 'filter', manglePost) +
    '}\n'
  )
}
