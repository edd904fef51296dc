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
import {extractJsonList} from './agent-json.js'
import {forEachLine, LineAccounting} from './agent-lines.js'

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
  /** Lines (or JSON elements) that were not an interface entry, up to 20, each at most 200 characters. */
  unknown: string[]
  /** Recognised non-data lines (`Using config file:`, prompts, echoed commands, info/warn log lines). */
  noise?: number
  /** Error-level log lines, `Error:` lines, or why a JSON document could not be read. */
  errors?: string[]
}

const MAX_UNKNOWN = 20

// `%5d : {flags: workload,v4Ready, XDPPolicyV4: -1, IngressPolicyV4: 12, …, name: cali1}` (v3.28+),
// `{flags: workload,ready, XDPPolicy: -1, IngressPolicy: 3, …, name: …}` (v3.27; without the filters on 2023 master),
// `{flags: host, name: eth0}` (≤ v3.26). Read in steps, each linear in the line: the head, then the closing brace, the
// flags word and the first `name:` field. (One regex over the whole line backtracked quadratically: 17 s on a 64 KiB
// line of `name: ` without a closing brace.)
const TEXT_HEAD = /^\s*(\d+)\s*:\s*\{flags:\s*/
const FLAGS_WORD = /^[A-Za-z0-9,]*/

function ifstateLine(line: string): IfaceState | undefined {
  const head = TEXT_HEAD.exec(line)
  if (!head || !line.endsWith('}')) return undefined
  const body = line.slice(head[0].length, -1)
  const flagsText = FLAGS_WORD.exec(body)![0]
  const rest = body.slice(flagsText.length)
  // The first `name:` that starts a word: the policy fields come before it, and the name (last) may contain anything.
  let at = -1
  for (let i = rest.indexOf('name:'); i >= 0; i = rest.indexOf('name:', i + 1)) {
    if (i === 0 || !/\w/.test(rest[i - 1]!)) {
      at = i
      break
    }
  }
  if (at < 0) return undefined
  const ids: Record<string, number> = {}
  for (const f of rest.slice(0, at).matchAll(/(\w+):\s*(-?\d+)/g)) ids[f[1]!] = Number(f[2])
  const pick = (...names: string[]) => names.map((n) => ids[n]).find((v) => v !== undefined)
  const policy =
    Object.keys(ids).length > 0
      ? {
          ingressV4: pick('IngressPolicyV4', 'IngressPolicy'),
          egressV4: pick('EgressPolicyV4', 'EgressPolicy'),
          xdpV4: pick('XDPPolicyV4', 'XDPPolicy'),
          ingressV6: pick('IngressPolicyV6'),
          egressV6: pick('EgressPolicyV6'),
          xdpV6: pick('XDPPolicyV6'),
        }
      : undefined
  return stateOf(Number(head[1]), rest.slice(at + 5).trim(), flagsText.split(','), policy)
}

/** `ifstate dump` text, every release since v3.24. Noise lines around the entries are counted, errors collected. */
export function parseIfstateText(text: string): IfstateParse {
  const interfaces: IfaceState[] = []
  const unknown: string[] = []
  const acc = new LineAccounting(0)
  forEachLine(text, (raw, cutOff) => {
    const line = raw.trimEnd()
    const entry = ifstateLine(line)
    if (entry) {
      interfaces.push(entry)
      return
    }
    const before = acc.unknownLines + (acc.truncatedLastLine ? 1 : 0)
    acc.other(line, cutOff)
    if (acc.unknownLines + (acc.truncatedLastLine ? 1 : 0) > before && unknown.length < MAX_UNKNOWN) {
      unknown.push(line.slice(0, 200))
    }
  })
  return {interfaces, unknown, noise: acc.noiseLines, errors: acc.errors}
}

/**
 * `ifstate dump --json`: `[{"ifindex","name","flags":[…],"ingress_policy_v4",…}]`, or `null` for an empty map. Lines
 * before the document (`Using config file: …`, log lines) and after it are skipped and accounted for; output that holds
 * no readable document is reported in `errors`, never thrown.
 */
export function parseIfstateJson(text: string): IfstateParse {
  const {items, acc} = extractJsonList(text, 'ifstate')
  const interfaces: IfaceState[] = []
  const unknown: string[] = []
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
  for (const e of items as Record<string, unknown>[]) {
    if (!e || typeof e !== 'object' || num(e.ifindex) === undefined || typeof e.name !== 'string') {
      if (unknown.length < MAX_UNKNOWN) unknown.push(String(JSON.stringify(e)).slice(0, 200))
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
  return {interfaces, unknown, noise: acc.noiseLines, errors: acc.errors}
}
