/**
 * The node tool's output is untrusted: every text and --json parser of the dataplane views must turn any text into a
 * result (errors reported as one-line strings), never throw, and take time linear in the input.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {parseConntrackJson, parseConntrackStatsJson, parseNatAffinityJson, parseNatDumpJson} from '../../../src/lib/maps/agent-json.js'
import {parseConntrackStatsText} from '../../../src/lib/maps/ct-stats-text.js'
import {parseConntrackText} from '../../../src/lib/maps/ct-text.js'
import {parseNatAffinityText, parseNatDumpText} from '../../../src/lib/maps/nat-text.js'
import {parseCountersJson, parseCountersText} from '../../../src/lib/maps/counters.js'
import {parseIfstateJson, parseIfstateText} from '../../../src/lib/maps/ifstate.js'
import {parseMaglevJson, parseMaglevText} from '../../../src/lib/maps/maglev.js'
import {fixture} from './helpers.js'

const PARSERS: Record<string, (text: string) => unknown> = {
  parseIfstateText,
  parseIfstateJson,
  parseCountersText,
  parseCountersJson,
  parseConntrackStatsText,
  parseConntrackStatsJson,
  parseNatAffinityText,
  parseNatAffinityJson,
  parseMaglevText,
  parseMaglevJson,
  parseNatDumpText,
  parseNatDumpJson,
  parseConntrackText,
  parseConntrackJson,
}

/** The error strings a parse result carries, wherever its shape keeps them. */
function errorsOf(result: unknown): string[] {
  const r = result as {errors?: unknown}
  return Array.isArray(r.errors) ? (r.errors as string[]) : []
}

// Pieces of every format these parsers read (real fixtures and Calico's format strings), and of what breaks them.
const FRAGMENTS = [
  ...fixture('ifstate-1-calico-live-2023.txt').split(/(?<=[ ,:{}])/),
  ...fixture('counters-3-tigera-docs.txt').split('\n').slice(0, 12),
  ...fixture('fmt-ct-stats.txt').split('\n'),
  ...fixture('doc-nat-aff.txt').split(/(?<= )/),
  ...fixture('fmt-nat-maglev.txt').split(/(?<= )/),
  ...fixture('fmt-ifstate.json').split(/(?<=[,{[])/),
  ...fixture('fmt-counters.json').split(/(?<=[,{[])/),
  ...fixture('fmt-nat-aff.json').split(/(?<=[,{[])/),
  ...fixture('doc-ct-raw.txt').split(/(?<=[ {])/).slice(0, 60),
  ...fixture('nat-7-tigera-docs.txt').split(/(?<=[ \t])/).slice(0, 40),
  '\n', '\r\n', '\r', ' ', '  ', '\t', '{', '}', '[', ']', '"', '\\', ':', ',', '|', '-1', '0', '4294967295', 'null',
  'name: ', 'dumped ', ' counters.', 'svc ', ' ordinal ', ' -> ', '[::1]:', 'client ', 'AffinityKey{', 'Using config file: /x\n',
  '[root@node /]# ', 'Error: unknown flag: --json\n', '2026-07-30 10:26:08.453 [ERROR][597] x.go 1: boom\n', '\u001b[31m', '\u0000',
]

const grammarText = fc.array(fc.constantFrom(...FRAGMENTS), {maxLength: 120}).map((parts) => parts.join(''))
const anyText = fc.oneof(grammarText, fc.string({maxLength: 400, unit: 'binary'}), fc.string({maxLength: 400}))

describe('dataplane view parsers: any text in, a result out', () => {
  for (const [name, parse] of Object.entries(PARSERS)) {
    it(`${name}: never throws, errors are single lines, time bounded`, () => {
      fc.assert(
        fc.property(anyText, (text) => {
          const started = performance.now()
          const result = parse(text)
          expect(performance.now() - started).toBeLessThan(500)
          for (const e of errorsOf(result)) expect(e).not.toMatch(/\n/)
        }),
        {numRuns: 300},
      )
    })
  }

  // Inputs of the size the read bound allows (64 KiB) built to make backtracking regexes blow up.
  const N = 64 * 1024
  const fill = (s: string) => s.repeat(Math.ceil(N / s.length)).slice(0, N)
  const ADVERSARIAL: Record<string, string> = {
    'a line of spaces': `a${' '.repeat(N)}b`,
    'spaces before no colon': `TCP${' '.repeat(N)}x`,
    'name: without its brace': `1 : {flags: ${fill('name: ')}`,
    'flags without end': `1 : {flags: ${fill('a,')}`,
    'at signs (prompt-like)': fill('a@'),
    'bracketed at signs': `[${fill('a@')}`,
    'table cells': fill('| '),
    'captions': `| dumped ${fill('counters. ')}`,
    'open brackets': fill('['),
    'escaped quotes': `{"${fill('\\"')}`,
    'maglev arrows': fill('svc 1 ordinal 2 -> '),
    'affinity keys': fill('AffinityKey{ClientIP:1 FrontEndAffinityKey{Proto:6 Addr:1 Port:1}} '),
    'raw conntrack data (256 KiB)': `ConntrackKey{proto=6 1.1.1.1:1 <-> 2.2.2.2:2} -> Entry{Type:0, LastSeen:1, Flags:${fill(' Data: {').repeat(4)} Active ago 1s`,
    'nat frontend flags': `1.1.1.1 port 1 proto 6 id 1 count 1 local 0 flags ${fill('x src ')}`,
  }

  it('64 KiB adversarial lines: every parser returns within 2 s (the ifstate text parser took 17 s, conntrack stats 8 s, a raw conntrack line 3 s)', () => {
    for (const [name, parse] of Object.entries(PARSERS)) {
      for (const [what, text] of Object.entries(ADVERSARIAL)) {
        const started = performance.now()
        parse(text)
        const ms = performance.now() - started
        expect({parser: name, input: what, slow: ms > 2000}).toEqual({parser: name, input: what, slow: false})
      }
    }
  }, 120_000)
})

describe('nat maglev and conntrack stats around noise', () => {
  it('maglev text: prompt and log lines are noise, errors collected, entries kept', () => {
    const r = parseMaglevText(
      `[root@node-1 /]# calico-node -bpf nat maglev\n${fixture('fmt-nat-maglev.txt')}2026-07-30 10:26:08.453 [ERROR][5] node/nat.go 9: Failed to dump maglev map\n`,
    )
    expect(r.entries.map((e) => [e.serviceId, e.ordinal, e.backend.ip, e.backend.port])).toEqual([
      [12, 0, '7.7.7.7', 90],
      [35, 0, '5.5.5.5', 8080],
      [35, 1, '6.6.6.6', 8080],
    ])
    expect(r).toMatchObject({unknown: [], noise: 2})
    expect(r.errors).toEqual(['2026-07-30 10:26:08.453 [ERROR][5] node/nat.go 9: Failed to dump maglev map'])
  })

  it('maglev --json: the `Using config file:` line is skipped, output that is not JSON is an error, not a throw', () => {
    expect(parseMaglevJson(`Using config file: /root/.calico-bpf.yaml\n${fixture('fmt-nat-maglev.json')}`).entries).toHaveLength(3)
    const r = parseMaglevJson('Error: unknown command "maglev" for "calico-bpf nat"\n')
    expect(r.entries).toEqual([])
    expect(r.errors.length).toBeGreaterThan(0)
    expect(parseMaglevJson('{"svc_id": 1}').errors).toEqual(['nat maglev JSON is not an array'])
  })

  it('conntrack stats text: labels with odd spacing still read, a value that is not a number is an unknown line', () => {
    const r = parseConntrackStatsText('Conntrack map size:   512000\nTCP   :  7\nTotal connections: many\n')
    expect(r.entries).toEqual([{mapSize: 512000, tcp: 7}])
    expect(r.unknownLines).toBe(1)
  })
})
