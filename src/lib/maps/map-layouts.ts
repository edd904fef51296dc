/**
 * Calico's BPF map layouts (name, type, key/value size, max entries, flags per version; calico-bpf.md §2) and which
 * pinned map is the live one per family: `selectMaps` picks it from `bpftool -j map show` and/or a pin-dir listing
 * (§2.9).
 */

export const GLOBAL_PIN_DIR = '/sys/fs/bpf/tc/globals'
export const BPF_F_NO_PREALLOC = 1


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
