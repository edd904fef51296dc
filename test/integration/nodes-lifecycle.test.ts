/** Process lifecycle: a CLI using SshRunner exits after close(); a rig dies with the process that started it. */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {execa} from 'execa'
import {afterAll, describe, expect, it, onTestFinished} from 'vitest'

import {isAlive} from '../support/node-rig/index.js'

const isRoot = process.getuid?.() === 0
const root = resolve(import.meta.dirname, '../..')
const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-lifecycle-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function script(name: string, body: string): string {
  const p = join(dir, name)
  writeFileSync(p, body)
  return p
}

describe.skipIf(!isRoot)('process lifecycle', () => {
  it('a process that ran commands over SSH exits on its own after runner.close()', async () => {
    const p = script(
      'cli.mts',
      `import {startRig} from '${root}/test/support/node-rig/index.ts'
import {SshRunner} from '${root}/src/lib/nodes/ssh.ts'
const rig = await startRig({nodes: [{name: 'a'}, {name: 'b'}]})
const runner = new SshRunner(rig.sshOptions())
const rs = await Promise.all(rig.targets().map((t) => runner.run(t, ['echo', t.name], {timeoutMs: 10000})))
console.log(rs.map((r) => r.stdout.trim()).join(','))
await runner.close()
await rig.stop()
console.log(Date.now())
`,
    )
    // Start-up (tsx, keys, sshds) is seconds on a busy machine: the bound is on the exit, from close() on.
    const r = await execa('node', ['--import', 'tsx', p], {cwd: root, timeout: 120_000, reject: false})
    const exitedAt = Date.now()
    expect(r.stderr).toBe('')
    const [names, closedAt] = r.stdout.split('\n')
    expect(names).toBe('a,b')
    expect(r.exitCode).toBe(0)
    expect(exitedAt - Number(closedAt)).toBeLessThan(10_000)
  }, 150_000)

  it('the rig sshds die when the process that started it is SIGKILLed', async () => {
    const p = script(
      'killed.mts',
      `import {startRig} from '${root}/test/support/node-rig/index.ts'
const rig = await startRig({nodes: [{name: 'a'}, {name: 'b'}, {name: 'c'}]})
console.log(JSON.stringify({dir: rig.dir, pids: rig.nodes.map((n) => n.pid)}))
setInterval(() => {}, 1000)
`,
    )
    const child = execa('node', ['--import', 'tsx', p], {cwd: root, reject: false, buffer: false})
    const started = await new Promise<{dir: string; pids: number[]}>((res, rej) => {
      let out = ''
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('\n')) res(JSON.parse(out.split('\n')[0]!) as {dir: string; pids: number[]})
      })
      child.on('exit', () => rej(new Error('exited early')))
    })
    const {pids} = started
    // A SIGKILLed process cannot remove its rig's temp dir: this test does.
    onTestFinished(() => rmSync(started.dir, {recursive: true, force: true}))
    expect(pids.every(isAlive)).toBe(true)
    child.kill('SIGKILL')
    await child
    const deadline = Date.now() + 5000
    while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(pids.filter(isAlive)).toEqual([])
  }, 120_000) // the child's rig start-up is most of it: 27 s at 8% of a CPU
})
