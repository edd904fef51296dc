/**
 * After a switch back from BPF: Calico BPF programs still attached on a node (projectcalico/calico#9620: connect-time
 * programs stayed on the cgroup after bpfEnabled=false). Looked for with bpftool on the node: tc/tcx/XDP attachments
 * on its interfaces (`bpftool -j net show`, tcx also through `bpftool -j link show`, programs named through
 * `bpftool -j prog show`) and cgroup programs
 * (`bpftool -j cgroup tree`). Calico's programs are named `cali_*` (tc/XDP preambles, policy) or `calico_*`
 * (connect-time load balancer: calico_connect_v4, calico_sendmsg_v4, …; kernel names are cut at 15 characters).
 */
import {runOnNodes} from '../nodes/fanout.js'
import {shellQuote} from '../nodes/quote.js'
import type {NodeRunner, NodeTarget} from '../nodes/types.js'
import {errorOf} from './nat-dump.js'
import {DataplaneReadError} from './read-maps.js'

export interface Leftover {
  kind: 'tc' | 'tcx' | 'xdp' | 'cgroup'
  /** Interface name, or cgroup path. */
  where: string
  /** ingress / egress (tc), the XDP mode, or the cgroup attach type. */
  hook: string
  progId: number
  name: string
  /** The command that removes this one attachment. */
  remedy: string
}

export interface NodeLeftovers {
  node: string
  leftovers: Leftover[]
  error?: {reason: string; message: string; remedy?: string}
}

export const CALICO_PROG_NAME = /^cali(co)?_/

/** Removes every Calico BPF program and pin on a node (Calico v3.30+), the fix for all leftovers at once. */
export const CLEANUP_REMEDY =
  "run Calico's own cleanup on the node (v3.30+: `calico-node -bpf cleanup`, `calico component node bpf cleanup` on new images; it removes every Calico BPF program and pin), or remove each attachment as listed, or reboot the node (projectcalico/calico#9620)"

async function bpftoolJson(runner: NodeRunner, node: NodeTarget, argv: string[], opts: {timeoutMs: number; maxBytes: number}): Promise<unknown> {
  const res = await runner.run(node, ['bpftool', '-j', ...argv], {timeoutMs: opts.timeoutMs, maxOutputBytes: opts.maxBytes})
  if (res.exitCode !== 0) {
    const why = res.stderr.trim().split('\n')[0] || `exit ${res.exitCode}`
    throw new DataplaneReadError(node.name, /not found/.test(why) ? 'bpftool-missing' : 'bpftool-failed', `bpftool ${argv.join(' ')} failed: ${why}`, 'Install bpftool on the node (Debian/Ubuntu: apt-get install bpftool).')
  }
  try {
    return JSON.parse(res.stdout) as unknown
  } catch {
    throw new DataplaneReadError(node.name, 'bpftool-failed', `bpftool ${argv.join(' ')} printed something that is not JSON`)
  }
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown) => (typeof v === 'number' ? v : undefined)
const str = (v: unknown) => (typeof v === 'string' ? v : undefined)

/** `bpftool -j net show` → attachments per interface (tc `clsact/ingress`, tcx `tcx/ingress`, xdp). */
export function netAttachments(doc: unknown): {kind: Leftover['kind']; where: string; hook: string; progId: number; name: string}[] {
  const out: {kind: Leftover['kind']; where: string; hook: string; progId: number; name: string}[] = []
  for (const section of Array.isArray(doc) ? doc : []) {
    if (!isObj(section)) continue
    for (const [key, list] of Object.entries(section)) {
      if (!Array.isArray(list) || !['tc', 'tcx', 'xdp'].includes(key)) continue
      for (const a of list) {
        if (!isObj(a)) continue
        const id = num(a.id) ?? num(a.prog_id)
        const dev = str(a.devname)
        if (id === undefined || !dev) continue
        const kindText = str(a.kind) ?? str(a.mode) ?? ''
        const kind = key === 'xdp' ? 'xdp' : kindText.startsWith('tcx') || key === 'tcx' ? 'tcx' : 'tc'
        out.push({kind, where: dev, hook: kindText.split('/').pop() || kindText || key, progId: id, name: str(a.name) ?? ''})
      }
    }
  }
  return out
}

/** `bpftool -j cgroup tree` → programs per cgroup. */
export function cgroupAttachments(doc: unknown): {where: string; hook: string; progId: number; name: string}[] {
  const out: {where: string; hook: string; progId: number; name: string}[] = []
  for (const cg of Array.isArray(doc) ? doc : []) {
    if (!isObj(cg) || !Array.isArray(cg.programs)) continue
    for (const p of cg.programs) {
      if (!isObj(p) || num(p.id) === undefined) continue
      out.push({where: str(cg.cgroup) ?? '?', hook: str(p.attach_type) ?? '?', progId: num(p.id)!, name: str(p.name) ?? ''})
    }
  }
  return out
}

/**
 * A word of a printed remedy that came from the node (device names, cgroup paths, pins, hook names): shell-quoted, so
 * a hostile name (Linux allows `;` in a device name, anything in a file name) cannot turn the copied command into
 * another one.
 */
const word = (nodeText: string) => shellQuote(nodeText.replaceAll('\0', ''))

/** BPF_LINK_TYPE_TCX: bpftool before 7.3 prints the number, later ones `tcx`. */
const TCX_LINK_TYPE = 11

/**
 * `bpftool -j -f link show` → tcx links. bpftool before 7.3 neither lists tcx in `net show` nor decodes the link
 * (only `{"id","type":11,"prog_id","pinned"}`): the link is still found, its interface unnamed. bpftool ≥ 7.3 names
 * `devname`/`ifindex` and `attach_type` (`tcx_ingress`); ifindex 0 is a link already detached from its device.
 */
export function tcxLinks(doc: unknown): {linkId: number; progId: number; where?: string; hook?: string; pinned: string[]}[] {
  const out: {linkId: number; progId: number; where?: string; hook?: string; pinned: string[]}[] = []
  for (const l of Array.isArray(doc) ? doc : []) {
    if (!isObj(l) || (l.type !== 'tcx' && l.type !== TCX_LINK_TYPE)) continue
    const linkId = num(l.id)
    const progId = num(l.prog_id)
    if (linkId === undefined || progId === undefined || num(l.ifindex) === 0) continue
    const where = str(l.devname) ?? (num(l.ifindex) !== undefined ? `ifindex ${num(l.ifindex)}` : undefined)
    const hook = str(l.attach_type)?.replace(/^tcx_/, '')
    const pinned = Array.isArray(l.pinned) ? l.pinned.filter((p): p is string => typeof p === 'string') : []
    out.push({linkId, progId, where, hook, pinned})
  }
  return out
}

/** bpftool 7.1 prints `cgroup_inet4_connect`, older ones `connect4`: the word `bpftool cgroup detach` takes. */
const detachWord = (attachType: string) =>
  attachType.replace(/^cgroup_inet([46])_(connect|post_bind|bind)$/, '$2$1').replace(/^cgroup_udp([46])_(sendmsg|recvmsg)$/, '$2$1')

export async function findCalicoLeftovers(
  runner: NodeRunner,
  node: NodeTarget,
  opts: {timeoutMs: number; maxBytes: number},
): Promise<Leftover[]> {
  const [net, cgroups, progs, links] = await Promise.all([
    bpftoolJson(runner, node, ['net', 'show'], opts),
    bpftoolJson(runner, node, ['cgroup', 'tree'], opts),
    bpftoolJson(runner, node, ['prog', 'show'], opts),
    // -f: the bpffs pins of each link (a pinned link outlives its detach until the pin is removed).
    bpftoolJson(runner, node, ['-f', 'link', 'show'], opts),
  ])
  // tc filters are listed under the filter's name (often `<file>:[*fsobj]`): the program's own name decides.
  const progName = new Map<number, string>()
  for (const p of Array.isArray(progs) ? progs : []) if (isObj(p) && num(p.id) !== undefined) progName.set(num(p.id)!, str(p.name) ?? '')
  const leftovers: Leftover[] = []
  for (const a of netAttachments(net)) {
    const name = progName.get(a.progId) || a.name
    if (!CALICO_PROG_NAME.test(name)) continue
    const remedy =
      a.kind === 'xdp'
        ? `ip link set dev ${word(a.where)} xdp off`
        : a.kind === 'tcx'
          ? `bpftool net detach ${word(`tcx_${a.hook}`)} dev ${word(a.where)}`
          : // Only this filter: other filters on the hook may not be Calico's.
            `tc filter del dev ${word(a.where)} ${word(a.hook)} pref P (P: the pref of id ${a.progId} in \`tc filter show dev ${word(a.where)} ${word(a.hook)}\`)`
    leftovers.push({...a, name, remedy})
  }
  // tcx attachments that `net show` did not list (bpftool < 7.3 cannot): found through their links.
  const listedTcx = new Set(leftovers.filter((l) => l.kind === 'tcx').map((l) => l.progId))
  for (const link of tcxLinks(links)) {
    const name = progName.get(link.progId) ?? ''
    if (!CALICO_PROG_NAME.test(name) || listedTcx.has(link.progId)) continue
    const detach = `bpftool link detach id ${link.linkId}`
    leftovers.push({
      kind: 'tcx',
      where: link.where ?? `link ${link.linkId} (device not shown by this bpftool; 7.3+ shows it)`,
      hook: link.hook ?? '(hook not shown)',
      progId: link.progId,
      name,
      remedy: link.pinned.length ? `${detach} && rm ${link.pinned.map(word).join(' ')}` : detach,
    })
  }
  for (const c of cgroupAttachments(cgroups)) {
    const name = progName.get(c.progId) || c.name
    if (!CALICO_PROG_NAME.test(name)) continue
    leftovers.push({kind: 'cgroup', ...c, name, remedy: `bpftool cgroup detach ${word(c.where)} ${word(detachWord(c.hook))} id ${c.progId}`})
  }
  return leftovers
}

/** Every node's leftovers; a node that cannot be checked is an error, never "clean". */
export async function verifyClean(
  runner: NodeRunner,
  targets: NodeTarget[],
  opts: {timeoutMs: number; maxBytes: number; concurrency: number},
): Promise<NodeLeftovers[]> {
  const outcomes = await runOnNodes(targets, (n) => findCalicoLeftovers(runner, n, opts), {
    concurrency: opts.concurrency,
    perNodeTimeoutMs: opts.timeoutMs,
  })
  return outcomes.map((o) => (o.ok ? {node: o.node.name, leftovers: o.value} : {node: o.node.name, leftovers: [], error: errorOf(o.error)}))
}

export function renderLeftovers(results: NodeLeftovers[]): string {
  const dirty = results.filter((r) => r.leftovers.length > 0)
  const failed = results.filter((r) => r.error)
  const clean = results.length - dirty.length - failed.length
  const lines = [`Verify clean: ${clean}/${results.length} node(s) have no Calico BPF program attached.`]
  for (const r of dirty) {
    lines.push(`  ${r.node}: ${r.leftovers.length} Calico BPF program(s) still attached:`)
    for (const l of r.leftovers) lines.push(`    ${l.kind} ${l.hook} on ${l.where}: ${l.name} (id ${l.progId}); remove: ${l.remedy}`)
  }
  for (const r of failed) lines.push(`  ${r.node}: not checked: ${r.error!.message}`)
  if (dirty.length) lines.push(`  Remedy: ${CLEANUP_REMEDY}.`)
  return lines.join('\n')
}
