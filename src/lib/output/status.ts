import type {StatusDataplane, StatusReport} from '../status.js'
import {paint} from './color.js'

const LABEL: Record<StatusDataplane, string> = {
  'bpf-ready': 'BPF ready',
  'bpf-not-attached': 'BPF configured but not attached',
  iptables: 'iptables',
  unknown: 'unknown',
  unreachable: 'unreachable',
}

// check's colours for the same meanings: as wanted (pass), needs a look (warn), broken (fail), not applicable (skip).
const TONE: Record<StatusDataplane, (s: string) => string> = {
  'bpf-ready': paint.pass,
  'bpf-not-attached': paint.fail,
  iptables: paint.skip,
  unknown: paint.warn,
  unreachable: paint.warn,
}

/** Judged from Felix's log line because its BPF state could not be read (not by --node-state log's choice). */
const isFallback = (n: StatusReport['nodes']['list'][number]) => n.source === 'felix-log' && n.dataplaneError !== undefined

/** Human-readable status; nodes grouped by dataplane (names listed up to `maxNames` per group). */
export function renderStatus(s: StatusReport, maxNames = 10): string {
  const lines: string[] = []
  const version = s.install.calicoVersion ? ` (Calico ${s.install.calicoVersion})` : ''
  lines.push(`Install:           ${s.install.type}${version}, namespace ${s.install.calicoNamespace ?? '-'}`)
  lines.push(
    `Configured:        ${s.configured.bpf ? 'BPF' : 'not BPF'} (${s.configured.source}: ${s.configured.value})`,
  )
  if (s.configured.felixBpfEnabled !== undefined) lines.push(`Felix bpfEnabled:  ${s.configured.felixBpfEnabled}`)
  const cn = s.calicoNode
  lines.push(`calico-node:       ${cn.ready}/${cn.desired} Ready, ${cn.updated}/${cn.desired} updated`)
  lines.push(`Nodes (${s.nodes.total}):`)
  for (const g of s.nodes.groups) {
    const more = g.nodes.length - maxNames
    const names = more <= 0 ? g.nodes.join(', ') : `${g.nodes.slice(0, maxNames).join(', ')} and ${more} more`
    const listed = g.dataplane === 'bpf-ready' && more > 0 ? '' : ` (${names})`
    lines.push(`  ${TONE[g.dataplane](LABEL[g.dataplane])}: ${g.count}${listed}`)
    // Why, for the nodes that are not plainly fine (one line each, up to maxNames); unreachable ones are listed below.
    // In the groups that are as expected, only the nodes judged from the log fallback are named, with why.
    if (g.dataplane === 'unreachable') continue
    const expected = g.dataplane === 'bpf-ready' || (g.dataplane === 'iptables' && !s.configured.bpf)
    const explain = s.nodes.list.filter((x) => x.verdict === g.dataplane && (!expected || isFallback(x)))
    for (const n of explain.slice(0, maxNames)) lines.push(`    ${n.node}: ${n.reason}`)
    if (expected && explain.length > maxNames) lines.push(`    and ${explain.length - maxNames} more judged from the log`)
  }
  for (const u of s.nodes.unreadable.slice(0, maxNames)) lines.push(`  ${paint.warn('cannot read')} ${u.node}: ${u.error}`)
  if (s.nodes.unreadable.length > maxNames) lines.push(`  cannot read ${s.nodes.unreadable.length - maxNames} more`)
  const fallback = s.nodes.list.filter((n) => n.source === 'felix-log' && n.verdict !== 'unreachable').length
  if (fallback > 0 && s.nodes.list.some((n) => n.source !== 'felix-log' || n.dataplaneError)) {
    lines.push(`  (${fallback} node(s) judged from Felix's log line, the fallback: their BPF state could not be read)`)
  }
  const kp = s.kubeProxy
  const kpDetail =
    kp.state === 'absent'
      ? ''
      : ` (${kp.ready}/${kp.desired} Ready; nodeSelector keys: ${kp.selectorKeys.join(', ') || 'none'})`
  lines.push(`kube-proxy:        ${kp.state}${kpDetail}`)
  lines.push(`External services: ${s.dsr.mode}${s.dsr.explicit ? '' : ' (default)'}`)
  const api = s.apiAddress
  const apiText =
    api.source === 'configmap'
      ? `ConfigMap ${api.namespace}/kubernetes-services-endpoint (${api.endpoint ?? 'incomplete'})`
      : api.source === 'bootstrap'
        ? 'bpfNetworkBootstrap (operator)'
        : 'none (calico-node uses the kubernetes Service)'
  lines.push(`API address:       ${apiText}`)
  const rec = s.record
  lines.push(
    `Enable record:     ${
      rec
        ? `${rec.status}, updated ${rec.updatedAt} (steps: ${rec.steps.join(', ')})`
        : s.recordProblem
          ? `not trusted: ${s.recordProblem}`
          : 'none'
    }`,
  )
  if (s.disagreements.length) {
    lines.push(paint.fail('Disagreements:'))
    for (const d of s.disagreements) lines.push(`  ${paint.fail('-')} ${d}`)
  } else lines.push(paint.pass('Configuration and nodes agree.'))
  return lines.join('\n')
}
