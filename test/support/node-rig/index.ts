/**
 * The node rig: N fake "nodes" on this machine, each a real OpenSSH sshd listening on its own loopback address
 * (127.0.0.2, .3, …) inside its own mount and pid namespace (`unshare -m -p -f --propagation private --mount-proc`),
 * with its own bpffs at /sys/fs/bpf (or a plain tmpfs directory there), an optional per-node /proc/version, and pinned
 * BPF maps under /sys/fs/bpf/tc/globals created with bpftool. Needs root (CAP_SYS_ADMIN + CAP_BPF).
 *
 *   const rig = await startRig({nodes: [{name: 'node-1', maps: [...]}, {name: 'node-2', bpffs: false}]})
 *   const runner = new SshRunner(rig.sshOptions())
 *   await runner.run(rig.target('node-1'), ['uname', '-r'], {timeoutMs: 5000})
 *   await rig.stop()
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'

import {shellJoin, shellQuote} from '../../../src/lib/nodes/quote.js'
import type {SshRunnerOptions} from '../../../src/lib/nodes/ssh.js'
import type {NodeTarget, RunResult} from '../../../src/lib/nodes/types.js'

export type RigMapType =
  'hash' | 'lru_hash' | 'array' | 'percpu_hash' | 'percpu_array' | 'lru_percpu_hash' | 'lpm_trie' | (string & {})

export interface RigMapEntry {
  key: Buffer
  value: Buffer
}

export interface RigMap {
  /** Pin name under /sys/fs/bpf/tc/globals; the kernel map name is its first 15 characters. */
  name: string
  type: RigMapType
  keySize: number
  valueSize: number
  maxEntries: number
  /** map_flags, e.g. 1 = BPF_F_NO_PREALLOC (required by lpm_trie). */
  flags?: number
  entries?: RigMapEntry[]
  /** A bpftool batch file (lines like `map update pinned <path> key hex … value hex …`) run after creation. */
  batchFile?: string
}

export interface RigNodeSpec {
  name: string
  /** Mount a fresh bpffs at /sys/fs/bpf (default true); false mounts a tmpfs there so it is a plain directory. */
  bpffs?: boolean
  /** Contents bind-mounted over /proc/version in the node's namespace. */
  procVersion?: string
  maps?: RigMap[]
  /** sshd's MaxSessions on this node (OpenSSH's default is 10). */
  maxSessions?: number
  /**
   * Names of this node's maps that a loaded BPF program uses, as Calico's programs use the live maps (a stale older
   * version is used by none): `bpftool prog show` then lists their ids in `map_ids`. See load-prog.py.
   */
  programUsesMaps?: string[]
  /**
   * Executables (name → script text) mounted as the node's /usr/local/bin, e.g. stand-ins for `crictl` and
   * `calico-node` that replay recorded real outputs.
   */
  bin?: Record<string, string>
  /**
   * Node-local login users besides root (own /etc/passwd, /etc/group, /etc/shadow and /etc/sudoers bind-mounted in
   * the node's namespace; the host's are untouched). `sudo`: the commands this user may run as root without a
   * password (absolute paths, or 'ALL'); needs Debian's sudo.
   */
  users?: {name: string; sudo?: string[]}[]
}

export interface RigOptions {
  nodes: RigNodeSpec[]
  /**
   * Port for every sshd. Default 'auto': each node gets its own free port (so several rigs can run at once); use
   * rig.sshOptions() / hostOverrides to dial them. A number (e.g. 22) makes every node listen on that port on its own
   * address, so a runner with the default port and InternalIP addresses reaches them; addresses in use are skipped.
   */
  port?: number | 'auto'
  /** Log each sshd's stderr (sshd -e) to this process's stderr. */
  verbose?: boolean
}

export interface RigNode {
  name: string
  /** 127.0.0.x */
  address: string
  port: number
  /** OpenSSH style: SHA256:base64-without-padding of the host key blob. */
  hostKeyFingerprint: string
  /** `ssh-ed25519 AAAA…` */
  hostPublicKey: string
  /** Host PID of the node's PID 1 (sshd), for nsenter -t. */
  pid: number
}

export interface Rig {
  nodes: RigNode[]
  /** known_hosts listing `[127.0.0.x]:port ssh-ed25519 …` (bare `127.0.0.x` on port 22) for every node. */
  knownHostsPath: string
  /** Private key (ed25519, no passphrase) authorised for root on every node. */
  identityFile: string
  user: 'root'
  /** An ssh_config with `Host <node name>` → HostName/Port/User/IdentityFile/UserKnownHostsFile per node. */
  sshConfigPath?: string
  /** The temp directory holding all of the above; removed by stop(). */
  dir: string
  /** Runs argv in the node's mount and pid namespaces (nsenter), as root, without a shell; never rejects on exit. */
  runInNode(name: string, argv: string[], opts?: {timeoutMs?: number; input?: string}): Promise<RunResult>
  /** Runs `bpftool batch file` in the node: batch text, or entries (as `map update pinned … key hex …` lines). */
  fillMap(node: string, mapName: string, data: string | RigMapEntry[]): Promise<void>
  /** A NodeTarget for the node whose InternalIP is its rig address. */
  target(name: string): NodeTarget
  targets(): NodeTarget[]
  /** Node name → `127.0.0.x:port`, for SshRunnerOptions.hostOverrides. */
  hostOverrides(): Map<string, string>
  /** SshRunnerOptions that reach every rig node with host-key checking on (explicit paths only, never ~/.ssh). */
  sshOptions(extra?: Partial<SshRunnerOptions>): SshRunnerOptions
  /** Kills every process the rig started, removes its temp dir. Idempotent. */
  stop(): Promise<void>
}

export const PIN_DIR = '/sys/fs/bpf/tc/globals'
const LOAD_PROG_SCRIPT = join(import.meta.dirname, 'load-prog.py')

/** bpftool batch text that updates mapName with entries (hex bytes). */
export function batchText(mapName: string, entries: RigMapEntry[]): string {
  const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ')
  return entries
    .map((e) => `map update pinned ${PIN_DIR}/${mapName} key hex ${hex(e.key)} value hex ${hex(e.value)}\n`)
    .join('')
}

/** SHA256:… fingerprint of an OpenSSH public key line. */
export function fingerprintOfPublicKey(line: string): string {
  const blob = Buffer.from(line.trim().split(/\s+/)[1] ?? '', 'base64')
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

// ---- process bookkeeping: every process any rig started, killed on exit as a safety net ----

const livePids = new Set<number>()
const liveDirs = new Set<string>()
let exitHookInstalled = false

function killAll(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  livePids.clear()
  for (const dir of liveDirs) rmSync(dir, {recursive: true, force: true})
  liveDirs.clear()
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', killAll)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll()
      // Only act as the default would when nobody else listens for this signal.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal)
        process.kill(process.pid, sig)
      }
    }
    process.on(sig, onSignal)
  }
}

function childrenOf(ppid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // pid (comm) state ppid …; comm may contain spaces and parens, so split after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(rest[1]) === ppid) out.push(Number(entry))
    } catch {
      // exited while scanning
    }
  }
  return out
}

/** True while pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

function loopback(n: number): string {
  // 127.0.0.2 … 127.0.0.254, then 127.0.1.1 …
  return `127.0.${Math.floor(n / 254)}.${(n % 254) + 1}`
}

async function keygen(path: string, comment: string): Promise<string> {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path])
  return (await readFile(`${path}.pub`, 'utf8')).trim()
}

function sshdConfig(dir: string, address: string, port: number, authorizedKeys: string, spec: RigNodeSpec): string {
  return [
    ...(spec.maxSessions === undefined ? [] : [`MaxSessions ${spec.maxSessions}`]),
    `ListenAddress ${address}:${port}`,
    `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
    'PidFile none',
    `AuthorizedKeysFile ${authorizedKeys}/%u`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'AcceptEnv LANG LC_*',
    'LogLevel INFO',
    '',
  ].join('\n')
}

/** /etc/passwd, group, shadow (the host's, plus the users) and sudoers for a node with its own users. */
async function writeUserFiles(dir: string, users: NonNullable<RigNodeSpec['users']>): Promise<void> {
  const etc = join(dir, 'etc')
  await mkdir(etc)
  const host = (f: string) => readFileSync(`/etc/${f}`, 'utf8').replace(/\n?$/, '\n')
  const ids = users.map((_, i) => 61000 + i)
  await writeFile(
    join(etc, 'passwd'),
    host('passwd') + users.map((u, i) => `${u.name}:x:${ids[i]}:${ids[i]}::/home/${u.name}:/bin/sh\n`).join(''),
  )
  await writeFile(join(etc, 'group'), host('group') + users.map((u, i) => `${u.name}:x:${ids[i]}:\n`).join(''))
  // `*`: no password (key logins only), and not `!`, which sshd treats as a locked account.
  await writeFile(join(etc, 'shadow'), host('shadow') + users.map((u) => `${u.name}:*:20000:0:99999:7:::\n`).join(''), {
    mode: 0o640,
  })
  const rules = users
    .filter((u) => u.sudo?.length)
    .map((u) => `${u.name} ALL=(root) NOPASSWD: ${u.sudo!.join(', ')}\n`)
  await writeFile(join(etc, 'sudoers'), `Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n${rules.join('')}`, {mode: 0o440})
}

let sshdFlags: Promise<string[]> | undefined

/**
 * `-r` when this sshd takes it (OpenSSH before 9.8 has it; `sshd -r -V` then prints the version and exits 0): no
 * re-exec of sshd for each connection. A real node pays that exec on its own CPU; here 32 "nodes" share this machine's,
 * and it is about 40% of a connection's CPU on the rig (≈30 of ≈70 ms measured), which would otherwise dominate
 * fleet benchmarks (bench/conntrack-stats-fleet.ts). Nothing the tests check depends on it.
 */
function rigSshdFlags(): Promise<string[]> {
  sshdFlags ??= execa('/usr/sbin/sshd', ['-r', '-V'], {reject: false}).then((r) => (r.exitCode === 0 ? ['-r'] : []))
  return sshdFlags
}

/** The script run as PID 1 of the node's namespaces before it becomes sshd. */
function setupScript(spec: RigNodeSpec, dir: string, sshdFlags: string[]): string {
  const q = shellQuote
  const lines = ['set -e', 'mkdir -p /run/sshd']
  // The node's own, empty root home: the host's dotfiles are not the node's. (This machine's /root/.bashrc runs
  // `pyenv init`, ~100 processes, on every SSH command, which sshd's bash reads even for non-interactive commands.)
  lines.push('mount -t tmpfs -o size=1m,mode=0700 rig-root-home /root')
  if (spec.bpffs === false) lines.push('mount -t tmpfs -o size=1m,mode=0700 rig-nobpf /sys/fs/bpf')
  else lines.push('mount -t bpf bpf /sys/fs/bpf')
  if (spec.procVersion !== undefined) lines.push(`mount --bind ${q(join(dir, 'proc_version'))} /proc/version`)
  if (spec.bpffs !== false || (spec.maps?.length ?? 0) > 0) lines.push(`mkdir -p ${PIN_DIR}`)
  for (const [i, m] of (spec.maps ?? []).entries()) {
    const argv = ['bpftool', 'map', 'create', `${PIN_DIR}/${m.name}`, 'type', m.type, 'key', String(m.keySize)]
    argv.push('value', String(m.valueSize), 'entries', String(m.maxEntries), 'name', m.name.slice(0, 15))
    if (m.flags !== undefined) argv.push('flags', String(m.flags))
    lines.push(shellJoin(argv))
    if (m.entries?.length) lines.push(`bpftool batch file ${q(join(dir, `map${i}.batch`))} >/dev/null`)
    if (m.batchFile) lines.push(`bpftool batch file ${q(m.batchFile)} >/dev/null`)
  }
  if (spec.bin) lines.push(`mount --bind ${q(join(dir, 'bin'))} /usr/local/bin`)
  if (spec.users?.length) {
    for (const f of ['passwd', 'group', 'shadow', 'sudoers']) {
      lines.push(`mount --bind ${q(join(dir, 'etc', f))} /etc/${f}`)
    }
    lines.push('mount -t tmpfs -o size=1m,mode=0755 rig-home /home')
    for (const u of spec.users) lines.push(`mkdir -m 0700 /home/${u.name} && chown ${u.name}: /home/${u.name}`)
  }
  if (spec.programUsesMaps?.length) {
    const maps = spec.programUsesMaps.map((m) => `${PIN_DIR}/${m}`)
    lines.push(shellJoin(['/usr/bin/python3', LOAD_PROG_SCRIPT, '/sys/fs/bpf/rig_calico_prog', ...maps]))
  }
  lines.push('echo rig-setup-done >&2')
  lines.push(shellJoin(['exec', '/usr/sbin/sshd', '-D', '-e', ...sshdFlags, '-f', join(dir, 'sshd_config')]))
  return lines.join('\n')
}

interface Started {
  proc: ChildProcess
  unsharePid: number
  pid: number
}

/** Starts one node's namespaces + sshd; resolves when sshd is listening, rejects (with its stderr) if it exits. */
function startNode(spec: RigNodeSpec, dir: string, verbose: boolean, sshdFlags: string[]): Promise<Started> {
  return new Promise((resolve, reject) => {
    // setpriv --pdeathsig: unshare dies with this process even if it is SIGKILLed; --kill-child: the namespace's PID 1
    // dies with unshare, and with it every process in that pid namespace. No sshd outlives the test run.
    const unshare = ['unshare', '-m', '-p', '-f', '--propagation', 'private', '--mount-proc', '--kill-child=SIGKILL']
    const proc = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...unshare, 'sh', '-c', setupScript(spec, dir, sshdFlags)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let pid1: number | undefined
    if (proc.pid !== undefined) livePids.add(proc.pid)
    // Forget pids once they are gone, so the exit hook never signals a reused pid.
    proc.once('exit', () => {
      livePids.delete(proc.pid!)
      if (pid1 !== undefined) livePids.delete(pid1)
    })
    let stderr = ''
    let done = false
    const timer = setTimeout(
      () => fail(new Error(`node ${spec.name}: sshd did not start within 20 s\n${stderr}`)),
      20_000,
    )
    const fail = (err: Error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      try {
        proc.kill('SIGKILL')
      } catch {
        // gone
      }
      reject(err)
    }
    proc.on('error', fail)
    proc.on('exit', (code, signal) =>
      fail(new Error(`node ${spec.name}: exited (${code ?? signal}) during start-up:\n${stderr}`)),
    )
    proc.stderr!.on('data', (d: Buffer) => {
      const text = d.toString()
      if (verbose) process.stderr.write(`[rig ${spec.name}] ${text}`)
      if (done) return
      stderr += text
      if (/Server listening on/.test(stderr)) {
        done = true
        clearTimeout(timer)
        const kids = childrenOf(proc.pid!)
        const pid = kids[0]
        if (pid === undefined) {
          proc.kill('SIGKILL')
          reject(new Error(`node ${spec.name}: cannot find the namespace's PID 1`))
          return
        }
        pid1 = pid
        livePids.add(pid)
        resolve({proc, unsharePid: proc.pid!, pid})
      }
    })
  })
}

/** One clear line when the machine lacks what the rig uses (instead of e.g. `mount: /etc/sudoers: mount point does not exist`). */
function assertRigTools(): void {
  // [tool or absolute path, the Debian package that provides it] — the list in scripts/install-test-deps.
  const need: [string, string][] = [
    ['/usr/sbin/sshd', 'openssh-server'],
    ['/etc/sudoers', 'sudo'],
    ['unshare', 'util-linux'],
    ['nsenter', 'util-linux'],
    ['mount', 'util-linux'],
    ['ip', 'iproute2'],
    ['python3', 'python3'],
    ['bpftool', 'bpftool'],
  ]
  const onPath = (tool: string) =>
    (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => d && existsSync(join(d, tool)))
  const missing = need.filter(([tool]) => (tool.startsWith('/') ? !existsSync(tool) : !onPath(tool))).map(([, pkg]) => pkg)
  if (missing.length > 0) {
    throw new Error(`the node rig needs packages that are missing: ${[...new Set(missing)].join(' ')} (run scripts/install-test-deps as root)`)
  }
}

export async function startRig(opts: RigOptions): Promise<Rig> {
  if (process.getuid?.() !== 0) throw new Error('the node rig needs root')
  assertRigTools()
  const names = new Set<string>()
  for (const n of opts.nodes) {
    if (names.has(n.name)) throw new Error(`duplicate rig node name ${n.name}`)
    names.add(n.name)
  }
  installExitHook()
  const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-rig-'))
  liveDirs.add(dir)
  chmodSync(dir, 0o755)
  const identityFile = join(dir, 'id_ed25519')
  const started: Started[] = []
  const nodes: RigNode[] = []
  let stopped = false

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    const waits = started.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.proc.exitCode !== null || s.proc.signalCode !== null) return resolve()
          s.proc.once('exit', () => resolve())
        }),
    )
    for (const s of started) {
      // Killing the namespace's PID 1 makes the kernel SIGKILL everything else in that pid namespace.
      for (const pid of [s.pid, s.unsharePid]) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
        livePids.delete(pid)
      }
    }
    let raceTimer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(waits), new Promise((r) => (raceTimer = setTimeout(r, 5000)))])
    clearTimeout(raceTimer)
    // The namespaces' PID 1s are reparented when unshare dies; wait until they are gone (or only zombies).
    const deadline = Date.now() + 5000
    while (started.some((s) => isAlive(s.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    rmSync(dir, {recursive: true, force: true})
    liveDirs.delete(dir)
  }

  try {
    const clientPub = await keygen(identityFile, 'ebpfctl-rig-client')
    // One authorized_keys file per login (sshd reads it as that user): root's, and one for each node-local user.
    const authorizedKeys = join(dir, 'authorized_keys')
    await mkdir(authorizedKeys, {mode: 0o755})
    await writeFile(join(authorizedKeys, 'root'), `${clientPub}\n`, {mode: 0o600})
    const userNames = new Set(opts.nodes.flatMap((n) => (n.users ?? []).map((u) => u.name)))
    if (userNames.size > 0) chmodSync(dir, 0o711) // let those users reach their key file
    for (const u of userNames) await writeFile(join(authorizedKeys, u), `${clientPub}\n`, {mode: 0o644})

    const fixedPort = typeof opts.port === 'number' ? opts.port : undefined
    let nextAddr = 1 // 127.0.0.2
    const takeAddr = () => loopback(nextAddr++)

    await Promise.all(
      opts.nodes.map(async (spec, i) => {
        const ndir = join(dir, `node${i}`)
        await mkdir(ndir, {recursive: true})
        const hostPublicKey = await keygen(join(ndir, 'ssh_host_ed25519_key'), `rig-${spec.name}`)
        if (spec.procVersion !== undefined) await writeFile(join(ndir, 'proc_version'), spec.procVersion)
        if (spec.users?.length) await writeUserFiles(ndir, spec.users)
        if (spec.bin) {
          await mkdir(join(ndir, 'bin'))
          for (const [name, script] of Object.entries(spec.bin)) {
            await writeFile(join(ndir, 'bin', name), script, {mode: 0o755})
          }
        }
        for (const [j, m] of (spec.maps ?? []).entries()) {
          if (m.entries?.length) await writeFile(join(ndir, `map${j}.batch`), batchText(m.name, m.entries))
        }
        let address = fixedPort === undefined ? loopback(1 + i) : takeAddr()
        for (let attempt = 0; ; attempt++) {
          const port = fixedPort ?? (await freePort())
          await writeFile(join(ndir, 'sshd_config'), sshdConfig(ndir, address, port, authorizedKeys, spec))
          try {
            const s = await startNode(spec, ndir, opts.verbose ?? false, await rigSshdFlags())
            started.push(s)
            nodes[i] = {
              name: spec.name,
              address,
              port,
              hostKeyFingerprint: fingerprintOfPublicKey(hostPublicKey),
              hostPublicKey,
              pid: s.pid,
            }
            return
          } catch (err) {
            const msg = String((err as Error).message)
            if (attempt < 20 && /Address already in use|Cannot bind any address/.test(msg)) {
              if (fixedPort !== undefined) address = takeAddr()
              continue
            }
            throw err
          }
        }
      }),
    )
  } catch (err) {
    await stop()
    throw err
  }

  const knownHostsPath = join(dir, 'known_hosts')
  // The token OpenSSH looks up: `host` on port 22, `[host]:port` otherwise.
  const token = (n: RigNode) => (n.port === 22 ? n.address : `[${n.address}]:${n.port}`)
  writeFileSync(knownHostsPath, nodes.map((n) => `${token(n)} ${n.hostPublicKey}\n`).join(''))
  const sshConfigPath = join(dir, 'ssh_config')
  writeFileSync(
    sshConfigPath,
    nodes
      .map((n) =>
        [
          `Host ${n.name}`,
          `  HostName ${n.address}`,
          `  Port ${n.port}`,
          '  User root',
          `  IdentityFile ${identityFile}`,
          `  UserKnownHostsFile ${knownHostsPath}`,
          '',
        ].join('\n'),
      )
      .join('\n'),
  )

  const byName = (name: string): RigNode => {
    const n = nodes.find((x) => x.name === name)
    if (!n) throw new Error(`no rig node ${name}`)
    return n
  }

  const runInNode: Rig['runInNode'] = async (name, argv, o = {}) => {
    const n = byName(name)
    const r = await execa('nsenter', ['-t', String(n.pid), '-m', '-p', '--', ...argv], {
      reject: false,
      timeout: o.timeoutMs ?? 60_000,
      input: o.input,
      stripFinalNewline: false,
    })
    return {stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1}
  }

  const rig: Rig = {
    nodes,
    knownHostsPath,
    identityFile,
    user: 'root',
    sshConfigPath,
    dir,
    runInNode,
    async fillMap(node, mapName, data) {
      const text = typeof data === 'string' ? data : batchText(mapName, data)
      const file = join(dir, `fill-${node}-${mapName}-${Date.now()}-${Math.random().toString(36).slice(2)}.batch`)
      await writeFile(file, text)
      try {
        const r = await runInNode(node, ['bpftool', 'batch', 'file', file], {timeoutMs: 300_000})
        if (r.exitCode !== 0) {
          const full = /Argument list too long/.test(r.stderr) ? ' (E2BIG: the map is full; raise maxEntries)' : ''
          throw new Error(`fillMap ${node}/${mapName}: bpftool exited ${r.exitCode}${full}: ${r.stderr.slice(-2000)}`)
        }
      } finally {
        rmSync(file, {force: true})
      }
    },
    target(name) {
      const n = byName(name)
      return {name: n.name, addresses: [{type: 'InternalIP', address: n.address}]}
    },
    targets() {
      return nodes.map((n) => rig.target(n.name))
    },
    hostOverrides() {
      return new Map(nodes.map((n) => [n.name, `${n.address}:${n.port}`]))
    },
    sshOptions(extra = {}) {
      return {
        user: 'root',
        identityFiles: [identityFile],
        knownHostsPaths: [knownHostsPath],
        hostOverrides: rig.hostOverrides(),
        connectTimeoutMs: 15_000,
        agent: false,
        sshConfigPath: false,
        ...extra,
      }
    },
    stop,
  }
  return rig
}
