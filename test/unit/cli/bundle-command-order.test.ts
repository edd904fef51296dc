/**
 * The bundle replaces oclif's `localeCompare` sort of command ids with a code-unit sort (scripts/bundle.mjs: the first
 * localeCompare costs ~0.14x a bare node start). That is only the same behaviour while both sorts agree on our ids
 * (the order reaches typo suggestions and completion): a new command whose id sorts differently fails here.
 */
import {readdirSync, statSync} from 'node:fs'
import {join, relative, sep} from 'node:path'
import {describe, expect, it} from 'vitest'

function commandIds(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return commandIds(path, root)
    return name.endsWith('.ts') ? [relative(root, path).replace(/\.ts$/, '').split(sep).join(':')] : []
  })
}

describe('bundled oclif: command order', () => {
  const ids = commandIds(join(process.cwd(), 'src', 'commands'))

  it('finds the commands', () => {
    expect(ids).toContain('check')
    expect(ids).toContain('nat:dump')
  })

  it('sorts the command ids by code unit exactly as localeCompare does', () => {
    const byLocale = [...ids].sort((a, b) => a.localeCompare(b))
    const byCodeUnit = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    expect(byCodeUnit).toEqual(byLocale)
  })
})
