/**
 * Calico's interface-state map (`cali_iface*`): per interface, whether Felix has attached its BPF programs
 * (the ready flags) and which policy programs are loaded. Three sources, one model:
 * - `calico-node -bpf ifstate dump` text, in its three shapes (v3.24–v3.26, v3.27, v3.28+);
 * - `ifstate dump --json` (v3.31.5+/v3.32+);
 * - the pinned map's bytes from `bpftool -j map dump pinned /sys/fs/bpf/tc/globals/cali_iface4` (felix/bpf/ifstate/map.go):
 *   key u32 LE ifindex; value u32 LE flags, name[16] NUL-padded, then s32 LE policy-program jump-map indexes (-1 = none):
 *   v4 (52 bytes, v3.28+): xdpV4 ingressV4 egressV4 xdpV6 ingressV6 egressV6 tcIngressFilter tcEgressFilter;
 *   v3 (40 bytes, v3.27): xdp ingress egress tcIngressFilter tcEgressFilter; v2 (20 bytes, ≤ v3.26): no ids.
 */

/** Flag bits (felix/bpf/ifstate/map.go, HEAD). v3.24–v3.27 called 0x2 "ready" (one family). */
const IFSTATE_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x1, 'workload'],
  [0x2, 'v4Ready'],
  [0x4, 'v6Ready'],
  [0x8, 'host'],
  [0x10, 'bond'],
  [0x20, 'bondslave'],
  [0x40, 'vxlan'],
  [0x80, 'ipip'],
  [0x100, 'wg'],
  [0x200, 'l3'],
  [0x400, 'notmanaged'],
]

/** The pinned map names, newest first, and the value size of each. */
export const IFSTATE_MAPS: ReadonlyArray<{name: string; valueSize: number}> = [
  {name: 'cali_iface4', valueSize: 52},
  {name: 'cali_iface3', valueSize: 40},
  {name: 'cali_iface2', valueSize: 20},
]

export interface IfaceState {
  ifindex: number
  name: string
  /** Flag names as Calico prints them; an interface without flags is a host interface ("host"). */
  flags: string[]
  /** Felix has attached its programs to this interface (v4Ready / v6Ready / ready). */
  ready: boolean
  kind: 'workload' | 'host'
  /** Jump-map indexes of the attached policy programs; -1 or absent = none. */
  policy?: {ingressV4?: number; egressV4?: number; xdpV4?: number; ingressV6?: number; egressV6?: number; xdpV6?: number}
}

const READY_FLAGS = new Set(['v4Ready', 'v6Ready', 'ready'])

function stateOf(ifindex: number, name: string, flags: string[], policy?: IfaceState['policy']): IfaceState {
  const clean = flags.filter(Boolean)
  const names = clean.length ? clean : ['host']
  return {
    ifindex,
    name,
    flags: names,
    ready: names.some((f) => READY_FLAGS.has(f)),
    kind: names.includes('workload') ? 'workload' : 'host',
    ...(policy ? {policy} : {}),
  }
}

export function ifstateFlagNames(bits: number, legacyReady = false): string[] {
  const out: string[] = []
  for (const [bit, name] of IFSTATE_FLAGS) if (bits & bit) out.push(legacyReady && bit === 0x2 ? 'ready' : name)
  return out
}

/** One map entry from its bytes; undefined for a value size Calico never used. */
export function decodeIfstate(key: Uint8Array, value: Uint8Array): IfaceState | undefined {
  if (key.length < 4 || ![20, 40, 52].includes(value.length)) return undefined
  const kv = new DataView(key.buffer, key.byteOffset, key.byteLength)
  const vv = new DataView(value.buffer, value.byteOffset, value.byteLength)
  const flags = vv.getUint32(0, true)
  const nameBytes = value.subarray(4, 20)
  const nul = nameBytes.indexOf(0)
  const name = Buffer.from(nameBytes.subarray(0, nul < 0 ? 16 : nul)).toString('latin1')
  const id = (i: number) => vv.getInt32(20 + 4 * i, true)
  let policy: IfaceState['policy']
  if (value.length === 52) {
    policy = {xdpV4: id(0), ingressV4: id(1), egressV4: id(2), xdpV6: id(3), ingressV6: id(4), egressV6: id(5)}
  } else if (value.length === 40) {
    policy = {xdpV4: id(0), ingressV4: id(1), egressV4: id(2)}
  }
  return stateOf(kv.getUint32(0, true), name, ifstateFlagNames(flags, value.length < 52), policy)
}

export interface IfstateParse {
  interfaces: IfaceState[]
  /** Lines (or JSON elements) that were not an interface entry. */
  unknown: string[]
}

// `%5d : {flags: workload,v4Ready, XDPPolicyV4: -1, IngressPolicyV4: 12, …, name: cali1}` (v3.28+),
// `{flags: workload,ready, XDPPolicy: -1, IngressPolicy: 3, …, name: …}` (v3.27), `{flags: host, name: eth0}` (≤ v3.26).
const TEXT_LINE = /^\s*(\d+)\s*:\s*\{flags:\s*([A-Za-z0-9,]*),?\s*(.*?)\bname:\s*(.*)\}\s*$/

/** `ifstate dump` text, every release since v3.24. */
export function parseIfstateText(text: string): IfstateParse {
  const interfaces: IfaceState[] = []
  const unknown: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd()
    if (!line.trim()) continue
    const m = TEXT_LINE.exec(line)
    if (!m) {
      unknown.push(line)
      continue
    }
    const ids: Record<string, number> = {}
    for (const f of m[3]!.matchAll(/(\w+):\s*(-?\d+)/g)) ids[f[1]!] = Number(f[2])
    const pick = (...names: string[]) => names.map((n) => ids[n]).find((v) => v !== undefined)
    const hasIds = Object.keys(ids).length > 0
    const policy = hasIds
      ? {
          ingressV4: pick('IngressPolicyV4', 'IngressPolicy'),
          egressV4: pick('EgressPolicyV4', 'EgressPolicy'),
          xdpV4: pick('XDPPolicyV4', 'XDPPolicy'),
          ingressV6: pick('IngressPolicyV6'),
          egressV6: pick('EgressPolicyV6'),
          xdpV6: pick('XDPPolicyV6'),
        }
      : undefined
    interfaces.push(stateOf(Number(m[1]), m[4]!.trim(), m[2]!.split(','), policy))
  }
  return {interfaces, unknown}
}

/** `ifstate dump --json`: `[{"ifindex","name","flags":[…],"ingress_policy_v4",…}]`, or `null` for an empty map. */
export function parseIfstateJson(text: string): IfstateParse {
  const doc = JSON.parse(text) as unknown
  if (doc === null) return {interfaces: [], unknown: []}
  if (!Array.isArray(doc)) throw new Error('ifstate JSON is not an array')
  const interfaces: IfaceState[] = []
  const unknown: string[] = []
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
  for (const e of doc as Record<string, unknown>[]) {
    if (!e || typeof e !== 'object' || num(e.ifindex) === undefined || typeof e.name !== 'string') {
      unknown.push(JSON.stringify(e).slice(0, 200))
      continue
    }
    const flags = Array.isArray(e.flags) ? e.flags.filter((f): f is string => typeof f === 'string') : []
    interfaces.push(
      stateOf(num(e.ifindex)!, e.name, flags, {
        ingressV4: num(e.ingress_policy_v4),
        egressV4: num(e.egress_policy_v4),
        xdpV4: num(e.xdp_policy_v4),
        ingressV6: num(e.ingress_policy_v6),
        egressV6: num(e.egress_policy_v6),
        xdpV6: num(e.xdp_policy_v6),
      }),
    )
  }
  return {interfaces, unknown}
}
