/**
 * Nodes that answer with hostile output, over real SSH (the node rig): an agent that prints forever, escape codes and
 * U+FFFF in its output and stderr, and one that stalls mid-stream. Each read ends at a stated bound ("output limit
 * reached", "timed out after"), memory stays bounded, the terminal sees no active control characters, and JSON output
 * stays one valid document.
 */
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {hostileNodeBin} from '../support/hostile.js'
import {type Rig, startRig} from '../support/node-rig/index.js'

vi.setConfig({testTimeout: 120_000, hookTimeout: 120_000})

const root = join(import.meta.dirname, '..', '..')
const isRoot = process.getuid?.() === 0
// eslint-disable-next-line no-control-regex
const ACTIVE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/

describe.runIf(isRoot)('hostile node output over SSH', () => {
  let rig: Rig
  beforeAll(async () => {
    rig = await startRig({
      nodes: [
        {name: 'n-endless', bin: hostileNodeBin('endless')},
        {name: 'n-escapes', bin: hostileNodeBin('escapes')},
        {name: 'n-stall', bin: hostileNodeBin('stall')},
        {name: 'n-ok', bin: hostileNodeBin('finite')},
      ],
    })
  }, 60_000)
  afterAll(async () => rig?.stop())

  const sshArgs = () => [
    '--via', 'ssh',
    '--ssh-user', 'root',
    '--ssh-identity', rig.identityFile,
    '--ssh-known-hosts', rig.knownHostsPath,
    '--ssh-config', join(rig.dir, 'no-ssh-config'),
    ...[...rig.hostOverrides()].flatMap(([n, a]) => ['--ssh-host', `${n}=${a}`]),
    '--source', 'agent', '--agent-crictl',
  ]
  /** The built CLI under /usr/bin/time, so its peak RSS is known. */
  const cli = async (args: string[]) => {
    const r = await execa('/usr/bin/time', ['-f', 'maxrss-kib=%M', 'node', join(root, 'bin/run.js'), ...args, ...sshArgs()], {
      reject: false,
      timeout: 90_000,
      env: {NO_COLOR: '1', KUBECONFIG: '', HOME: rig.dir},
    })
    const rssKib = Number(/maxrss-kib=(\d+)/.exec(r.stderr)?.[1])
    return {...r, stderr: r.stderr.replace(/maxrss-kib=\d+\n?/, ''), rssKib}
  }

  it('an agent that prints forever: the streamed dump stops at --max-output-bytes, saying so, in bounded memory', async () => {
    const r = await cli(['conntrack', 'dump', '--node', 'n-endless', '--max-output-bytes', '16Mi', '-o', 'json'])
    expect(r.timedOut).toBe(false)
    expect(r.exitCode).toBe(1)
    const doc = JSON.parse(r.stdout) as {nodes: {node: string; entries: unknown[]; error?: {reason: string; message: string}}[]}
    expect(doc.nodes).toHaveLength(1)
    expect(doc.nodes[0]!.error?.message).toMatch(/output limit reached \(16 MiB\)/)
    expect(doc.nodes[0]!.entries.length).toBeGreaterThan(1000)
    expect(r.rssKib).toBeLessThan(256 * 1024)
  })

  it('an agent that prints forever: output parsed whole (nat dump) stops at 32 MiB', async () => {
    const r = await cli(['nat', 'dump', '--node', 'n-endless'])
    expect(r.timedOut).toBe(false)
    expect(r.exitCode).toBe(1)
    expect(r.stdout + r.stderr).toMatch(/output limit reached \(32 MiB\)/)
    expect(r.rssKib).toBeLessThan(256 * 1024)
  })

  it('escape codes and U+FFFF in agent stdout and stderr are shown, not obeyed', async () => {
    const r = await cli(['conntrack', 'dump', '--node', 'n-escapes'])
    expect(ACTIVE.test(r.stdout)).toBe(false)
    expect(ACTIVE.test(r.stderr)).toBe(false)
    expect(r.stderr).toContain('\\x1b]0;pwned\\x07')
    expect(r.exitCode).toBe(1)
  })

  it('-o json stays one valid document when nodes fail, time out mid-stream, or have no entries', async () => {
    const r = await cli([
      'conntrack', 'dump', '--node', 'n-stall', '--node', 'n-escapes', '--node', 'n-ok', '--node-timeout', '4s', '-o', 'json',
      '--port', '9099',
    ])
    expect(r.exitCode).toBe(1)
    const doc = JSON.parse(r.stdout) as {nodes: {node: string; entries: {dst: {port: number}}[]; error?: {reason: string; message: string}; summary?: {matched: number}}[]}
    expect(doc.nodes.map((n) => n.node)).toEqual(['n-stall', 'n-escapes', 'n-ok'])
    const [stall, escapes, ok] = doc.nodes
    expect(stall!.error?.message).toMatch(/timed out after 4s/)
    expect(escapes!.error).toBeDefined()
    expect(escapes!.entries).toEqual([])
    expect(ok!.error).toBeUndefined()
    expect(ok!.entries).toHaveLength(20)
    expect(ok!.summary?.matched).toBe(20)
    const none = await cli(['conntrack', 'dump', '--node', 'n-ok', '--node', 'n-ok', '--port', '1', '-o', 'json'])
    expect((JSON.parse(none.stdout) as {nodes: {entries: unknown[]}[]}).nodes.map((n) => n.entries)).toEqual([[], []])
  })
})
