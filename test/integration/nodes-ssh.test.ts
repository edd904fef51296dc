/** SshRunner against real OpenSSH sshds in the node rig (root only; loopback only; never the real ~/.ssh). */
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runOnNodes} from '../../src/lib/nodes/fanout.js'
import {SshRunner} from '../../src/lib/nodes/ssh.js'
import {NodeAccessError} from '../../src/lib/nodes/types.js'
import {type Rig, startRig} from '../support/node-rig/index.js'

const isRoot = process.getuid?.() === 0
/** Shell line for a stand-in `timeout`: appends its arguments to the node's own /root/timeout-calls. */
const LOG_CALL = 'echo "$*" >> /root/timeout-calls\n'
/** Hangs, writing a line every 100 ms. */
const HANG = 'while :; do echo tick; sleep 0.1; done'

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0))
    })
  })
}

async function rejection(p: Promise<unknown>): Promise<NodeAccessError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(NodeAccessError)
    return err as NodeAccessError
  }
  throw new Error('expected a rejection')
}

/** Hostile argv elements: each must reach the remote command byte for byte and execute nothing. */
function hostileCorpus(sentinel: string): string[] {
  return [
    `$(touch ${sentinel})`,
    `\`touch ${sentinel}\``,
    `; touch ${sentinel}`,
    `&& touch ${sentinel}`,
    `| touch ${sentinel}`,
    `\ntouch ${sentinel}\n`,
    `'; touch ${sentinel}; '`,
    `"; touch ${sentinel}; "`,
    `--flag=$(touch ${sentinel})`,
    `${'$'}{IFS}touch${'$'}{IFS}${sentinel}`,
    `> ${sentinel}`,
    `<(touch ${sentinel})`,
    `$((1+1))`,
    '$HOME',
    '~',
    '~root',
    '*',
    '/*',
    '?',
    '[a-z]',
    '{a,b}',
    '!',
    '!!',
    '#comment',
    'a#b',
    '\\',
    '\\n',
    "'",
    "''",
    '"',
    "it's",
    'a b  c',
    '\t',
    ' ',
    '',
    '-',
    '--',
    '-n',
    '-e',
    '--help',
    'A=b',
    'ünïcödé — 日本語 🐧',
    '\u00a0nbsp',
    'line1\nline2\r\nline3',
    '%s%d%n',
    '\x01\x02\x7f',
    'x'.repeat(4000),
  ]
}

describe.skipIf(!isRoot)('SshRunner on the node rig', () => {
  let rig: Rig
  const names = ['node-a', 'node-b', 'node-c']

  beforeAll(async () => {
    rig = await startRig({nodes: [...names.map((name) => ({name})), {name: 'node-strict', maxSessions: 2}]})
  })
  afterAll(async () => {
    await rig?.stop()
  })

  it('runs a command and returns stdout, stderr and the exit code', async () => {
    const runner = new SshRunner(rig.sshOptions())
    try {
      const r = await runner.run(rig.target('node-a'), ['sh', '-c', 'echo out; echo err >&2; exit 7'], {
        timeoutMs: 10_000,
      })
      expect(r).toEqual({stdout: 'out\n', stderr: 'err\n', exitCode: 0 + 7})
      const ok = await runner.run(rig.target('node-b'), ['id', '-u'], {timeoutMs: 10_000})
      expect(ok).toEqual({stdout: '0\n', stderr: '', exitCode: 0})
      // Runs inside the node's pid namespace: PID 1 there is that node's sshd.
      const comm = await runner.run(rig.target('node-c'), ['cat', '/proc/1/comm'], {timeoutMs: 10_000})
      expect(comm.stdout).toBe('sshd\n')
    } finally {
      await runner.close()
    }
  })

  it('streams stdout to onStdout without accumulating it', async () => {
    const runner = new SshRunner(rig.sshOptions())
    try {
      const chunks: Buffer[] = []
      const r = await runner.run(rig.target('node-a'), ['seq', '1', '20000'], {
        timeoutMs: 10_000,
        onStdout: (c) => chunks.push(c),
      })
      expect(r.stdout).toBe('')
      expect(r.exitCode).toBe(0)
      const text = Buffer.concat(chunks).toString()
      expect(text.split('\n').length).toBe(20001)
      expect(text.endsWith('19999\n20000\n')).toBe(true)
    } finally {
      await runner.close()
    }
  })

  it('reports a signal death as 128+n', async () => {
    const runner = new SshRunner(rig.sshOptions())
    try {
      const r = await runner.run(rig.target('node-a'), ['sh', '-c', 'kill -TERM $$'], {timeoutMs: 10_000})
      expect(r.exitCode).toBe(143)
    } finally {
      await runner.close()
    }
  })

  it('reuses one connection per node', async () => {
    const runner = new SshRunner(rig.sshOptions())
    try {
      const ports = new Set<string>()
      for (let i = 0; i < 3; i++) {
        const r = await runner.run(rig.target('node-a'), ['sh', '-c', 'echo $SSH_CLIENT'], {timeoutMs: 10_000})
        ports.add(r.stdout.split(' ')[1]!)
      }
      expect(ports.size).toBe(1)
    } finally {
      await runner.close()
    }
  })

  it('refuses a host whose key differs from known_hosts (host-key-changed)', async () => {
    const n = rig.nodes[0]!
    const other = rig.nodes[1]!
    const kh = join(rig.dir, 'known_hosts.changed')
    // node-a's address, but node-b's key.
    writeFileSync(kh, `[${n.address}]:${n.port} ${other.hostPublicKey}\n`)
    const runner = new SshRunner(rig.sshOptions({knownHostsPaths: [kh]}))
    try {
      const err = await rejection(runner.run(rig.target(n.name), ['true'], {timeoutMs: 10_000}))
      expect(err.reason).toBe('host-key-changed')
      expect(err.node).toBe(n.name)
      expect(err.message).toContain(n.hostKeyFingerprint)
      expect(err.message).toMatch(/HOST KEY CHANGED/)
      expect(err.fingerprint).toBe(n.hostKeyFingerprint)
    } finally {
      await runner.close()
    }
  })

  it('refuses an unknown host (host-key-unknown) naming it, its fingerprint and the remedy', async () => {
    const n = rig.nodes[0]!
    const kh = join(rig.dir, 'known_hosts.empty')
    writeFileSync(kh, '# nothing\n')
    const runner = new SshRunner(rig.sshOptions({knownHostsPaths: [kh, join(rig.dir, 'does-not-exist')]}))
    try {
      const err = await rejection(runner.run(rig.target(n.name), ['true'], {timeoutMs: 10_000}))
      expect(err.reason).toBe('host-key-unknown')
      expect(err.message).toContain(`[${n.address}]:${n.port}`)
      expect(err.message).toContain(n.hostKeyFingerprint)
      expect(err.remedy).toContain(`ssh-keyscan -p ${n.port} ${n.address} >> ~/.ssh/known_hosts`)
      expect(err.remedy).toContain('--ssh-insecure-skip-host-key-check')
    } finally {
      await runner.close()
    }
  })

  it('connects to an unknown host with insecureSkipHostKeyCheck', async () => {
    const kh = join(rig.dir, 'known_hosts.empty2')
    writeFileSync(kh, '')
    const runner = new SshRunner(rig.sshOptions({knownHostsPaths: [kh], insecureSkipHostKeyCheck: true}))
    try {
      const r = await runner.run(rig.target('node-b'), ['echo', 'hi'], {timeoutMs: 10_000})
      expect(r.stdout).toBe('hi\n')
    } finally {
      await runner.close()
    }
  })

  it('accepts hashed known_hosts entries (ssh-keygen -H)', async () => {
    const kh = join(rig.dir, 'known_hosts.hashed')
    writeFileSync(kh, readFileSync(rig.knownHostsPath))
    await execa('ssh-keygen', ['-H', '-f', kh])
    const text = readFileSync(kh, 'utf8')
    expect(text).toMatch(/^\|1\|/)
    expect(text).not.toContain('127.0.0.')
    const runner = new SshRunner(rig.sshOptions({knownHostsPaths: [kh]}))
    try {
      const rs = await Promise.all(rig.targets().map((t) => runner.run(t, ['hostname'], {timeoutMs: 10_000})))
      expect(rs.every((r) => r.exitCode === 0)).toBe(true)
    } finally {
      await runner.close()
    }
  })

  it('round-trips a hostile argv corpus byte for byte and executes none of it', async () => {
    const sentinel = join(rig.dir, 'pwned')
    const corpus = hostileCorpus(sentinel)
    const runner = new SshRunner(rig.sshOptions())
    try {
      // The remote side prints each argument NUL-terminated; any shell evaluation would change the bytes.
      const r = await runner.run(rig.target('node-a'), ['printf', '%s\\0', ...corpus], {timeoutMs: 10_000})
      expect(r.stderr).toBe('')
      expect(r.exitCode).toBe(0)
      expect(r.stdout.split('\0').slice(0, -1)).toEqual(corpus)
      // One at a time too, as argv[0..] of a real program, and as a single lone argument.
      const ones = await Promise.all(
        corpus.map((arg) =>
          runner.run(rig.target('node-b'), ['sh', '-c', 'printf "%s\\0" "$@"', 'sh', arg], {timeoutMs: 20_000}),
        ),
      )
      expect(ones.map((o) => o.stdout)).toEqual(corpus.map((arg) => `${arg}\0`))
      const shell = await runner.run(
        rig.target('node-c'),
        ['sh', '-c', corpus[1]!.replace(sentinel, '/dev/null') + '; echo ok'],
        {
          timeoutMs: 10_000,
        },
      )
      expect(shell.stdout).toBe('ok\n') // a shell string passed as one argument is still run by that `sh -c`, as asked
      expect(existsSync(sentinel)).toBe(false)
      for (const n of rig.nodes) {
        const r2 = await rig.runInNode(n.name, ['test', '-e', sentinel])
        expect(r2.exitCode).toBe(1)
      }
    } finally {
      await runner.close()
    }
  }, 60_000)

  it('reports an unreachable node and a hanging command per node while the others complete', async () => {
    const deadPort = await freePort()
    const overrides = rig.hostOverrides()
    overrides.set('dead', `127.0.0.250:${deadPort}`)
    const runner = new SshRunner(rig.sshOptions({hostOverrides: overrides, connectTimeoutMs: 3000}))
    try {
      const nodes = [...rig.targets().filter((n) => names.includes(n.name)), {name: 'dead'}]
      const started = Date.now()
      const results = await runOnNodes(
        nodes,
        (node) =>
          runner.run(node, node.name === 'node-b' ? ['sh', '-c', HANG] : ['echo', node.name], {timeoutMs: 3000}),
        {concurrency: 8},
      )
      expect(Date.now() - started).toBeLessThan(15_000)
      expect(results.map((r) => r.node.name)).toEqual(['node-a', 'node-b', 'node-c', 'dead'])
      const [a, b, c, dead] = results
      expect(a).toMatchObject({ok: true, value: {stdout: 'node-a\n', exitCode: 0}})
      expect(c).toMatchObject({ok: true, value: {stdout: 'node-c\n', exitCode: 0}})
      expect(b).toMatchObject({ok: false, error: {node: 'node-b', reason: 'timeout'}})
      expect(dead).toMatchObject({ok: false, error: {node: 'dead', reason: 'unreachable'}})
      if (!dead!.ok) expect(dead!.error.message).toContain(`[127.0.0.250]:${deadPort}`)
      // The channel was closed, so the command on the node dies at its next write (SIGPIPE). sshd ignores signal
      // requests for root logins ("session signalling requires privilege separation"), so a command that never
      // writes would linger until it ends by itself.
      let left = '1'
      for (let i = 0; i < 50 && left !== '0'; i++) {
        await new Promise((r) => setTimeout(r, 100))
        left = (
          await rig.runInNode('node-b', ['sh', '-c', 'ps -eo args= | grep -c "^sh -c while" || true'])
        ).stdout.trim()
      }
      expect(left).toBe('0')
      // The connection to node-b is still usable after the timeout.
      const again = await runner.run(rig.target('node-b'), ['echo', 'still'], {timeoutMs: 5000})
      expect(again.stdout).toBe('still\n')
    } finally {
      await runner.close()
    }
  }, 60_000)

  it('kills a silent command on the node soon after its timeout (sshd ignores signals in root sessions)', async () => {
    const runner = new SshRunner(rig.sshOptions())
    // The shell and its `sleep` child: both must go (timeout kills the command's whole process group).
    const running = async () =>
      (
        await rig.runInNode('node-c', ['sh', '-c', 'ps -eo args= | grep -c -e "[s]ilent-marker" -e "^sleep 3[1]$" || true'])
      ).stdout.trim()
    try {
      const err = await runner
        .run(rig.target('node-c'), ['sh', '-c', 'sleep 31; : silent-marker'], {timeoutMs: 1000})
        .then(() => undefined, (e: unknown) => e)
      expect(err).toMatchObject({node: 'node-c', reason: 'timeout'})
      expect(await running()).not.toBe('0') // still there right after ebpfctl gave up
      let left = '?'
      for (let i = 0; i < 60 && left !== '0'; i++) {
        await new Promise((r) => setTimeout(r, 100))
        left = await running()
      }
      expect(left).toBe('0') // gone within 1 s + the 2 s grace + polling, not after 31 s
    } finally {
      await runner.close()
    }
  }, 30_000)

  it('runs 20 concurrent commands on one node (channels capped below MaxSessions)', async () => {
    const runner = new SshRunner(rig.sshOptions())
    try {
      const rs = await Promise.all(
        Array.from({length: 20}, (_, i) =>
          runner.run(rig.target('node-c'), ['sh', '-c', `sleep 0.2; echo ${i}`], {timeoutMs: 20_000}),
        ),
      )
      expect(rs.map((r) => r.stdout)).toEqual(Array.from({length: 20}, (_, i) => `${i}\n`))
    } finally {
      await runner.close()
    }
  }, 60_000)

  it('runs 40 instant commands on one node: sessions that just ended never make sshd refuse new ones', async () => {
    // Instant commands are the hard case: sshd frees a finished session only after the whole batch of packets that
    // carried its CLOSE, so replacements opened at once can be refused although fewer than MaxSessions are open.
    const runner = new SshRunner(rig.sshOptions())
    try {
      const rs = await Promise.all(
        Array.from({length: 40}, (_, i) => runner.run(rig.target('node-a'), ['echo', String(i)], {timeoutMs: 20_000})),
      )
      expect(rs.map((r) => r.stdout)).toEqual(Array.from({length: 40}, (_, i) => `${i}\n`))
    } finally {
      await runner.close()
    }
  }, 60_000)

  it('works with a node whose sshd allows only 2 sessions (MaxSessions 2), by retrying refused opens', async () => {
    const runner = new SshRunner(rig.sshOptions())
    try {
      const rs = await Promise.all(
        Array.from({length: 12}, (_, i) =>
          runner.run(rig.target('node-strict'), ['sh', '-c', `sleep 0.05; echo ${i}`], {timeoutMs: 20_000}),
        ),
      )
      expect(rs.map((r) => r.stdout)).toEqual(Array.from({length: 12}, (_, i) => `${i}\n`))
    } finally {
      await runner.close()
    }
  }, 60_000)

  it('reads Host entries from an ssh config file', async () => {
    // No hostOverrides, no addresses: HostName, Port, User, IdentityFile and UserKnownHostsFile come from the file.
    const runner = new SshRunner({sshConfigPath: rig.sshConfigPath!, agent: false, env: {HOME: rig.dir}})
    try {
      const d = runner.destination({name: 'node-b'})
      expect(d).toMatchObject({
        host: rig.nodes[1]!.address,
        port: rig.nodes[1]!.port,
        user: 'root',
        source: 'ssh-config',
      })
      const r = await runner.run({name: 'node-b'}, ['echo', 'via-config'], {timeoutMs: 10_000})
      expect(r.stdout).toBe('via-config\n')
    } finally {
      await runner.close()
    }
  })

  it('fails authentication with a key the node does not accept', async () => {
    const key = join(rig.dir, 'other_key')
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
    const runner = new SshRunner(rig.sshOptions({identityFiles: [key]}))
    try {
      const err = await rejection(runner.run(rig.target('node-a'), ['true'], {timeoutMs: 10_000}))
      expect(err.reason).toBe('auth')
    } finally {
      await runner.close()
    }
  })
})

describe.skipIf(!isRoot)('SshRunner as a non-root user with sudo', () => {
  let rig: Rig
  /** The arguments of every call of the node's `timeout` stand-in so far (LOG_CALL), one per call. */
  const timeoutCalls = async (node: string) =>
    (await rig.runInNode(node, ['cat', '/root/timeout-calls'])).stdout.split('\n').filter(Boolean)
  beforeAll(async () => {
    // sudoers allows ops exactly these two commands, as a careful admin would.
    rig = await startRig({
      nodes: [
        {name: 'node-ops', users: [{name: 'ops', sudo: ['/usr/bin/cat', '/usr/bin/sleep']}]},
        // A `timeout` that rejects -k, like busybox before 1.30 (each call logged in the node's own /root).
        {
          name: 'node-old-timeout',
          bin: {timeout: `#!/bin/sh\n${LOG_CALL}echo "timeout: invalid option -- 'k'" >&2\nexit 1\n`},
        },
        // The host's coreutils timeout, each call logged.
        {name: 'node-counted', bin: {timeout: `#!/bin/sh\n${LOG_CALL}exec /usr/bin/timeout "$@"\n`}},
        // No usable `timeout`: it answers as root's login shell (bash) does for a command it cannot find.
        {
          name: 'node-no-timeout',
          bin: {timeout: `#!/bin/sh\n${LOG_CALL}echo 'bash: line 1: timeout: command not found' >&2\nexit 127\n`},
        },
      ],
    })
  })
  afterAll(async () => {
    await rig?.stop()
  })

  it('runs allowed commands through sudo -n, and reports what sudoers refuses', async () => {
    const runner = new SshRunner(rig.sshOptions({user: 'ops'}))
    const plain = new SshRunner(rig.sshOptions({user: 'ops', sudo: false}))
    try {
      // The node's /etc/shadow is readable by root only.
      const asRoot = await runner.run(rig.target('node-ops'), ['cat', '/etc/shadow'], {timeoutMs: 10_000})
      expect(asRoot).toMatchObject({exitCode: 0, stderr: ''})
      expect(asRoot.stdout).toMatch(/^ops:\*:/m)
      const asOps = await plain.run(rig.target('node-ops'), ['cat', '/etc/shadow'], {timeoutMs: 10_000})
      expect(asOps.exitCode).toBe(1)
      expect(asOps.stderr).toMatch(/Permission denied/)
      const who = await plain.run(rig.target('node-ops'), ['id', '-un'], {timeoutMs: 10_000})
      expect(who.stdout).toBe('ops\n')
      const refused = await runner.run(rig.target('node-ops'), ['id', '-un'], {timeoutMs: 10_000})
      expect(refused.exitCode).toBe(1)
      expect(refused.stderr).toMatch(/sudo: a password is required/)
    } finally {
      await runner.close()
      await plain.close()
    }
  }, 30_000)

  it('runs commands plainly on a node whose timeout cannot take the deadline, and stops trying on that connection', async () => {
    const runner = new SshRunner(rig.sshOptions())
    try {
      // Two at once while the connection has not learnt yet: both are re-sent plainly.
      const rs = await Promise.all(
        ['ran', 'too'].map((x) => runner.run(rig.target('node-old-timeout'), ['echo', x], {timeoutMs: 5000})),
      )
      expect(rs).toMatchObject([
        {stdout: 'ran\n', stderr: '', exitCode: 0},
        {stdout: 'too\n', stderr: '', exitCode: 0},
      ])
      // Later commands run plainly, and a failing one reports its own failure.
      const failed = await runner.run(rig.target('node-old-timeout'), ['sh', '-c', 'echo no >&2; exit 1'], {timeoutMs: 5000})
      expect(failed).toMatchObject({stdout: '', stderr: 'no\n', exitCode: 1})
      // One refusal taught the connection: later commands do not call `timeout` again.
      expect((await timeoutCalls('node-old-timeout')).sort()).toEqual(['-k 2 7 echo ran', '-k 2 7 echo too'])
    } finally {
      await runner.close()
    }
  })

  it('runs commands plainly on a node without `timeout`, after one refusal per connection', async () => {
    const runner = new SshRunner(rig.sshOptions())
    try {
      const first = await runner.run(rig.target('node-no-timeout'), ['echo', 'ran'], {timeoutMs: 5000})
      expect(first).toMatchObject({stdout: 'ran\n', stderr: '', exitCode: 0})
      // A command that is really missing is its own failure, not taken for a missing `timeout`.
      const missing = await runner.run(rig.target('node-no-timeout'), ['no-such-command'], {timeoutMs: 5000})
      expect(missing.exitCode).toBe(127)
      expect(missing.stderr).toMatch(/no-such-command/)
      expect(await timeoutCalls('node-no-timeout')).toEqual(['-k 2 7 echo ran'])
    } finally {
      await runner.close()
    }
  })

  it('wraps each command in one `timeout` process on the node, with no dry run of it first', async () => {
    const runner = new SshRunner(rig.sshOptions())
    try {
      const rs = await Promise.all(
        ['a', 'b', 'c'].map((x) => runner.run(rig.target('node-counted'), ['echo', x], {timeoutMs: 4000})),
      )
      expect(rs.map((r) => r.stdout)).toEqual(['a\n', 'b\n', 'c\n'])
      expect((await timeoutCalls('node-counted')).sort()).toEqual(['-k 2 6 echo a', '-k 2 6 echo b', '-k 2 6 echo c'])
    } finally {
      await runner.close()
    }
  })

  it("stops a command run through sudo soon after its timeout (sudo relays the node's timeout signal)", async () => {
    const runner = new SshRunner(rig.sshOptions({user: 'ops'}))
    const running = async () =>
      (await rig.runInNode('node-ops', ['sh', '-c', 'ps -eo user=,args= | grep -c "^root *sleep 3[2]$" || true'])).stdout.trim()
    try {
      const err = await runner
        .run(rig.target('node-ops'), ['sleep', '32'], {timeoutMs: 1000})
        .then(() => undefined, (e: unknown) => e)
      expect(err).toMatchObject({node: 'node-ops', reason: 'timeout'})
      expect(await running()).toBe('1') // running as root, via sudo
      let left = '?'
      for (let i = 0; i < 80 && left !== '0'; i++) {
        await new Promise((r) => setTimeout(r, 100))
        left = await running()
      }
      expect(left).toBe('0')
    } finally {
      await runner.close()
    }
  }, 30_000)
})

describe.skipIf(!isRoot)('SshRunner fan-out to 32 nodes', () => {
  let rig: Rig
  let startMs = 0

  beforeAll(async () => {
    const t = Date.now()
    rig = await startRig({nodes: Array.from({length: 32}, (_, i) => ({name: `worker-${String(i).padStart(2, '0')}`}))})
    startMs = Date.now() - t
  }, 60_000)
  afterAll(async () => {
    await rig?.stop()
  })

  it('all 32 nodes answer', async () => {
    expect(rig.nodes).toHaveLength(32)
    expect(new Set(rig.nodes.map((n) => n.address)).size).toBe(32)
    const runner = new SshRunner(rig.sshOptions())
    const t = Date.now()
    try {
      const results = await runOnNodes(
        rig.targets(),
        (n) => runner.run(n, ['cat', '/proc/1/comm'], {timeoutMs: 20_000}),
        {
          concurrency: 32,
        },
      )
      const bad = results.filter((r) => !r.ok)
      expect(bad).toEqual([])
      expect(results.every((r) => r.ok && r.value.stdout === 'sshd\n')).toBe(true)
    } finally {
      await runner.close()
    }
    console.log(`node rig: 32 sshds started in ${startMs} ms; 32-node fan-out took ${Date.now() - t} ms`)
  }, 60_000)
})

describe.skipIf(!isRoot)('node rig with port 22 on every address', () => {
  it('a runner with the default port reaches the nodes by InternalIP', async () => {
    const rig = await startRig({nodes: [{name: 'p22-a'}, {name: 'p22-b'}], port: 22})
    const runner = new SshRunner(rig.sshOptions({hostOverrides: new Map()}))
    try {
      expect(rig.nodes.every((n) => n.port === 22)).toBe(true)
      expect(readFileSync(rig.knownHostsPath, 'utf8')).toContain(`${rig.nodes[0]!.address} ssh-ed25519`)
      const d = runner.destination(rig.target('p22-a'))
      expect(d).toMatchObject({host: rig.nodes[0]!.address, port: 22, source: 'InternalIP'})
      const rs = await Promise.all(rig.targets().map((t) => runner.run(t, ['echo', t.name], {timeoutMs: 10_000})))
      expect(rs.map((r) => r.stdout)).toEqual(['p22-a\n', 'p22-b\n'])
    } finally {
      await runner.close()
      await rig.stop()
    }
  }, 60_000)
})
