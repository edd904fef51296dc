import {describe, expect, it} from 'vitest'

import {LocalRunner} from '../../../src/lib/nodes/local.js'

describe('LocalRunner', () => {
  const r = new LocalRunner()
  const node = {name: 'local'}

  it('runs argv without a shell and returns stdout, stderr and the exit code', async () => {
    expect(r.via).toBe('local')
    expect(await r.run(node, ['sh', '-c', 'echo out; echo err >&2; exit 4'], {timeoutMs: 5000})).toEqual({
      stdout: 'out\n',
      stderr: 'err\n',
      exitCode: 4,
    })
    expect((await r.run(node, ['echo', '$(id)', '`x`'], {timeoutMs: 5000})).stdout).toBe('$(id) `x`\n')
  })

  it('a missing program is exit 127, a timeout is a NodeAccessError', async () => {
    expect((await r.run(node, ['/nonexistent/prog'], {timeoutMs: 5000})).exitCode).toBe(127)
    await expect(r.run(node, ['sleep', '10'], {timeoutMs: 100})).rejects.toMatchObject({
      node: 'local',
      reason: 'timeout',
    })
  })

  it('streams stdout when asked', async () => {
    const chunks: Buffer[] = []
    const res = await r.run(node, ['seq', '1', '1000'], {timeoutMs: 5000, onStdout: (c) => chunks.push(c)})
    expect(res.stdout).toBe('')
    expect(Buffer.concat(chunks).toString().split('\n')).toHaveLength(1001)
  })
})
