/** Typos: one line with a suggestion and a one-line usage (never the whole help), exit 2; names with spaces. */
import {describe, expect, it} from 'vitest'

import {cli} from '../support/cli.js'

describe('typos', {timeout: 60_000}, () => {
  it('an unknown flag: did you mean, and a one-line usage', async () => {
    const r = await cli(['check', '--ouput', 'json'])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      'Error: unknown flag --ouput; did you mean --output?\nUsage: ebpfctl check [flags]   (all flags: ebpfctl check --help)\n',
    )
    const dump = await cli(['conntrack', 'dump', '--nat-onyl'])
    expect(dump.stderr).toMatch(/^Error: unknown flag --nat-onyl; did you mean --nat-only\?\nUsage: ebpfctl conntrack dump \[flags\]/)
    // Nothing close: no guess, still one line and the usage.
    const far = await cli(['status', '--zzzzzzzz'])
    expect(far.stderr.split('\n').filter(Boolean)).toEqual(['Error: unknown flag --zzzzzzzz', expect.stringMatching(/^Usage: ebpfctl status /)])
  })

  it('an unknown command: did you mean `nat dump`, names with spaces, not colons', async () => {
    const r = await cli(['nat', 'dupm'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'Error: unknown command "nat dupm"; did you mean `nat dump`?\nUsage: ebpfctl nat dump [flags]   (all flags: ebpfctl nat dump --help)\n',
    )
    expect((await cli(['chek'])).stderr).toMatch(/^Error: unknown command "chek"; did you mean `check`\?\n/)
    expect((await cli(['frobnicate'])).stderr).toMatch(/^Error: unknown command "frobnicate"\nUsage: ebpfctl COMMAND/)

    // A real command with a word it does not take: that word is named, with that command's usage.
    const stray = await cli(['status', 'extra', 'words'])
    expect(stray.code).toBe(2)
    expect(stray.stderr).toBe('Error: unexpected arguments "extra words" for `status`\nUsage: ebpfctl status [flags]   (all flags: ebpfctl status --help)\n')
    expect((await cli(['nat', 'dump', 'node-1'])).stderr).toMatch(/^Error: unexpected argument "node-1" for `nat dump`\nUsage: ebpfctl nat dump \[flags\]/)
    // The same words when oclif's parser finds the stray argument (a flag after it).
    expect((await cli(['check', 'kernal', '--local'])).stderr).toBe(
      'Error: unexpected argument "kernal" for `check`\nUsage: ebpfctl check [flags]   (all flags: ebpfctl check --help)\n',
    )
  })

  it('a bad option value: one line and the usage, not 60 lines of help', async () => {
    const r = await cli(['check', '-o', 'xml'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'Error: Expected --output=xml to be one of: table, wide, json, yaml, junit\nUsage: ebpfctl check [flags]   (all flags: ebpfctl check --help)\n',
    )
  })

  it('help shows command names with spaces', async () => {
    const r = await cli(['nat', 'dump', '--help'])
    expect(r.stdout).toContain('$ ebpfctl nat dump')
    expect(r.stdout).not.toMatch(/nat:dump/)
  })
})
