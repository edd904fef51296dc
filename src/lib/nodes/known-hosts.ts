/**
 * An OpenSSH known_hosts parser and host-key check (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
 *
 *   [@marker] hostpatterns keytype base64-key [comment]
 *
 * - hostpatterns: a comma list of patterns with `*` and `?` wildcards, `[host]:port` for a non-22 port, and `!pattern`
 *   negation (a line whose negated pattern matches never applies), or one hashed entry `|1|base64salt|base64hmac`
 *   where hmac = HMAC-SHA1(salt, token) and token = `host` or `[host]:port`.
 * - markers: `@revoked` (this key is never accepted) and `@cert-authority` (a CA for host certificates: recognised, but
 *   ebpfctl does not verify host certificates, so such a line alone never makes a host known).
 */
import {createHash, createHmac} from 'node:crypto'
import {existsSync} from 'node:fs'

import {readBoundedText} from '../bounded-file.js'

export type KnownHostMarker = 'revoked' | 'cert-authority'

export interface KnownHostEntry {
  file: string
  line: number
  marker?: KnownHostMarker
  /** The host field as written. */
  hosts: string
  hashed?: {salt: Buffer; hash: Buffer}
  /** For plain entries: the comma list split, negations kept with their `!`. */
  patterns?: string[]
  keyType: string
  key: Buffer
}

export interface KnownHostsParseResult {
  entries: KnownHostEntry[]
  /** Lines that could not be parsed, as `file:line: reason`. */
  warnings: string[]
}

export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHostsParseResult {
  const entries: KnownHostEntry[] = []
  const warnings: string[] = []
  const lines = text.split(/\r?\n/)
  for (const [i, raw] of lines.entries()) {
    const lineNo = i + 1
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const fields = line.split(/[ \t]+/)
    let marker: KnownHostMarker | undefined
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift()!
      if (m === '@revoked') marker = 'revoked'
      else if (m === '@cert-authority') marker = 'cert-authority'
      else {
        warnings.push(`${file}:${lineNo}: unknown marker ${m}`)
        continue
      }
    }
    const [hosts, keyType, b64] = fields
    if (!hosts || !keyType || !b64) {
      warnings.push(`${file}:${lineNo}: expected "hosts keytype key"`)
      continue
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      warnings.push(`${file}:${lineNo}: the key is not base64`)
      continue
    }
    const key = Buffer.from(b64, 'base64')
    const entry: KnownHostEntry = {file, line: lineNo, marker, hosts, keyType, key}
    if (hosts.startsWith('|1|')) {
      const [, , salt, hash] = hosts.split('|')
      if (!salt || !hash) {
        warnings.push(`${file}:${lineNo}: malformed hashed host`)
        continue
      }
      entry.hashed = {salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64')}
    } else if (hosts.startsWith('|')) {
      warnings.push(`${file}:${lineNo}: unsupported hashed host format`)
      continue
    } else {
      entry.patterns = hosts.split(',').filter(Boolean)
    }
    entries.push(entry)
  }
  return {entries, warnings}
}

/** The name known_hosts files record for host:port: `host` on port 22, `[host]:port` otherwise. */
export function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`
}

/** OpenSSH wildcard match (`*`, `?`), case-insensitive as OpenSSH does for host names. */
export function matchPattern(pattern: string, text: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('')}$`,
    'i',
  )
  return re.test(text)
}

/** Whether a known_hosts entry applies to the token (`host` or `[host]:port`). */
export function entryMatches(entry: KnownHostEntry, token: string): boolean {
  if (entry.hashed) {
    const h = createHmac('sha1', entry.hashed.salt).update(token).digest()
    return h.length === entry.hashed.hash.length && h.equals(entry.hashed.hash)
  }
  let positive = false
  for (const p of entry.patterns ?? []) {
    if (p.startsWith('!')) {
      if (matchPattern(p.slice(1), token)) return false
    } else if (matchPattern(p, token)) positive = true
  }
  return positive
}

/** OpenSSH fingerprint: `SHA256:` + unpadded base64 of SHA-256 of the key blob. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/** The key type named inside an SSH public key blob (its first string). */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined
  const len = blob.readUInt32BE(0)
  if (len > blob.length - 4 || len > 64) return undefined
  return blob.subarray(4, 4 + len).toString('latin1')
}

export type HostKeyVerdict =
  | {status: 'ok'; entry: KnownHostEntry}
  | {status: 'revoked'; entry: KnownHostEntry}
  | {status: 'changed'; entries: KnownHostEntry[]}
  /** otherTypes: key types known for the host other than the one presented; certAuthority: only CA lines match. */
  | {status: 'unknown'; otherTypes: string[]; certAuthority: boolean}

/** A pattern that matches only itself: no wildcard, no negation, printable ASCII (so lower-casing is OpenSSH's match). */
const isLiteralPattern = (p: string) => /^[\x21-\x7e]+$/.test(p) && !p.startsWith('!') && !/[*?]/.test(p)

export class KnownHosts {
  readonly entries: KnownHostEntry[]
  readonly warnings: string[]
  /**
   * Indexes into entries: plain entries whose patterns are all literal, by lower-cased pattern; every other entry
   * (hashed, wildcard, negated) is matched one by one. A fleet's known_hosts lists every node, so matching each
   * lookup against every line would make connecting to n nodes O(n²).
   */
  private readonly byLiteral = new Map<string, number[]>()
  private readonly matchedOneByOne: number[] = []
  private readonly revoked: KnownHostEntry[]

  constructor(entries: KnownHostEntry[], warnings: string[] = []) {
    this.entries = entries
    this.warnings = warnings
    this.revoked = entries.filter((e) => e.marker === 'revoked')
    for (const [i, e] of entries.entries()) {
      const patterns = e.patterns
      if (e.hashed || !patterns || patterns.length === 0 || !patterns.every(isLiteralPattern)) {
        this.matchedOneByOne.push(i)
        continue
      }
      for (const p of new Set(patterns.map((x) => x.toLowerCase()))) {
        const list = this.byLiteral.get(p)
        if (list) list.push(i)
        else this.byLiteral.set(p, [i])
      }
    }
  }

  static parse(text: string, file?: string): KnownHosts {
    const r = parseKnownHosts(text, file)
    return new KnownHosts(r.entries, r.warnings)
  }

  /** Reads the files that exist (missing ones are skipped: OpenSSH does the same). */
  static load(paths: string[]): KnownHosts {
    const entries: KnownHostEntry[] = []
    const warnings: string[] = []
    for (const p of paths) {
      if (!existsSync(p)) continue
      let text: string
      try {
        text = readBoundedText(p, 16 * 1024 * 1024)
      } catch (err) {
        warnings.push(`${p}: ${(err as Error).message}`)
        continue
      }
      const r = parseKnownHosts(text, p)
      entries.push(...r.entries)
      warnings.push(...r.warnings)
    }
    return new KnownHosts(entries, warnings)
  }

  /** Entries applying to any of the tokens (e.g. `[10.0.0.1]:2222` and an alias). */
  lookup(tokens: string[]): KnownHostEntry[] {
    const hits = new Set<number>()
    for (const t of tokens) for (const i of this.byLiteral.get(t.toLowerCase()) ?? []) hits.add(i)
    for (const i of this.matchedOneByOne) if (tokens.some((t) => entryMatches(this.entries[i]!, t))) hits.add(i)
    // In file order, as OpenSSH reads them.
    return [...hits].sort((a, b) => a - b).map((i) => this.entries[i]!)
  }

  /** Key types known for the host (plain, non-revoked entries), for ordering the host key algorithms offered. */
  knownKeyTypes(tokens: string[]): string[] {
    return [
      ...new Set(
        this.lookup(tokens)
          .filter((e) => !e.marker)
          .map((e) => e.keyType),
      ),
    ]
  }

  verify(tokens: string[], blob: Buffer): HostKeyVerdict {
    // A revoked key is refused whatever else says about it; revoked lines usually use `*` as hosts.
    const revoked = this.revoked.find((e) => e.key.equals(blob))
    if (revoked) return {status: 'revoked', entry: revoked}
    const matching = this.lookup(tokens)
    const plain = matching.filter((e) => !e.marker)
    const ok = plain.find((e) => e.key.equals(blob))
    if (ok) return {status: 'ok', entry: ok}
    const type = blobKeyType(blob)
    const sameType = plain.filter((e) => e.keyType === type)
    if (sameType.length > 0) return {status: 'changed', entries: sameType}
    return {
      status: 'unknown',
      otherTypes: [...new Set(plain.map((e) => e.keyType))],
      certAuthority: plain.length === 0 && matching.some((e) => e.marker === 'cert-authority'),
    }
  }
}
