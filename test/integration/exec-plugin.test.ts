/**
 * Exec credential plugins run under --request-timeout with bounded output, their process group killed; Ctrl-C exits.
 * (Before, client-node ran the plugin with no bound: a hanging plugin hung every command, and Ctrl-C never exited.)
 */
import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'

import {connect} from '../../src/lib/kube/connect.js'
import {Resources} from '../../src/lib/kube/resources.js'
import {type FakeApiServer, startFakeApiServer} from '../support/fake-apiserver/index.js'
import {cli} from '../support/cli.js'

let server: FakeApiServer
let dir: string

beforeAll(async () => {
  if (!existsSync('dist/commands/enable.js')) throw new Error('run `npm run build` first (these tests run the built CLI)')
  dir = mkdtempSync(join(tmpdir(), 'exec-plugin-'))
  server = await startFakeApiServer()
  server.store.seed([{apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'kube-system'}}])
})
afterAll(async () => {
  await server?.close()
  rmSync(dir, {recursive: true, force: true})
})

/** A kubeconfig in its own directory whose user runs `./plugin.sh` (relative: resolved from that directory). */
function kubeconfigWithPlugin(name: string, script: string): string {
  const d = join(dir, name)
  mkdirSync(d, {recursive: true})
  const path = server.writeKubeconfig(d)
  writeFileSync(join(d, 'plugin.sh'), `#!/bin/sh\n${script}\n`)
  chmodSync(join(d, 'plugin.sh'), 0o755)
  const doc = parse(readFileSync(path, 'utf8'))
  doc.users[0].user = {exec: {apiVersion: 'client.authentication.k8s.io/v1', command: './plugin.sh', interactiveMode: 'Never'}}
  writeFileSync(path, stringify(doc))
  return path
}

const credential = (token: string) =>
  `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${token}"}}'`


describe('exec credential plugins', () => {
  it('a relative plugin is run from the kubeconfig directory and its token used', async () => {
    const kube = await connect({kubeconfig: kubeconfigWithPlugin('good', credential(server.token)), timeoutMs: 5000})
    try {
      expect((await kube.list(Resources.namespaces)).map((n) => n.metadata.name)).toContain('kube-system')
    } finally {
      kube.close()
    }
  })

  it('a hanging plugin is stopped at --request-timeout, with its children', {timeout: 120_000}, async () => {
    const pidFile = join(dir, 'hang.pid')
    const startedFile = join(dir, 'hang.started-ms')
    const kubeconfig = kubeconfigWithPlugin('hang', `date +%s%3N > ${startedFile}; sleep 300 & echo $! > ${pidFile}; wait`)
    const r = await cli(['revert', '--dry-run', '--kubeconfig', kubeconfig, '--request-timeout', '1s'])
    const exitedAt = Date.now()
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('exec credential plugin "./plugin.sh" of user "fake-user" did not finish within 1s')
    // Timed from the plugin's start, not the CLI's: the CLI's own start-up is seconds on a busy machine.
    expect(exitedAt - Number(readFileSync(startedFile, 'utf8'))).toBeLessThan(10_000)
    const child = Number(readFileSync(pidFile, 'utf8'))
    // The plugin's own child is gone too (or a zombie waiting for its new parent to reap it).
    const stat = existsSync(`/proc/${child}/stat`) ? readFileSync(`/proc/${child}/stat`, 'utf8') : ''
    expect(stat === '' || / Z /.test(stat), stat).toBe(true)
  })

  it('a plugin printing endless output is cut off at 1 MiB', {timeout: 120_000}, async () => {
    const kubeconfig = kubeconfigWithPlugin('endless', 'exec yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')
    const r = await cli(['revert', '--dry-run', '--kubeconfig', kubeconfig, '--request-timeout', '20s'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('printed more than 1 MiB (the byte bound)')
  })

  it('output that is not an ExecCredential is refused with the reason', async () => {
    const kube = await connect({
      kubeconfig: kubeconfigWithPlugin('bad', `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}'`),
      timeoutMs: 5000,
    })
    try {
      await expect(kube.list(Resources.namespaces)).rejects.toThrow(/printed an invalid ExecCredential/)
    } finally {
      kube.close()
    }
  })

  it('Ctrl-C while the plugin hangs exits at once', {timeout: 120_000}, async () => {
    const started = join(dir, 'ctrl-c.started')
    const kubeconfig = kubeconfigWithPlugin('ctrl-c', `touch ${started}; sleep 300`)
    const child = spawn(process.execPath, ['bin/run.js', 'enable', '--dry-run', '--kubeconfig', kubeconfig, '--request-timeout', '60s'], {
      env: {...process.env, NO_COLOR: '1'},
    })
    let stderr = ''
    child.stderr.on('data', (c) => (stderr += c))
    // The CLI's start-up until it runs the plugin: seconds on a busy machine (over 10 s at 8% of a CPU).
    const deadline = Date.now() + 90_000
    while (!existsSync(started) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(existsSync(started)).toBe(true)
    const t0 = Date.now()
    child.kill('SIGINT')
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(code).not.toBe(0)
    expect(stderr).toContain('interrupted')
  })
})
