/** The pseudo-terminal driver the TAB tests use: a real terminal, typed keys, bounded waits and lifetime. */
import {afterEach, describe, expect, it} from 'vitest'

import {Pty} from './index.js'

const env = {PATH: '/usr/local/bin:/usr/bin:/bin', TERM: 'xterm'}
let pty: Pty | undefined
afterEach(async () => {
  await pty?.close()
  pty = undefined
})

describe('Pty', () => {
  it('the program runs on a terminal of the given size and reads the keys typed', {timeout: 30_000}, async () => {
    pty = new Pty('sh', ['-c', 'test -t 0 && test -t 1 && echo "on a tty: $(stty size)"; read line; echo "typed: $line"'], {env, cols: 123, rows: 45})
    await pty.waitFor(/on a tty: 45 123/)
    pty.send('hello\r')
    expect((await pty.waitFor(/typed: (\w+)/))[1]).toBe('hello')
  })

  it('a wait that is not met fails in time and shows the last lines', {timeout: 30_000}, async () => {
    pty = new Pty('sh', ['-c', 'echo first words; sleep 60'], {env})
    await pty.waitFor(/first words/)
    const from = pty.mark()
    await expect(pty.waitFor(/never/, {from, timeoutMs: 300})).rejects.toThrow(/no \/never\/ within 300 ms; its last lines:\n[^]*first words/)
  })

  it('a program that outlives its deadline is killed', {timeout: 30_000}, async () => {
    const t0 = Date.now()
    pty = new Pty('sleep', ['600'], {env, deadlineMs: 1000})
    await expect(pty.waitFor(/never/, {timeoutMs: 20_000})).rejects.toThrow(/exited \(124\)/)
    expect(Date.now() - t0).toBeLessThan(15_000)
  })
})
