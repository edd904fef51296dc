import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import ssh2 from 'ssh2'
import {afterAll, describe, expect, it, vi} from 'vitest'

import {deadlineRejected} from '../../../src/lib/nodes/remote-command.js'
import {SshRunner, parseHostOverrides, parseHostPort, remoteCommand} from '../../../src/lib/nodes/ssh.js'

const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-ssh-opts-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const env = {HOME: join(dir, 'home'), USER: 'alice'} // never the real user's ~/.ssh

describe('ssh destination', () => {
  const addrs = [
    {type: 'Hostname', address: 'n1.internal'},
    {type: 'ExternalIP', address: '203.0.113.5'},
    {type: 'InternalIP', address: '10.0.0.5'},
  ]

  it('override, else InternalIP, else ExternalIP, else the node name', () => {
    const r = new SshRunner({env, sshConfigPath: false, hostOverrides: new Map([['n1', '192.0.2.9:2200']])})
    expect(r.destination({name: 'n1', addresses: addrs})).toMatchObject({
      host: '192.0.2.9',
      port: 2200,
      source: 'override',
      user: 'alice',
    })
    expect(r.destination({name: 'n2', addresses: addrs})).toMatchObject({
      host: '10.0.0.5',
      port: 22,
      source: 'InternalIP',
    })
    expect(r.destination({name: 'n3', addresses: addrs.slice(0, 2)})).toMatchObject({
      host: '203.0.113.5',
      source: 'ExternalIP',
    })
    expect(r.destination({name: 'n4'})).toMatchObject({host: 'n4', source: 'node-name', hostKeyTokens: ['n4']})
    expect(r.destination({name: 'n1', addresses: addrs}).hostKeyTokens).toEqual(['[192.0.2.9]:2200'])
  })

  it('explicit user and port win; default known_hosts paths are under HOME and /etc/ssh', () => {
    const r = new SshRunner({env, sshConfigPath: false, user: 'ops', port: 2022})
    const d = r.destination({name: 'n1', addresses: [{type: 'InternalIP', address: '10.0.0.1'}]})
    expect(d).toMatchObject({user: 'ops', port: 2022, hostKeyTokens: ['[10.0.0.1]:2022']})
    expect(d.knownHostsPaths).toEqual([join(env.HOME, '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'])
  })

  it('reads ssh_config Host entries, expands ~ and %h, and never runs Match exec', () => {
    const sentinel = join(dir, 'match-exec-ran')
    const cfg = join(dir, 'config')
    writeFileSync(
      cfg,
      [
        `Match exec "touch ${sentinel}"`,
        '  User evil',
        'Host n1',
        '  HostName %h.example.com',
        '  Port 2222',
        '  User core',
        '  IdentityFile ~/.ssh/id_%h',
        '  UserKnownHostsFile ~/kh/%h',
        '  HostKeyAlias n1-alias',
        'Host 10.0.0.*',
        '  User ubuntu',
        'Host *',
        '  User fallback',
        '',
      ].join('\n'),
    )
    const r = new SshRunner({env, sshConfigPath: cfg})
    const d = r.destination({name: 'n1', addresses: [{type: 'InternalIP', address: '10.0.0.1'}]})
    expect(d).toMatchObject({host: 'n1.example.com', port: 2222, user: 'core', source: 'ssh-config'})
    expect(d.identityFiles).toEqual([join(env.HOME, '.ssh', 'id_n1.example.com')])
    expect(d.knownHostsPaths[0]).toBe(join(env.HOME, 'kh', 'n1.example.com'))
    expect(d.hostKeyTokens).toEqual(['[n1-alias]:2222'])
    // No Host entry for n2: the dialled address's entries apply.
    expect(r.destination({name: 'n2', addresses: [{type: 'InternalIP', address: '10.0.0.2'}]})).toMatchObject({
      host: '10.0.0.2',
      user: 'ubuntu',
      source: 'InternalIP',
    })
    expect(r.destination({name: 'n3'})).toMatchObject({user: 'fallback'})
    expect(existsSync(sentinel)).toBe(false)
  })

  it('parses --ssh-host values and addresses', () => {
    expect(parseHostOverrides(['n1=10.0.0.1', 'n2=[fd00::1]:2222', 'n3=host=x'])).toEqual(
      new Map([
        ['n1', '10.0.0.1'],
        ['n2', '[fd00::1]:2222'],
        ['n3', 'host=x'],
      ]),
    )
    expect(() => parseHostOverrides(['n1'])).toThrow(/NODE=ADDRESS/)
    expect(() => parseHostOverrides(['=x'])).toThrow()
    expect(parseHostPort('10.0.0.1')).toEqual({host: '10.0.0.1'})
    expect(parseHostPort('10.0.0.1:2222')).toEqual({host: '10.0.0.1', port: 2222})
    expect(parseHostPort('[fd00::1]:2222')).toEqual({host: 'fd00::1', port: 2222})
    expect(parseHostPort('fd00::1')).toEqual({host: 'fd00::1'})
    expect(parseHostPort('node.example.com')).toEqual({host: 'node.example.com'})
  })

  it('quotes the command and adds sudo -n -- for non-root users', () => {
    expect(remoteCommand(['cat', '/proc/version'], 'root')).toBe('cat /proc/version')
    expect(remoteCommand(['cat', "it's"], 'core')).toBe("sudo -n -- cat 'it'\\''s'")
    expect(remoteCommand(['id'], 'core', false)).toBe('id')
  })

  it('with a timeout, runs the command under the node\'s `timeout` a little past ebpfctl\'s own deadline', () => {
    // The login shell execs `timeout` itself: no `sh -c` wrapper and no check in front of it (one process fewer).
    expect(remoteCommand(['cat', "it's"], 'root', true, 4500)).toBe("timeout -k 2 7 cat 'it'\\''s'")
    // Outside sudo, so sudoers rules still match the real command.
    expect(remoteCommand(['id'], 'core', true, 1000)).toBe('timeout -k 2 3 sudo -n -- id')
    expect(remoteCommand(['id'], 'root', true, Number.POSITIVE_INFINITY)).toBe('id')
  })

  it("recognises a node `timeout` that refuses -k (busybox before 1.30), and nothing else", () => {
    const bb =
      "BusyBox v1.29.3 (2019-01-24 07:45:07 UTC) multi-call binary.\n\nUsage: timeout [-t SECS] [-s SIG] PROG ARGS\n"
    expect(deadlineRejected({exitCode: 1, stderr: "timeout: invalid option -- 'k'\n" + bb}, 0)).toBe(true)
    expect(deadlineRejected({exitCode: 1, stderr: 'timeout: unrecognized option: k\n' + bb}, 0)).toBe(true)
    expect(deadlineRejected({exitCode: 1, stderr: bb}, 0)).toBe(true)
    // The command ran: it printed something, failed its own way, or timeout's complaint is not the first line.
    expect(deadlineRejected({exitCode: 1, stderr: "timeout: invalid option -- 'k'\n"}, 5)).toBe(false)
    expect(deadlineRejected({exitCode: 2, stderr: "timeout: invalid option -- 'k'\n"}, 0)).toBe(false)
    expect(deadlineRejected({exitCode: 1, stderr: 'cat: /nope: No such file or directory\n'}, 0)).toBe(false)
    expect(deadlineRejected({exitCode: 1, stderr: "x\ntimeout: invalid option -- 'k'\n"}, 0)).toBe(false)
    expect(deadlineRejected({exitCode: 125, stderr: "timeout: invalid time interval 'x'\n"}, 0)).toBe(false)
    expect(deadlineRejected({exitCode: 0, stderr: ''}, 0)).toBe(false)
  })

  it('recognises a node without `timeout` from its login shell\'s complaint, and not a wrapped command that is missing', () => {
    for (const line of [
      'bash: line 1: timeout: command not found',
      'bash: timeout: command not found',
      'sh: 1: timeout: not found',
      'sh: timeout: not found',
      'zsh:1: command not found: timeout',
      'fish: Unknown command: timeout',
    ]) {
      expect(deadlineRejected({exitCode: 127, stderr: `${line}\n`}, 0)).toBe(true)
      expect(deadlineRejected({exitCode: 127, stderr: `${line}\n`}, 3)).toBe(false)
      expect(deadlineRejected({exitCode: 1, stderr: `${line}\n`}, 0)).toBe(false)
    }
    // coreutils `timeout` ran, and the command it was given is missing: the command's own failure.
    expect(deadlineRejected({exitCode: 127, stderr: "timeout: failed to run command 'bpftool': No such file or directory\n"}, 0)).toBe(false)
    expect(deadlineRejected({exitCode: 127, stderr: 'bash: line 1: bpftool: command not found\n'}, 0)).toBe(false)
    expect(deadlineRejected({exitCode: 127, stderr: 'sh: 1: xtimeout: not found\n'}, 0)).toBe(false)
  })

  it('without any credentials the node fails with reason auth (nothing is dialled)', async () => {
    const r = new SshRunner({env, sshConfigPath: false, agent: false, identityFiles: [join(dir, 'nope')]})
    await expect(
      r.run({name: 'n1', addresses: [{type: 'InternalIP', address: '127.0.0.1'}]}, ['true'], {timeoutMs: 1000}),
    ).rejects.toMatchObject({
      node: 'n1',
      reason: 'auth',
      message: expect.stringContaining('no SSH credentials'),
    })
    await r.close()
    await r.close()
  })
})

describe('ssh identities', () => {
  it('an identity file is read and parsed once per runner, not once per node', async () => {
    const key = join(dir, 'id_fleet')
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
    const parse = vi.spyOn(ssh2.utils, 'parseKey')
    try {
      // Port 1 on loopback refuses at once: each node is dialled with the key, and fails as unreachable.
      const nodes = ['n1', 'n2', 'n3']
      const r = new SshRunner({env, sshConfigPath: false, agent: false, identityFiles: [key], knownHostsPaths: [],
        hostOverrides: new Map(nodes.map((n, i) => [n, `127.0.0.${i + 1}:1`]))})
      for (const name of nodes) {
        await expect(r.run({name}, ['true'], {timeoutMs: 2000})).rejects.toMatchObject({node: name, reason: 'unreachable'})
      }
      await r.close()
      expect(parse).toHaveBeenCalledTimes(1)
    } finally {
      parse.mockRestore()
    }
  })
})

describe('ssh port precedence', () => {
  it('a port in --ssh-host beats --ssh-port, which beats ssh_config', () => {
    const cfg = join(dir, 'config-port')
    writeFileSync(cfg, 'Host *\n  Port 2201\n')
    const t = {name: 'n1', addresses: [{type: 'InternalIP', address: '10.0.0.1'}]}
    const over = new Map([['n1', '10.0.0.9:2203']])
    expect(new SshRunner({env, sshConfigPath: cfg}).destination(t).port).toBe(2201)
    expect(new SshRunner({env, sshConfigPath: cfg, port: 2202}).destination(t).port).toBe(2202)
    expect(new SshRunner({env, sshConfigPath: cfg, port: 2202, hostOverrides: over}).destination(t).port).toBe(2203)
  })
})
