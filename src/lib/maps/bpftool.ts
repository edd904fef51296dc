/**
 * Decoding `bpftool -j map dump pinned /sys/fs/bpf/tc/globals/<map>` into the model (calico-bpf.md §2, §7).
 *
 * - `BpftoolDumpScanner` is an incremental byte scanner over bpftool's JSON: it extracts each element's `"key"` and
 *   `"value"` hex arrays (`"0x0a"` strings) and skips everything else (BTF `formatted` objects with duplicate keys,
 *   per-CPU `values`, lookup-error objects) without building strings or parsing JSON. Memory is bounded by one chunk.
 * - `decode*` functions turn one key/value pair into a model object using Calico's exact layouts
 *   (integers little-endian, IP addresses network order, CT seqno big-endian).
 * - `selectMaps` picks the live map version per family from `bpftool -j map show` and/or a pin-dir listing (§2.9).
 */
import {
  ctFlagNames,
  natFlagNames,
  protoFromNumber,
  tcpStateOf,
  CT_FLAG_BA,
  type ConntrackEntry,
  type CtLeg,
  type CtType,
  type Endpoint,
  type NatAffinityEntry,
  type NatBackend,
  type NatFrontend,
} from './model.js'

export const GLOBAL_PIN_DIR = '/sys/fs/bpf/tc/globals'
export const BPF_F_NO_PREALLOC = 1

// ---------------------------------------------------------------------------------------------------------------
// Layouts and map definitions

export type MapKind = 'ct' | 'nat-fe' | 'nat-be' | 'nat-aff'

export type MapLayoutId =
  | 'ct4'
  | 'ct3'
  | 'ct2'
  | 'ct4-v6'
  | 'ct3-v6'
  | 'nat-fe3'
  | 'nat-fe2'
  | 'nat-fe3-v6'
  | 'nat-be'
  | 'nat-be-v6'
  | 'nat-aff'
  | 'nat-aff-v6'

export interface MapLayout {
  id: MapLayoutId
  kind: MapKind
  /** Map version suffix (0 = unversioned). */
  version: number
  ipv6: boolean
  /** The pinned file name = kernel map name. */
  name: string
  /** bpftool's `type` string. */
  mapType: 'hash' | 'lru_hash' | 'lpm_trie'
  keySize: number
  valueSize: number
  /** Calico's max_entries default. */
  maxEntries: number
  /** Map flags Calico creates it with (BPF_F_NO_PREALLOC = 1). */
  flags: number
}

/** Calico's map definitions (calico-bpf.md §2.1, §2.9). */
export const MAP_LAYOUTS: Readonly<Record<MapLayoutId, MapLayout>> = {
  ct4: {
    id: 'ct4',
    kind: 'ct',
    version: 4,
    ipv6: false,
    name: 'cali_v4_ct4',
    mapType: 'lru_hash',
    keySize: 16,
    valueSize: 88,
    maxEntries: 512000,
    flags: 0,
  },
  ct3: {
    id: 'ct3',
    kind: 'ct',
    version: 3,
    ipv6: false,
    name: 'cali_v4_ct3',
    mapType: 'hash',
    keySize: 16,
    valueSize: 88,
    maxEntries: 512000,
    flags: BPF_F_NO_PREALLOC,
  },
  ct2: {
    id: 'ct2',
    kind: 'ct',
    version: 2,
    ipv6: false,
    name: 'cali_v4_ct2',
    mapType: 'hash',
    keySize: 16,
    valueSize: 64,
    maxEntries: 512000,
    flags: BPF_F_NO_PREALLOC,
  },
  'ct4-v6': {
    id: 'ct4-v6',
    kind: 'ct',
    version: 4,
    ipv6: true,
    name: 'cali_v6_ct4',
    mapType: 'lru_hash',
    keySize: 40,
    valueSize: 128,
    maxEntries: 512000,
    flags: 0,
  },
  'ct3-v6': {
    id: 'ct3-v6',
    kind: 'ct',
    version: 3,
    ipv6: true,
    name: 'cali_v6_ct3',
    mapType: 'hash',
    keySize: 40,
    valueSize: 128,
    maxEntries: 512000,
    flags: BPF_F_NO_PREALLOC,
  },
  'nat-fe3': {
    id: 'nat-fe3',
    kind: 'nat-fe',
    version: 3,
    ipv6: false,
    name: 'cali_v4_nat_fe3',
    mapType: 'lpm_trie',
    keySize: 16,
    valueSize: 20,
    maxEntries: 65536,
    flags: BPF_F_NO_PREALLOC,
  },
  'nat-fe2': {
    id: 'nat-fe2',
    kind: 'nat-fe',
    version: 2,
    ipv6: false,
    name: 'cali_v4_nat_fe2',
    mapType: 'lpm_trie',
    keySize: 16,
    valueSize: 16,
    maxEntries: 65536,
    flags: BPF_F_NO_PREALLOC,
  },
  'nat-fe3-v6': {
    id: 'nat-fe3-v6',
    kind: 'nat-fe',
    version: 3,
    ipv6: true,
    name: 'cali_v6_nat_fe3',
    mapType: 'lpm_trie',
    keySize: 40,
    valueSize: 20,
    maxEntries: 65536,
    flags: BPF_F_NO_PREALLOC,
  },
  'nat-be': {
    id: 'nat-be',
    kind: 'nat-be',
    version: 0,
    ipv6: false,
    name: 'cali_v4_nat_be',
    mapType: 'hash',
    keySize: 8,
    valueSize: 8,
    maxEntries: 262144,
    flags: BPF_F_NO_PREALLOC,
  },
  'nat-be-v6': {
    id: 'nat-be-v6',
    kind: 'nat-be',
    version: 0,
    ipv6: true,
    name: 'cali_v6_nat_be',
    mapType: 'hash',
    keySize: 8,
    valueSize: 20,
    maxEntries: 262144,
    flags: BPF_F_NO_PREALLOC,
  },
  'nat-aff': {
    id: 'nat-aff',
    kind: 'nat-aff',
    version: 0,
    ipv6: false,
    name: 'cali_v4_nat_aff',
    mapType: 'lru_hash',
    keySize: 16,
    valueSize: 16,
    maxEntries: 65536,
    flags: 0,
  },
  'nat-aff-v6': {
    id: 'nat-aff-v6',
    kind: 'nat-aff',
    version: 0,
    ipv6: true,
    name: 'cali_v6_nat_aff',
    mapType: 'lru_hash',
    keySize: 40,
    valueSize: 32,
    maxEntries: 65536,
    flags: 0,
  },
}

// ---------------------------------------------------------------------------------------------------------------
// Map selection (§2.9)

/** One element of `bpftool -j map show` (only the fields used). */
export interface BpfMapInfo {
  id?: number
  name: string
  type: string
  bytes_key: number
  bytes_value: number
  max_entries?: number
  flags?: number
  /** `bpftool -j -f map show` adds the pinned paths. */
  pinned?: string[]
}

export interface SelectedMap {
  layout: MapLayout
  /** Pinned path: `/sys/fs/bpf/tc/globals/<name>`. */
  path: string
  id?: number
  maxEntries?: number
  /** true when a `map show` entry with the expected type and sizes confirmed the choice. */
  confirmed: boolean
  /** With `liveMapIds`: whether a loaded BPF program uses this map. */
  live?: boolean
}

export interface MapSelection {
  conntrack?: SelectedMap
  natFrontend?: SelectedMap
  natBackend?: SelectedMap
  natAffinity?: SelectedMap
  /** Lower-version pins that are also present (e.g. a stale `cali_v4_ct3` next to `cali_v4_ct4`). */
  stale: string[]
  warnings: string[]
}

const NAME_RE: ReadonlyArray<readonly [RegExp, MapKind]> = [
  [/^cali_v([46])_ct(\d+)$/, 'ct'],
  [/^cali_v([46])_nat_fe(\d*)$/, 'nat-fe'],
  [/^cali_v([46])_nat_be()$/, 'nat-be'],
  [/^cali_v([46])_nat_aff()$/, 'nat-aff'],
]

function layoutFor(kind: MapKind, version: number, ipv6: boolean): MapLayout | undefined {
  for (const l of Object.values(MAP_LAYOUTS)) if (l.kind === kind && l.version === version && l.ipv6 === ipv6) return l
  return undefined
}

function sizesMatch(l: MapLayout, info: BpfMapInfo): boolean {
  return info.type === l.mapType && info.bytes_key === l.keySize && info.bytes_value === l.valueSize
}

/**
 * Picks, per family, the highest-suffix map whose type and sizes match Calico's layout (§2.9).
 * `show`: `bpftool -j map show` output (parsed JSON array). `listing`: names or paths in /sys/fs/bpf/tc/globals.
 * With only a listing, choices are by name and marked unconfirmed; with `show`, a candidate whose type or sizes do
 * not match is rejected with a warning. `*_old` pins (resize in progress) are ignored. When several versions are
 * pinned and `liveMapIds` is given, the one a loaded program uses wins over a higher, unused one.
 */
export function selectMaps(input: {
  show?: BpfMapInfo[] | null
  listing?: string[]
  ipv6?: boolean
  /** Map ids used by loaded BPF programs (`bpftool -j prog show` `map_ids`), to tell the live map among versions. */
  liveMapIds?: ReadonlySet<number>
}): MapSelection {
  const ipv6 = input.ipv6 ?? false
  const sel: MapSelection = {stale: [], warnings: []}
  const names = new Set<string>()
  const pinnedNames = new Set<string>()
  for (const entry of input.listing ?? []) {
    const base = entry.replace(/\/+$/, '').split('/').pop() ?? ''
    if (base) {
      names.add(base)
      pinnedNames.add(base)
    }
  }
  const infoByName = new Map<string, BpfMapInfo[]>()
  for (const info of input.show ?? []) {
    if (!info || typeof info.name !== 'string') continue
    const list = infoByName.get(info.name) ?? []
    list.push(info)
    infoByName.set(info.name, list)
    for (const p of info.pinned ?? []) {
      const base = p.split('/').pop()
      if (base && p.startsWith(`${GLOBAL_PIN_DIR}/`)) pinnedNames.add(base)
    }
    if (!input.listing) names.add(info.name)
  }
  const candidates: Record<MapKind, {version: number; name: string}[]> = {
    ct: [],
    'nat-fe': [],
    'nat-be': [],
    'nat-aff': [],
  }
  for (const name of names) {
    for (const [re, kind] of NAME_RE) {
      const m = re.exec(name)
      if (!m) continue
      if ((m[1] === '6') !== ipv6) continue
      candidates[kind].push({version: m[2] ? Number(m[2]) : 0, name})
    }
  }
  const slot: Record<MapKind, 'conntrack' | 'natFrontend' | 'natBackend' | 'natAffinity'> = {
    ct: 'conntrack',
    'nat-fe': 'natFrontend',
    'nat-be': 'natBackend',
    'nat-aff': 'natAffinity',
  }
  for (const kind of Object.keys(candidates) as MapKind[]) {
    const list = candidates[kind].sort((x, y) => y.version - x.version)
    const usable: {name: string; layout: MapLayout; info?: BpfMapInfo}[] = []
    for (const cand of list) {
      const layout = layoutFor(kind, cand.version, ipv6)
      if (!layout) {
        sel.warnings.push(`${cand.name}: no known layout for this map version`)
        continue
      }
      const infos = infoByName.get(cand.name)
      let chosen: BpfMapInfo | undefined
      if (infos && infos.length > 0) {
        const matching = infos.filter((i) => sizesMatch(layout, i))
        if (matching.length === 0) {
          const i = infos[0]!
          sel.warnings.push(
            `${cand.name}: expected ${layout.mapType}/${layout.keySize}/${layout.valueSize}, found ${i.type}/${i.bytes_key}/${i.bytes_value}; ignored`,
          )
          continue
        }
        const pinned = matching.filter((i) => (i.pinned ?? []).includes(`${GLOBAL_PIN_DIR}/${cand.name}`))
        const pool = pinned.length > 0 ? pinned : matching
        if (pool.length > 1) sel.warnings.push(`${cand.name}: ${pool.length} maps with this name; using the highest id`)
        chosen = pool.reduce((x, y) => ((y.id ?? 0) > (x.id ?? 0) ? y : x))
      } else if (input.show) {
        // Listed as a pin but absent from `map show`: keep it, unconfirmed.
        sel.warnings.push(`${cand.name}: pinned but not in bpftool map show output`)
      }
      usable.push({name: cand.name, layout, info: chosen})
    }
    if (usable.length === 0) continue
    // Several versions pinned (a stale lower one lingers after an upgrade): the live one is the map a loaded program
    // uses (§2.9 step 3). Without program data, or when none is in use, the highest version.
    let pick = usable[0]!
    let live: boolean | undefined
    if (input.liveMapIds) {
      const inUse = usable.filter((u) => u.info?.id !== undefined && input.liveMapIds!.has(u.info.id))
      if (inUse.length > 0) {
        pick = inUse[0]!
        live = true
        const unused = usable.filter((u) => !inUse.includes(u))
        if (unused.length > 0)
          sel.warnings.push(
            `${unused.map((u) => u.name).join(', ')}: also pinned but used by no loaded BPF program ` +
              `(left over from an upgrade or downgrade); reading ${pick.name}, which is in use`,
          )
      } else {
        live = false
        if (usable.length > 1)
          sel.warnings.push(
            `${usable.map((u) => u.name).join(', ')}: no loaded BPF program uses any of them; reading ${pick.name}`,
          )
      }
    }
    for (const u of usable) if (u !== pick) sel.stale.push(u.name)
    const picked: SelectedMap = {
      layout: pick.layout,
      path: `${GLOBAL_PIN_DIR}/${pick.name}`,
      confirmed: pick.info !== undefined,
    }
    if (pick.info?.id !== undefined) picked.id = pick.info.id
    if (pick.info?.max_entries !== undefined) picked.maxEntries = pick.info.max_entries
    if (live !== undefined) picked.live = live
    sel[slot[kind]] = picked
  }
  if (input.listing && input.show) {
    for (const s of [sel.conntrack, sel.natFrontend, sel.natBackend, sel.natAffinity]) {
      if (s && !pinnedNames.has(s.layout.name)) sel.warnings.push(`${s.layout.name}: not pinned in ${GLOBAL_PIN_DIR}`)
    }
  }
  return sel
}

/** Map ids used by any loaded program, from `bpftool -j prog show` output; undefined when it is not that JSON. */
export function liveMapIdsFrom(progShowJson: string): Set<number> | undefined {
  let progs: unknown
  try {
    progs = JSON.parse(progShowJson)
  } catch {
    return undefined
  }
  if (!Array.isArray(progs)) return undefined
  const ids = new Set<number>()
  for (const p of progs as {map_ids?: unknown}[]) {
    if (p && Array.isArray(p.map_ids)) for (const id of p.map_ids) if (typeof id === 'number') ids.add(id)
  }
  return ids
}

/** Layout from a map's type and sizes alone (no name), e.g. for `--map <path>`; undefined when ambiguous or unknown. */
export function layoutFromInfo(info: BpfMapInfo): MapLayout | undefined {
  const byName = (info.name ? Object.values(MAP_LAYOUTS).find((l) => l.name === info.name) : undefined) ?? undefined
  if (byName && sizesMatch(byName, info)) return byName
  const matches = Object.values(MAP_LAYOUTS).filter((l) => sizesMatch(l, info))
  return matches.length === 1 ? matches[0] : undefined
}

// ---------------------------------------------------------------------------------------------------------------
// The scanner

export interface ScanStats {
  /** Bytes consumed. */
  bytes: number
  /** Elements emitted to the callback. */
  entries: number
  /** Elements skipped: value not an array (lookup error), per-CPU `values`, empty key, oversize arrays. */
  skipped: number
  /** `error` strings bpftool printed (top-level `{"error": …}` or inside elements), first 10. */
  errors: string[]
  /** true once the top-level array was closed. */
  complete: boolean
}

export function newScanStats(): ScanStats {
  return {bytes: 0, entries: 0, skipped: 0, errors: [], complete: false}
}

const S_TOP = 0
const S_ARRAY = 1
const S_OBJ = 2
const S_NAME = 3
const S_COLON = 4
const S_VALUE = 5
const S_HEX = 6
const S_HEX_STR = 7
const S_SKIP = 8
const S_SKIP_STR = 9
const S_SKIP_LIT = 10
const S_END = 11
const S_HEX_NUM = 12

const N_OTHER = 0
const N_KEY = 1
const N_VALUE = 2
const N_ERROR = 3

const MAX_BYTES = 256

/** Hex digit value by char code, -1 otherwise. */
const HEX = new Int8Array(256).fill(-1)
for (let c = 0; c < 10; c++) HEX[48 + c] = c
for (let c = 0; c < 6; c++) {
  HEX[97 + c] = 10 + c
  HEX[65 + c] = 10 + c
}

/** Byte classes outside strings while skipping: 1 quote, 2 open, 3 close, 0 anything else. */
const SKIP_CLASS = new Uint8Array(256)
SKIP_CLASS[0x22] = 1
SKIP_CLASS[0x7b] = 2
SKIP_CLASS[0x5b] = 2
SKIP_CLASS[0x7d] = 3
SKIP_CLASS[0x5d] = 3

/**
 * Incremental scanner for `bpftool -j map dump` output. Feed chunks with `push`; `onEntry(key, value)` is called for
 * each complete element. The arrays passed to `onEntry` are reused: decode or copy them before returning.
 */
export class BpftoolDumpScanner {
  readonly stats: ScanStats = newScanStats()
  private state = S_TOP
  private nameId = N_OTHER
  private nameLen = 0
  private nameFirst = 0
  private nameLast = 0
  private skipDepth = 0
  private inStr = false
  private esc = false
  private readonly keyBuf = new Uint8Array(MAX_BYTES)
  private readonly valBuf = new Uint8Array(MAX_BYTES)
  private keyLen = 0
  private valLen = 0
  private hexTarget = 0 // N_KEY or N_VALUE
  private hv = 0
  private haveKey = false
  private haveValue = false
  private bad = false
  private topObject = false
  private errBuf = ''

  constructor(private readonly onEntry: (key: Uint8Array, value: Uint8Array) => void) {}

  push(chunk: Uint8Array | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    const n = buf.length
    this.stats.bytes += n
    let state = this.state
    let i = 0
    while (i < n) {
      const c = buf[i]!
      switch (state) {
        case S_SKIP: {
          // Generic skip of a nested value; the hot path for BTF `formatted` objects.
          let depth = this.skipDepth
          let inStr = this.inStr
          let esc = this.esc
          for (; i < n; i++) {
            const d = buf[i]!
            if (inStr) {
              if (esc) esc = false
              else if (d === 0x22) inStr = false
              else if (d === 0x5c) esc = true
              continue
            }
            const k = SKIP_CLASS[d]!
            if (k === 0) continue
            if (k === 1) inStr = true
            else if (k === 2) depth++
            else if (--depth === 0) {
              i++
              break
            }
          }
          this.skipDepth = depth
          this.inStr = inStr
          this.esc = esc
          if (depth === 0) state = S_OBJ
          continue
        }
        case S_HEX: {
          // Tight loop for bpftool's `"0x0a",` elements; anything else falls back to the general states.
          const isKey = this.hexTarget === N_KEY
          const target = isKey ? this.keyBuf : this.valBuf
          let len = isKey ? this.keyLen : this.valLen
          while (i < n) {
            const d = buf[i]!
            if (d === 0x22) {
              if (i + 5 < n && buf[i + 1] === 0x30 && (buf[i + 2]! | 0x20) === 0x78 && buf[i + 5] === 0x22) {
                const h1 = HEX[buf[i + 3]!]!
                const h2 = HEX[buf[i + 4]!]!
                if (h1 >= 0 && h2 >= 0) {
                  if (len < MAX_BYTES) target[len++] = (h1 << 4) | h2
                  else this.bad = true
                  i += buf[i + 6] === 0x2c ? 7 : 6
                  continue
                }
              }
              state = S_HEX_STR
              this.hv = 0
              i++
              break
            } else if (d === 0x5d) {
              if (isKey) this.haveKey = true
              else this.haveValue = true
              state = S_OBJ
              i++
              break
            } else if (d >= 0x30 && d <= 0x39) {
              state = S_HEX_NUM
              this.hv = d - 0x30
              i++
              break
            }
            i++
          }
          if (isKey) this.keyLen = len
          else this.valLen = len
          continue
        }
        case S_HEX_STR: {
          // Inside "0x0a": accumulate hex digits, `x` resets (drops the leading 0 of the prefix).
          let hv = this.hv
          for (; i < n; i++) {
            const d = buf[i]!
            if (d === 0x22) break
            const h = HEX[d]!
            if (h >= 0) hv = (hv << 4) | h
            else if (d === 0x78 || d === 0x58) hv = 0
          }
          this.hv = hv
          if (i < n) {
            this.pushByte(hv & 0xff)
            state = S_HEX
            i++
          }
          continue
        }
        case S_HEX_NUM: {
          if (c >= 0x30 && c <= 0x39) {
            this.hv = this.hv * 10 + (c - 0x30)
            i++
            continue
          }
          this.pushByte(this.hv & 0xff)
          state = S_HEX
          continue // re-read c in S_HEX
        }
        case S_OBJ: {
          if (c === 0x22) {
            state = S_NAME
            this.nameLen = 0
            this.nameFirst = 0
            this.nameLast = 0
          } else if (c === 0x7d) {
            this.endElement()
            state = this.topObject ? S_END : S_ARRAY
          }
          i++
          continue
        }
        case S_NAME: {
          if (c === 0x22) {
            const len = this.nameLen
            const f = this.nameFirst
            this.nameId =
              len === 3 && f === 0x6b
                ? N_KEY
                : len === 5 && f === 0x76 && this.nameLast === 0x65
                  ? N_VALUE
                  : len === 5 && f === 0x65 && this.nameLast === 0x72
                    ? N_ERROR
                    : N_OTHER
            state = S_COLON
          } else {
            if (this.nameLen === 0) this.nameFirst = c
            this.nameLast = c
            this.nameLen++
          }
          i++
          continue
        }
        case S_COLON: {
          if (c === 0x3a) state = S_VALUE
          i++
          continue
        }
        case S_VALUE: {
          if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) {
            i++
            continue
          }
          const id = this.nameId
          if (c === 0x5b && (id === N_KEY || id === N_VALUE)) {
            state = S_HEX
            this.hexTarget = id
            if (id === N_KEY) this.keyLen = 0
            else this.valLen = 0
          } else if (c === 0x7b || c === 0x5b) {
            if (id === N_VALUE)
              this.bad = true // value is an error object
            else if (id !== N_KEY && this.nameLen === 6 && this.nameFirst === 0x76) this.bad = true // per-CPU "values"
            state = S_SKIP
            this.skipDepth = 1
            this.inStr = false
            this.esc = false
          } else if (c === 0x22) {
            state = S_SKIP_STR
            this.esc = false
            this.errBuf = ''
          } else {
            state = S_SKIP_LIT
          }
          i++
          continue
        }
        case S_SKIP_STR: {
          if (this.esc) this.esc = false
          else if (c === 0x5c) this.esc = true
          else if (c === 0x22) {
            if (this.nameId === N_ERROR && this.stats.errors.length < 10) this.stats.errors.push(this.errBuf)
            state = S_OBJ
          } else if (this.nameId === N_ERROR && this.errBuf.length < 1000) this.errBuf += String.fromCharCode(c)
          i++
          continue
        }
        case S_SKIP_LIT: {
          if (c === 0x2c) state = S_OBJ
          else if (c === 0x7d) {
            this.endElement()
            state = this.topObject ? S_END : S_ARRAY
          }
          i++
          continue
        }
        case S_ARRAY: {
          if (c === 0x7b) {
            state = S_OBJ
            this.resetElement()
          } else if (c === 0x5d) {
            state = S_END
            this.stats.complete = true
          }
          i++
          continue
        }
        case S_TOP: {
          if (c === 0x5b) state = S_ARRAY
          else if (c === 0x7b) {
            state = S_OBJ
            this.topObject = true
            this.resetElement()
          }
          i++
          continue
        }
        default: {
          // S_END: ignore anything after the document.
          i = n
        }
      }
    }
    this.state = state
  }

  /** Call when the input ends; a final number in a hex array is flushed. */
  end(): ScanStats {
    if (this.state === S_HEX_NUM) {
      this.pushByte(this.hv & 0xff)
      this.state = S_HEX
    }
    return this.stats
  }

  private pushByte(b: number): void {
    if (this.hexTarget === N_KEY) {
      if (this.keyLen < MAX_BYTES) this.keyBuf[this.keyLen++] = b
      else this.bad = true
    } else if (this.valLen < MAX_BYTES) this.valBuf[this.valLen++] = b
    else this.bad = true
  }

  private resetElement(): void {
    this.keyLen = 0
    this.valLen = 0
    this.haveKey = false
    this.haveValue = false
    this.bad = false
  }

  private endElement(): void {
    if (this.haveKey && this.haveValue && !this.bad && this.keyLen > 0) {
      this.stats.entries++
      this.onEntry(this.keyBuf.subarray(0, this.keyLen), this.valBuf.subarray(0, this.valLen))
    } else if (!this.topObject || this.haveKey) {
      this.stats.skipped++
    }
  }
}

type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>

/** Scans a whole dump stream (e.g. bpftool's stdout `Readable`), calling `onEntry` per element. */
export async function scanBpftoolDump(
  input: ByteSource,
  onEntry: (key: Uint8Array, value: Uint8Array) => void,
): Promise<ScanStats> {
  const scanner = new BpftoolDumpScanner(onEntry)
  for await (const chunk of input) scanner.push(chunk)
  return scanner.end()
}

// ---------------------------------------------------------------------------------------------------------------
// Byte helpers

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8)
const u32 = (b: Uint8Array, o: number): number =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
const u32be = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0

/** u64 LE as a decimal string (exact). */
function u64s(b: Uint8Array, o: number): string {
  const lo = u32(b, o)
  const hi = u32(b, o + 4)
  if (hi < 0x200000) return String(hi * 4294967296 + lo)
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString()
}

/** u64 LE as a number (exact below 2^53). */
function u64n(b: Uint8Array, o: number): number {
  return u32(b, o + 4) * 4294967296 + u32(b, o)
}

const isZero = (b: Uint8Array, o: number, len: number): boolean => {
  for (let i = 0; i < len; i++) if (b[o + i] !== 0) return false
  return true
}

export function ipv4At(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`
}

/** Go's `net.IP.String()` for 16 bytes: RFC 5952 (longest zero run ≥ 2 → `::`), IPv4-mapped as dotted quad. */
export function ipv6At(b: Uint8Array, o: number): string {
  let mapped = b[o + 10] === 0xff && b[o + 11] === 0xff
  for (let i = 0; mapped && i < 10; i++) if (b[o + i] !== 0) mapped = false
  if (mapped) return ipv4At(b, o + 12)
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!)
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(':')
  const head = g
    .slice(0, bestStart)
    .map((x) => x.toString(16))
    .join(':')
  const tail = g
    .slice(bestStart + bestLen)
    .map((x) => x.toString(16))
    .join(':')
  return `${head}::${tail}`
}

// ---------------------------------------------------------------------------------------------------------------
// NAT decoders

/** Frontend key+value (`nat-fe3`, `nat-fe2`, `nat-fe3-v6`); backends are attached by `assembleNat`. */
export function decodeNatFrontend(key: Uint8Array, value: Uint8Array, layout: MapLayoutId = 'nat-fe3'): NatFrontend {
  const v6 = key.length >= 40 || layout === 'nat-fe3-v6'
  const prefixLen = u32(key, 0)
  const ip = v6 ? ipv6At(key, 4) : ipv4At(key, 4)
  const port = u16(key, v6 ? 20 : 8)
  const proto = key[v6 ? 22 : 10]!
  const srcPrefix = prefixLen - (v6 ? 152 : 56)
  const rawCount = u32(value, 4)
  const blackhole = rawCount === 0xffffffff
  const flagBits = value.length >= 20 ? u32(value, 16) : 0
  const fe: NatFrontend = {
    ip,
    port,
    proto: protoFromNumber(proto),
    serviceId: u32(value, 0),
    count: blackhole ? -1 : rawCount,
    localCount: u32(value, 8),
    flags: natFlagNames(flagBits),
    backends: [],
  }
  if (value.length >= 20) fe.flagBits = flagBits
  if (value.length >= 16) fe.affinityTimeoutSec = u32(value, 12)
  if (srcPrefix > 0) fe.srcRange = `${v6 ? ipv6At(key, 23) : ipv4At(key, 11)}/${srcPrefix}`
  if (blackhole) fe.blackhole = true
  return fe
}

/** Backend key+value → `{serviceId, ordinal, ip, port}`. */
export function decodeNatBackend(key: Uint8Array, value: Uint8Array): NatBackend & {serviceId: number} {
  const v6 = value.length >= 20
  return {
    serviceId: u32(key, 0),
    ordinal: u32(key, 4),
    ip: v6 ? ipv6At(value, 0) : ipv4At(value, 0),
    port: u16(value, v6 ? 16 : 4),
  }
}

/** Affinity key+value (v4 16/16, v6 40/32, §2.5). */
export function decodeNatAffinity(key: Uint8Array, value: Uint8Array): NatAffinityEntry {
  const v6 = key.length >= 40
  if (v6) {
    return {
      clientIp: ipv6At(key, 20),
      frontend: {ip: ipv6At(key, 0), port: u16(key, 16), proto: protoFromNumber(key[18]!)},
      backend: {ip: ipv6At(value, 0), port: u16(value, 16)},
      timestampNs: u64s(value, 24),
    }
  }
  return {
    clientIp: ipv4At(key, 8),
    frontend: {ip: ipv4At(key, 0), port: u16(key, 4), proto: protoFromNumber(key[6]!)},
    backend: {ip: ipv4At(value, 0), port: u16(value, 4)},
    timestampNs: u64s(value, 8),
  }
}

export interface NatAssembly {
  frontends: NatFrontend[]
  /** Backend entries whose (id, ordinal) no frontend references (ordinal ≥ count, or unknown id). */
  orphanBackends: (NatBackend & {serviceId: number})[]
}

/** Attaches backends (ordinal in [0, count)) to frontends; missing ordinals go to `missingOrdinals`. */
export function assembleNat(
  frontends: NatFrontend[],
  backends: Iterable<NatBackend & {serviceId: number}>,
): NatAssembly {
  const byId = new Map<number, Map<number, NatBackend & {serviceId: number}>>()
  for (const be of backends) {
    let m = byId.get(be.serviceId)
    if (!m) byId.set(be.serviceId, (m = new Map()))
    m.set(be.ordinal, be)
  }
  const used = new Set<string>()
  for (const fe of frontends) {
    fe.backends = []
    delete fe.missingBackends
    delete fe.missingOrdinals
    if (fe.blackhole || fe.count <= 0) continue
    const m = byId.get(fe.serviceId)
    for (let o = 0; o < fe.count; o++) {
      const be = m?.get(o)
      if (be) {
        fe.backends.push({ordinal: o, ip: be.ip, port: be.port})
        used.add(`${fe.serviceId}:${o}`)
      } else {
        fe.missingBackends = (fe.missingBackends ?? 0) + 1
        ;(fe.missingOrdinals ??= []).push(o)
      }
    }
  }
  const orphanBackends: (NatBackend & {serviceId: number})[] = []
  for (const [id, m] of byId) for (const [o, be] of m) if (!used.has(`${id}:${o}`)) orphanBackends.push(be)
  orphanBackends.sort((x, y) => x.serviceId - y.serviceId || x.ordinal - y.ordinal)
  return {frontends, orphanBackends}
}

/** Reads a frontend dump and a backend dump (bpftool JSON streams) and assembles them. */
export async function decodeNatDump(input: {
  frontends: ByteSource
  backends: ByteSource
  frontendLayout?: MapLayoutId
}): Promise<NatAssembly & {frontendStats: ScanStats; backendStats: ScanStats}> {
  const fes: NatFrontend[] = []
  const bes: (NatBackend & {serviceId: number})[] = []
  const layout = input.frontendLayout ?? 'nat-fe3'
  const frontendStats = await scanBpftoolDump(input.frontends, (k, v) => fes.push(decodeNatFrontend(k, v, layout)))
  const backendStats = await scanBpftoolDump(input.backends, (k, v) => bes.push(decodeNatBackend(k, v)))
  return {...assembleNat(fes, bes), frontendStats, backendStats}
}

/** Reads an affinity dump stream. */
export async function decodeAffinityDump(input: ByteSource): Promise<{entries: NatAffinityEntry[]; stats: ScanStats}> {
  const entries: NatAffinityEntry[] = []
  const stats = await scanBpftoolDump(input, (k, v) => entries.push(decodeNatAffinity(k, v)))
  return {entries, stats}
}

// ---------------------------------------------------------------------------------------------------------------
// Conntrack decoders

export interface CtDecodeOptions {
  /** Which CT layout: ct4 (default), ct3, ct2, ct4-v6, ct3-v6. Sizes are checked per entry. */
  layout?: MapLayoutId
  /** The node's CLOCK_MONOTONIC now in ns; when given, `activeAgoSeconds` is computed from `last_seen`. */
  nowNs?: bigint | string
  /** What the u64 at offset 0 is: `created` (ct2; ct3 up to v3.29, the ct3 default) or `rst-seen` (v3.30+; ct4 default). */
  offset0?: 'created' | 'rst-seen'
}

function decodeLeg(b: Uint8Array, o: number, withWorkload: boolean): CtLeg {
  const bits = u32(b, o + 16)
  const leg: CtLeg = {
    bytes: u64n(b, o),
    packets: u32(b, o + 8),
    seqno: u32be(b, o + 12),
    syn: (bits & 1) !== 0,
    ack: (bits & 2) !== 0,
    fin: (bits & 4) !== 0,
    rst: (bits & 8) !== 0,
    approved: (bits & 16) !== 0,
    opener: (bits & 32) !== 0,
  }
  if (withWorkload) leg.workload = (bits & 64) !== 0
  leg.ifindex = u32(b, o + 20)
  return leg
}

function decodeLegV2(b: Uint8Array, o: number): CtLeg {
  const bits = u32(b, o + 4)
  return {
    seqno: u32be(b, o),
    syn: (bits & 1) !== 0,
    ack: (bits & 2) !== 0,
    fin: (bits & 4) !== 0,
    rst: (bits & 8) !== 0,
    approved: (bits & 16) !== 0,
    opener: (bits & 32) !== 0,
    ifindex: u32(b, o + 8),
  }
}

/** Conntrack key (16 bytes v4, 40 bytes v6, §2.6) → proto and the two ends in key order. */
export function decodeCtKey(
  key: Uint8Array,
  o = 0,
): {proto: ReturnType<typeof protoFromNumber>; a: Endpoint; b: Endpoint} {
  const proto = protoFromNumber(key[o]!)
  if (key.length - o >= 40) {
    return {
      proto,
      a: {ip: ipv6At(key, o + 4), port: u16(key, o + 36)},
      b: {ip: ipv6At(key, o + 20), port: u16(key, o + 38)},
    }
  }
  return {
    proto,
    a: {ip: ipv4At(key, o + 4), port: u16(key, o + 12)},
    b: {ip: ipv4At(key, o + 8), port: u16(key, o + 14)},
  }
}

const CT_TYPES: CtType[] = ['normal', 'nat-forward', 'nat-reverse']

let nowCacheKey: bigint | string | undefined
let nowCacheHi = 0
let nowCacheLo = 0

function agoSeconds(nowNs: bigint | string, b: Uint8Array, o: number): number {
  if (nowNs !== nowCacheKey) {
    const n = BigInt(nowNs)
    nowCacheKey = nowNs
    nowCacheHi = Number(n >> 32n)
    nowCacheLo = Number(n & 0xffffffffn)
  }
  const hi = u32(b, o + 4)
  const lo = u32(b, o)
  return ((nowCacheHi - hi) * 4294967296 + (nowCacheLo - lo)) / 1e9
}

/**
 * One conntrack entry. Layout by value size: 88 (ct4/ct3 v4), 128 (v6), 64 (ct2). Throws on a size that matches
 * no layout (the caller chose the wrong map).
 */
export function decodeCtEntry(key: Uint8Array, value: Uint8Array, opts: CtDecodeOptions = {}): ConntrackEntry {
  const layout = opts.layout ?? (value.length === 64 ? 'ct2' : value.length === 128 ? 'ct4-v6' : 'ct4')
  const v2 = value.length === 64
  const v6 = value.length === 128
  if (!v2 && !v6 && value.length !== 88) throw new Error(`conntrack value of ${value.length} bytes matches no layout`)
  const {proto, a, b} = decodeCtKey(key)
  const typeCode = value[16]!
  const type = CT_TYPES[typeCode] ?? 'unknown'
  const isCt4 = layout === 'ct4' || layout === 'ct4-v6'
  let flagBits = value[17]! | (value[23]! << 8)
  if (isCt4) flagBits |= (value[18]! << 16) | (value[19]! << 24)
  flagBits >>>= 0
  const ba = (flagBits & CT_FLAG_BA) !== 0
  const entry: ConntrackEntry = {
    proto,
    a,
    b,
    src: ba ? b : a,
    dst: ba ? a : b,
    type,
    typeCode,
    flags: flagBits === 0 ? [] : ctFlagNames(flagBits),
    flagBits,
    lastSeenNs: u64s(value, 8),
  }
  const word0 = opts.offset0 ?? (v2 || !isCt4 ? 'created' : 'rst-seen')
  if (!isZero(value, 0, 8)) {
    if (word0 === 'created') entry.createdNs = u64s(value, 0)
    else entry.rstSeenNs = u64s(value, 0)
  }
  if (opts.nowNs !== undefined) entry.activeAgoSeconds = agoSeconds(opts.nowNs, value, 8)
  if (type === 'nat-forward') {
    const rev = decodeCtKey(value.subarray(24, v6 ? 64 : 40))
    entry.natReverseKey = rev
    entry.natSrcPort = u16(value, v6 ? 64 : 40)
    return entry
  }
  let ab: CtLeg
  let baLeg: CtLeg
  let tunOff: number
  let origOff: number
  let origPortOff: number
  let origSPortOff: number
  let origSipOff: number
  const ipLen = v6 ? 16 : 4
  if (v2) {
    ab = decodeLegV2(value, 24)
    baLeg = decodeLegV2(value, 36)
    origOff = 48
    origPortOff = 52
    origSPortOff = 54
    tunOff = 56
    origSipOff = 60
  } else {
    ab = decodeLeg(value, 24, true)
    baLeg = decodeLeg(value, 48, true)
    tunOff = 72
    origOff = v6 ? 88 : 76
    origPortOff = v6 ? 104 : 80
    origSPortOff = v6 ? 106 : 82
    origSipOff = v6 ? 108 : 84
  }
  entry.legs = {ab, ba: baLeg}
  const ipAt = v6 ? ipv6At : ipv4At
  if (type === 'nat-reverse' && !isZero(value, origOff, ipLen)) {
    entry.origDst = {ip: ipAt(value, origOff), port: u16(value, origPortOff)}
  }
  const osp = u16(value, origSPortOff)
  if (osp !== 0) entry.origSrcPort = osp
  if (!isZero(value, tunOff, ipLen)) entry.tunnelIp = ipAt(value, tunOff)
  if (!isZero(value, origSipOff, ipLen)) entry.origSrcIp = ipAt(value, origSipOff)
  if (proto === 'tcp') entry.tcpState = tcpStateOf(ab, baLeg, flagBits)
  return entry
}

/**
 * Streams a conntrack dump: yields decoded entries in batches (one batch per input chunk), with bounded memory.
 * Pass `stats` to read the scan counters afterwards. Elements whose sizes match no layout are counted as skipped.
 */
export async function* decodeConntrackDump(
  input: ByteSource,
  opts: CtDecodeOptions & {stats?: ScanStats} = {},
): AsyncGenerator<ConntrackEntry[]> {
  let batch: ConntrackEntry[] = []
  const scanner = new BpftoolDumpScanner((k, v) => {
    try {
      batch.push(decodeCtEntry(k, v, opts))
    } catch {
      scanner.stats.entries--
      scanner.stats.skipped++
    }
  })
  for await (const chunk of input) {
    scanner.push(chunk)
    if (batch.length > 0) {
      const out = batch
      batch = []
      yield out
    }
  }
  scanner.end()
  if (batch.length > 0) yield batch
  if (opts.stats) Object.assign(opts.stats, scanner.stats)
}
