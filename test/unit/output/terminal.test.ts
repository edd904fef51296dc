import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {jsonDocument, sanitizeForTerminal, xmlSafe} from '../../../src/lib/output/terminal.js'

// Anything a terminal acts on: C0 but \t \n, DEL, C1, bidi overrides/isolates.
// eslint-disable-next-line no-control-regex
const ACTIVE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/

describe('sanitizeForTerminal', () => {
  it('makes ESC, OSC, CR, BEL and C1 visible and keeps newlines, tabs and text', () => {
    const hostile = '5.15.0\u001B]0;owned\u0007\u001B[2J\rOK\u009B31m\ttab\nnext \u202Eevil'
    const out = sanitizeForTerminal(hostile)
    expect(out).toBe('5.15.0\\x1b]0;owned\\x07\\x1b[2J\\rOK\\x9b31m\ttab\nnext \\u202eevil')
    expect(ACTIVE.test(out)).toBe(false)
  })

  it('lets through exactly the colour codes ebpfctl paints with, nothing else', () => {
    expect(sanitizeForTerminal('\u001B[32mpass\u001B[39m \u001B[1mb\u001B[22m')).toBe('\u001B[32mpass\u001B[39m \u001B[1mb\u001B[22m')
    expect(sanitizeForTerminal('\u001B[8mhidden\u001B[0m')).toBe('\\x1b[8mhidden\\x1b[0m')
    expect(sanitizeForTerminal('\u001B[31;1m')).toBe('\\x1b[31;1m')
  })

  it('keeps the progress line rewrite only where asked, at the start', () => {
    expect(sanitizeForTerminal('\r\u001B[2Kwaiting', {lineRewrite: true})).toBe('\r\u001B[2Kwaiting')
    expect(sanitizeForTerminal('x\r\u001B[2Kwaiting', {lineRewrite: true})).toBe('x\\r\\x1b[2Kwaiting')
    expect(sanitizeForTerminal('\r\u001B[2Kwaiting')).toBe('\\r\\x1b[2Kwaiting')
  })

  it('never leaves an active control character, whatever the input (property)', () => {
    fc.assert(
      fc.property(fc.string({unit: 'binary'}), (s) => {
        const out = sanitizeForTerminal(s).replace(/\u001B\[(?:1|2|22|31|32|33|39|90)m/g, '')
        expect(ACTIVE.test(out)).toBe(false)
      }),
    )
  })
})

describe('machine documents', () => {
  it('jsonDocument is exact JSON that carries no raw control character', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({unit: 'binary'}), (v, s) => {
        const text = jsonDocument({v, s})
        expect(JSON.parse(text)).toStrictEqual(JSON.parse(JSON.stringify({v, s})))
        expect(ACTIVE.test(text.replace(/\n/g, ''))).toBe(false)
      }),
    )
  })

  it('xmlSafe removes every character XML 1.0 cannot hold (U+FFFF, U+FFFE, C0, lone surrogates)', () => {
    expect(xmlSafe('a\uFFFFb\uFFFEc\u0001d\uD800e\tf\n😀')).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\tf\n😀')
  })
})

describe('yamlDocument', () => {
  it('is exact YAML with no raw C1, bidi or U+FFFF, whatever the strings (property)', async () => {
    const {parse} = await import('yaml')
    const {yamlDocument} = await import('../../../src/lib/output/terminal.js')
    expect(await yamlDocument({a: 'plain'})).toBe('a: plain\n')
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({unit: 'binary'}), {maxLength: 4}), async (values) => {
        const doc = {nodes: values.map((v) => ({node: v, warnings: [v]}))}
        const text = await yamlDocument(doc)
        expect(parse(text)).toStrictEqual(doc)
        expect(/[\u0080-\u0084\u0086-\u009F\u202A-\u202E\u2066-\u2069\uFFFE\uFFFF]/.test(text)).toBe(false)
      }),
    )
  })
})
