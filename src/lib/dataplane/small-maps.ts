/**
 * Small pinned maps (ifstate, counters, maglev, affinity) read whole with bpftool: `bpftool -j map dump pinned P`
 * parsed as one bounded document. Conntrack, which can hold 512,000 entries, is streamed instead (read-maps.ts).
 */
import {GLOBAL_PIN_DIR} from '../maps/index.js'
import type {NodeRunner, NodeTarget} from '../nodes/types.js'
import {DataplaneReadError} from './read-maps.js'

export interface RawMapEntry {
  key: Uint8Array
  /** Plain maps. */
  value?: Uint8Array
  /** Per-CPU maps: one value per possible CPU. */
  values?: Uint8Array[]
}

const hexBytes = (a: unknown): Uint8Array | undefined => {
  if (!Array.isArray(a)) return undefined
  const out = new Uint8Array(a.length)
  for (let i = 0; i < a.length; i++) {
    const n = typeof a[i] === 'string' ? Number.parseInt((a[i] as string).replace(/^0x/, ''), 16) : Number.NaN
    if (!(n >= 0 && n <= 255)) return undefined
    out[i] = n
  }
  return out
}

/**
 * Entries of a `bpftool -j map dump` document, as Calico's own parser takes them: an entry whose value is not an
 * array (bpftool prints an error object for a key that vanished mid-dump) or whose key is empty is skipped; BTF
 * `formatted` objects are ignored.
 */
export function parseBpftoolDump(text: string): {entries: RawMapEntry[]; skipped: number} {
  const doc = JSON.parse(text) as unknown
  if (!Array.isArray(doc)) throw new Error('bpftool map dump did not print a JSON array')
  const entries: RawMapEntry[] = []
  let skipped = 0
  for (const e of doc as Record<string, unknown>[]) {
    const key = hexBytes(e?.key)
    if (!key?.length) {
      skipped++
      continue
    }
    const value = hexBytes(e.value)
    if (value) {
      entries.push({key, value})
      continue
    }
    if (Array.isArray(e.values)) {
      const values = (e.values as {value?: unknown}[]).map((v) => hexBytes(v?.value))
      if (values.every((v): v is Uint8Array => v !== undefined)) {
        entries.push({key, values})
        continue
      }
    }
    skipped++
  }
  return {entries, skipped}
}

const NOT_PINNED = /No such file or directory|can't get fd|bpf obj get .*failed|ENOENT/i

export interface PinnedDump {
  name: string
  entries: RawMapEntry[]
  skipped: number
  /** stdout bytes read. */
  bytes: number
}

/**
 * Dumps the first of `names` that is pinned in /sys/fs/bpf/tc/globals (newest version first); undefined when none is.
 * `maxBytes` bounds what one node may print (the read stops with "output limit reached").
 */
export async function dumpFirstPinned(
  runner: NodeRunner,
  node: NodeTarget,
  names: readonly string[],
  opts: {timeoutMs: number; maxBytes: number},
): Promise<PinnedDump | undefined> {
  for (const name of names) {
    const path = `${GLOBAL_PIN_DIR}/${name}`
    const res = await runner.run(node, ['bpftool', '-j', 'map', 'dump', 'pinned', path], {
      timeoutMs: opts.timeoutMs,
      maxOutputBytes: opts.maxBytes,
    })
    if (res.exitCode !== 0) {
      const why = res.stderr.trim().split('\n')[0] || res.stdout.trim().split('\n')[0] || `exit ${res.exitCode}`
      if (NOT_PINNED.test(why) || NOT_PINNED.test(res.stdout)) continue
      throw new DataplaneReadError(
        node.name,
        /not found/.test(why) && !why.includes('/sys/fs/bpf') ? 'bpftool-missing' : 'bpftool-failed',
        `bpftool map dump ${name} failed on this node: ${why}`,
        'Install bpftool on the node (Debian/Ubuntu: apt-get install bpftool), or read through the agent (--source agent).',
      )
    }
    try {
      return {name, ...parseBpftoolDump(res.stdout), bytes: Buffer.byteLength(res.stdout)}
    } catch (err) {
      throw new DataplaneReadError(node.name, 'bpftool-failed', `bpftool map dump ${name}: ${(err as Error).message}`)
    }
  }
  return undefined
}

/** `bpftool -j map show pinned P`: the map's max_entries (and sizes); undefined when not pinned. */
export async function pinnedMapInfo(
  runner: NodeRunner,
  node: NodeTarget,
  name: string,
  opts: {timeoutMs: number},
): Promise<{max_entries?: number; type?: string; bytes_key?: number; bytes_value?: number} | undefined> {
  const res = await runner.run(node, ['bpftool', '-j', 'map', 'show', 'pinned', `${GLOBAL_PIN_DIR}/${name}`], {
    timeoutMs: opts.timeoutMs,
    maxOutputBytes: 64 * 1024,
  })
  if (res.exitCode !== 0) return undefined
  try {
    const info = JSON.parse(res.stdout) as Record<string, unknown>
    return typeof info === 'object' && info ? (info as {max_entries?: number}) : undefined
  } catch {
    return undefined
  }
}
