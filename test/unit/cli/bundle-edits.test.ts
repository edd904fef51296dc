/**
 * scripts/bundle.mjs edits a few lines of @oclif/core and its dependencies inside the bundle, for start-up. Each edit
 * is only the same behaviour under a condition; these tests hold the condition, so a change that breaks it fails here:
 * - the command sort compares code units instead of localeCompare: both orders must agree on our command ids (the
 *   order reaches typo suggestions and completion);
 * - help text without an ejs tag is not run through ejs: ejs must render such text as itself;
 * - string-width returns a printable-ASCII string's length without its emoji pass: it must be that string's width;
 * - ansis's strip regex has ESC and CSI escaped instead of raw (the bundle stays ASCII): it must strip the same.
 * test/integration/bundle-vs-oclif.test.ts compares the whole bundled CLI with unmodified oclif.
 */
import {readFileSync, readdirSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join, relative, sep} from 'node:path'
import fc from 'fast-check'
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

describe('bundled oclif: help text without ejs tags skips ejs', () => {
  // ejs as oclif loads it (a dependency of @oclif/core; no types of its own).
  const oclifRequire = createRequire(createRequire(import.meta.url).resolve('@oclif/core/package.json'))
  const ejs = oclifRequire('ejs') as {render(template: string, data: object): string}
  const context = {config: {bin: 'ebpfctl'}, command: {id: 'check'}}
  const hasTag = (s: string) => s.includes('<%') || s.includes('%>')
  const BIN_TAG = '<%= config.bin %>'
  const escapeLikeEjs = (s: string) =>
    s.replace(/[&<>'"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', "'": '&#39;', '"': '&#34;'})[c]!)
  // The shortcut as scripts/bundle.mjs writes it into oclif's help/util.js (keep the two the same).
  const shortcutWith = (ctx: {config: {bin?: string}}) => (t: string) => {
    const plain = t.replaceAll(BIN_TAG, '')
    if (!hasTag(plain)) return t.replaceAll(BIN_TAG, () => escapeLikeEjs(String(ctx.config.bin ?? '')))
    return ejs.render(t, ctx)
  }
  const shortcut = shortcutWith(context)

  it('renders text without tags as itself: quotes, backslashes, CR/LF, %, <, >, _, -', () => {
    const pieces = ['"', "'", '\\', '\\n', '\n', '\r\n', '\r', '%', '<', '>', '_', '-', '%%', '<<', '>>', 'a', ' ', '\t', '${x}', '`', '\u2028']
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), {maxLength: 12}), (parts) => {
        const text = parts.join('')
        fc.pre(!hasTag(text))
        expect(ejs.render(text, context)).toBe(text)
      }),
      {numRuns: 2000},
    )
  })

  it('renders `<%= config.bin %>` among other text and tags exactly as ejs does', () => {
    const pieces = [BIN_TAG, '<%', '%>', '<%%', '%%>', '-%>', '<%= config.bin -%>', '<%- config.bin %>', '<%# x %>', '"', '\\', '\n', '\r\n', '%', '<', '>', ' ', 'a']
    const bins = ['ebpfctl', 'kubectl calico-ebpf', `a&b<"'>`]
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), {maxLength: 8}), fc.constantFrom(...bins), (parts, bin) => {
        const text = parts.join('')
        const ctx = {config: {bin}}
        let expected: string
        try {
          expected = ejs.render(text, ctx)
        } catch {
          return // ejs rejects it (an unclosed tag): the shortcut hands such text to ejs as well
        }
        expect(shortcutWith(ctx)(text)).toBe(expected)
      }),
      {numRuns: 3000},
    )
  })

  it('renders every string of the manifest the same with and without the shortcut', () => {
    const manifest = readFileSync(join(process.cwd(), 'oclif.manifest.json'), 'utf8')
    const strings: string[] = []
    JSON.parse(manifest, (_key, value: unknown) => {
      if (typeof value === 'string') strings.push(value)
      return value
    })
    expect(strings.some(hasTag)).toBe(true) // the templated ones still go through ejs
    for (const s of strings) expect(shortcut(s)).toBe(ejs.render(s, context))
  })
})

describe('bundled string-width: printable ASCII is as wide as it is long', () => {
  // string-width as oclif's help and cli-table3 load it (no types of its own).
  const oclifRequire = createRequire(createRequire(import.meta.url).resolve('@oclif/core/package.json'))
  const stringWidth = oclifRequire('string-width') as (s: string) => number
  const printableAscii = /^[\x20-\x7e]*$/

  it('matches string-width on random printable ASCII, with and without colour codes', () => {
    const ascii = fc.string({unit: fc.integer({min: 0x20, max: 0x7e}).map((c) => String.fromCharCode(c)), maxLength: 80})
    fc.assert(
      fc.property(ascii, fc.constantFrom('', '\u001b[1m', '\u001b[31m'), (text, colour) => {
        expect(printableAscii.test(text)).toBe(true)
        expect(stringWidth(colour + text + (colour && '\u001b[39m'))).toBe(text.length)
      }),
      {numRuns: 3000},
    )
  })

  it('matches string-width on every printable-ASCII line of the manifest', () => {
    const lines = readFileSync(join(process.cwd(), 'oclif.manifest.json'), 'utf8')
      .split(/\\n|"/)
      .filter((l) => printableAscii.test(l))
    expect(lines.length).toBeGreaterThan(100)
    for (const l of lines) expect(stringWidth(l)).toBe(l.length)
  })
})

describe('bundled ansis: its strip regex with ESC and CSI escaped', () => {
  // The regex literal in ansis as oclif loads it, and as scripts/bundle.mjs rewrites it (raw ESC and U+009B escaped).
  const oclifRequire = createRequire(createRequire(import.meta.url).resolve('@oclif/core/package.json'))
  const source = readFileSync(oclifRequire.resolve('ansis'), 'utf8')
  const literal = /e\.replace\(\/(\[\u001b\u009b\][^/]*)\/g/.exec(source)?.[1]

  it('strips exactly what ansis strips', () => {
    expect(literal).toBeDefined()
    const original = new RegExp(literal!, 'g')
    const edited = new RegExp(literal!.replace('\u001b', '\\x1b').replace('\u009b', '\\x9b'), 'g')
    expect(edited.source).not.toMatch(/[^\x00-\x7f]/)
    const pieces = ['\u001b', '\u009b', '[', ']', '(', '#', ';', '?', '0', '31', '1;2', 'm', 'K', 'A', 'z', 'x', ' ', '\u00e9']
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), {maxLength: 10}), (parts) => {
        const text = parts.join('')
        expect(text.replace(edited, '')).toBe(text.replace(original, ''))
      }),
      {numRuns: 3000},
    )
  })
})
