import {execa} from 'execa'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {shellJoin, shellQuote} from '../../../src/lib/nodes/quote.js'

/** What `sh` makes of the quoted command line: the argv bytes printf receives. */
async function throughSh(args: string[]): Promise<string[]> {
  const {stdout} = await execa('sh', ['-c', `printf '%s\\0' ${args.map(shellQuote).join(' ')}`], {
    stripFinalNewline: false,
  })
  return stdout.split('\0').slice(0, -1)
}

describe('shellQuote', () => {
  it('leaves plain words bare and quotes everything else', () => {
    expect(shellQuote('bpftool')).toBe('bpftool')
    expect(shellQuote('/sys/fs/bpf/tc/globals/cali_v4_nat_fe3')).toBe('/sys/fs/bpf/tc/globals/cali_v4_nat_fe3')
    expect(shellQuote('-j')).toBe('-j')
    expect(shellQuote('')).toBe("''")
    expect(shellQuote('a b')).toBe("'a b'")
    expect(shellQuote("it's")).toBe("'it'\\''s'")
    expect(shellQuote('$(x)')).toBe("'$(x)'")
    expect(shellQuote('A=b')).toBe("'A=b'") // never an assignment as a first word
    expect(shellQuote('~')).toBe("'~'")
    expect(shellJoin(['sudo', '-n', '--', 'cat', '/proc/version'])).toBe('sudo -n -- cat /proc/version')
  })

  it('rejects NUL and an empty argv', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/)
    expect(() => shellJoin([])).toThrow(/empty/)
  })

  it('round-trips hostile strings through a real sh', async () => {
    const corpus = [
      '$(touch /tmp/ebpfctl-pwned)',
      '`id`',
      '; rm -rf /',
      '&& x',
      "'",
      '"',
      '\\',
      '\n',
      '',
      '-',
      '*',
      '~',
      '!',
      '日本語 🐧',
    ]
    expect(await throughSh(corpus)).toEqual(corpus)
  })

  it('round-trips arbitrary strings through a real sh (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(
            fc.string({
              unit: fc.oneof(
                fc.constantFrom(...'\'"\\$`!*?[]{}()<>|&;#~= \t\n-'.split('')),
                fc.string({unit: 'grapheme', minLength: 1, maxLength: 1}),
                fc.constantFrom('é', '🐧'),
              ),
            }),
            {minLength: 1, maxLength: 6},
          )
          .filter((a) => !a.some((s) => s.includes('\0'))),
        async (args) => {
          expect(await throughSh(args)).toEqual(args)
        },
      ),
      {numRuns: 60},
    )
  }, 60_000)
})
