import {createHmac, randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'

import {
  KnownHosts,
  blobKeyType,
  entryMatches,
  fingerprint,
  hostToken,
  parseKnownHosts,
} from '../../../src/lib/nodes/known-hosts.js'

function fakeBlob(type: string, body: string): Buffer {
  const t = Buffer.from(type)
  const len = Buffer.alloc(4)
  len.writeUInt32BE(t.length)
  const b = Buffer.from(body)
  const blen = Buffer.alloc(4)
  blen.writeUInt32BE(b.length)
  return Buffer.concat([len, t, blen, b])
}
const K1 = fakeBlob('ssh-ed25519', 'key-one-32-bytes-xxxxxxxxxxxxxxx')
const K2 = fakeBlob('ssh-ed25519', 'key-two-32-bytes-xxxxxxxxxxxxxxx')
const R1 = fakeBlob('ssh-rsa', 'rsa-key')
const b64 = (b: Buffer) => b.toString('base64')

function hashed(token: string, key: Buffer, type = 'ssh-ed25519'): string {
  const salt = randomBytes(20)
  const h = createHmac('sha1', salt).update(token).digest()
  return `|1|${b64(salt)}|${b64(h)} ${type} ${b64(key)}`
}

describe('known_hosts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebpfctl-kh-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('tokens: bare host on 22, [host]:port otherwise', () => {
    expect(hostToken('10.0.0.1', 22)).toBe('10.0.0.1')
    expect(hostToken('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222')
    expect(hostToken('fd00::1', 2222)).toBe('[fd00::1]:2222')
  })

  it('parses plain, bracketed, comma-listed, hashed and marked lines; skips junk', () => {
    const text = [
      '# comment',
      '',
      `node-1,10.0.0.1 ssh-ed25519 ${b64(K1)} comment here`,
      `[10.0.0.2]:2222 ssh-ed25519 ${b64(K2)}`,
      hashed('10.0.0.3', K1),
      `@revoked * ssh-ed25519 ${b64(K2)}`,
      `@cert-authority *.example.com ssh-ed25519 ${b64(K1)}`,
      '@bogus host ssh-ed25519 AAAA',
      'onlyhost',
      'host ssh-ed25519 !!notbase64!!',
    ].join('\n')
    const r = parseKnownHosts(text, 'kh')
    expect(r.entries).toHaveLength(5)
    expect(r.entries[0]).toMatchObject({line: 3, patterns: ['node-1', '10.0.0.1'], keyType: 'ssh-ed25519'})
    expect(r.entries[0]!.key.equals(K1)).toBe(true)
    expect(r.entries[2]!.hashed).toBeDefined()
    expect(r.entries[3]!.marker).toBe('revoked')
    expect(r.entries[4]!.marker).toBe('cert-authority')
    expect(r.warnings).toHaveLength(3)
    expect(r.warnings[0]).toMatch(/^kh:8: unknown marker/)
  })

  it('matches wildcards and negation', () => {
    const [e] = parseKnownHosts(`*.example.com,!bad.example.com,10.0.0.? ssh-ed25519 ${b64(K1)}`).entries
    expect(entryMatches(e!, 'a.example.com')).toBe(true)
    expect(entryMatches(e!, 'A.EXAMPLE.COM')).toBe(true)
    expect(entryMatches(e!, 'bad.example.com')).toBe(false)
    expect(entryMatches(e!, '10.0.0.7')).toBe(true)
    expect(entryMatches(e!, '10.0.0.17')).toBe(false)
    expect(entryMatches(e!, 'example.com')).toBe(false)
    const [p] = parseKnownHosts(`[10.0.0.*]:2222 ssh-ed25519 ${b64(K1)}`).entries
    expect(entryMatches(p!, '[10.0.0.5]:2222')).toBe(true)
    expect(entryMatches(p!, '10.0.0.5')).toBe(false)
  })

  it('verifies: ok, changed, unknown, revoked, cert-authority only', () => {
    const kh = KnownHosts.parse(
      [
        `10.0.0.1 ssh-ed25519 ${b64(K1)}`,
        `10.0.0.4 ssh-rsa ${b64(R1)}`,
        hashed('[10.0.0.3]:2222', K1),
        `@revoked * ssh-ed25519 ${b64(K2)}`,
        `@cert-authority *.ca.example ssh-ed25519 ${b64(K1)}`,
      ].join('\n'),
    )
    expect(kh.verify(['10.0.0.1'], K1).status).toBe('ok')
    expect(kh.verify(['[10.0.0.3]:2222'], K1).status).toBe('ok')
    expect(kh.verify(['10.0.0.3'], K1).status).toBe('unknown') // hashed for port 2222 only
    const changed = fakeBlob('ssh-ed25519', 'a-third-key')
    expect(kh.verify(['10.0.0.1'], changed)).toMatchObject({status: 'changed'})
    expect(kh.verify(['10.0.0.1'], K2).status).toBe('revoked')
    expect(kh.verify(['10.0.0.4'], K1)).toEqual({status: 'unknown', otherTypes: ['ssh-rsa'], certAuthority: false})
    expect(kh.verify(['n.ca.example'], K1)).toEqual({status: 'unknown', otherTypes: [], certAuthority: true})
    expect(kh.verify(['10.9.9.9'], K1)).toEqual({status: 'unknown', otherTypes: [], certAuthority: false})
    expect(kh.knownKeyTypes(['10.0.0.4'])).toEqual(['ssh-rsa'])
  })

  it('a fleet-sized known_hosts: a lookup reads only the lines for that host (not all of them: O(n²) over n nodes)', () => {
    const n = 1000
    const text = Array.from({length: n}, (_, i) => `[10.0.${i >> 8}.${i & 255}]:22${i % 10},Node-${i} ssh-ed25519 ${b64(K1)}`)
    const kh = KnownHosts.parse(text.join('\n'))
    let reads = 0
    for (const e of kh.entries) {
      const patterns = e.patterns
      Object.defineProperty(e, 'patterns', {get: () => (reads++, patterns)})
    }
    for (let i = 0; i < n; i++) expect(kh.verify([`[10.0.${i >> 8}.${i & 255}]:22${i % 10}`, `node-${i}`], K1).status).toBe('ok')
    expect(reads).toBeLessThan(n)
  })

  it('the same entries, in file order, whether a line is literal, wildcard, negated or hashed', () => {
    const kh = KnownHosts.parse(
      [
        `10.0.0.1 ssh-ed25519 ${b64(K1)}`,
        `10.0.0.*,!10.0.0.9 ssh-ed25519 ${b64(K2)}`,
        hashed('10.0.0.1', R1, 'ssh-rsa'),
        `Node-A,10.0.0.1 ssh-rsa ${b64(R1)}`,
        `node-a ssh-ed25519 ${b64(K2)}`,
      ].join('\n'),
    )
    expect(kh.lookup(['10.0.0.1']).map((e) => e.line)).toEqual([1, 2, 3, 4])
    expect(kh.lookup(['NODE-A', '10.0.0.9']).map((e) => e.line)).toEqual([4, 5])
    expect(kh.lookup(['10.0.0.9'])).toEqual([])
  })

  it('matches entries hashed by ssh-keygen -H, and fingerprints like ssh-keygen -l', async () => {
    const key = join(dir, 'hk')
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
    const pub = readFileSync(`${key}.pub`, 'utf8').trim()
    const [type, data] = pub.split(' ')
    const file = join(dir, 'known_hosts')
    writeFileSync(file, `[192.0.2.10]:2222 ${type} ${data}\nnode-x,192.0.2.11 ${type} ${data}\n`)
    await execa('ssh-keygen', ['-H', '-f', file])
    const text = readFileSync(file, 'utf8')
    expect(text).not.toContain('192.0.2.')
    const kh = KnownHosts.load([file, join(dir, 'missing')])
    const blob = Buffer.from(data!, 'base64')
    expect(kh.verify(['[192.0.2.10]:2222'], blob).status).toBe('ok')
    expect(kh.verify(['192.0.2.11'], blob).status).toBe('ok')
    expect(kh.verify(['node-x'], blob).status).toBe('ok')
    expect(kh.verify(['192.0.2.10'], blob).status).toBe('unknown')
    const {stdout} = await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${key}.pub`])
    expect(stdout.split(' ')[1]).toBe(fingerprint(blob))
    expect(blobKeyType(blob)).toBe('ssh-ed25519')
  })

  it('a known_hosts that is a FIFO or /dev/zero is a warning, never a hang or a full memory', async () => {
    const fifo = join(dir, 'known_hosts_fifo')
    await execa('mkfifo', [fifo])
    const kh = KnownHosts.load([fifo, '/dev/zero'])
    expect(kh.warnings.join('\n')).toMatch(/known_hosts_fifo: is a FIFO, not a regular file/)
    expect(kh.warnings.join('\n')).toMatch(/\/dev\/zero: is a character device/)
  })
})
