import type {ClusterCheckContext, Finding, NewFinding} from '../types.js'

const on = (mode: string | undefined) => mode !== undefined && mode !== '' && mode !== 'Never'

export function run(ctx: ClusterCheckContext, finding: NewFinding): Finding[] {
  const {state, install} = ctx.cluster
  if (install.type === 'none') return [finding('skip', 'Calico is not installed')]
  if (state.ipPools.length === 0) return [finding('warn', 'no IP pools found')]
  const out: Finding[] = []
  for (const pool of state.ipPools) {
    const cidr = pool.spec?.cidr ?? '?'
    const v6 = cidr.includes(':')
    const ipip = pool.spec?.ipipMode
    const vxlan = pool.spec?.vxlanMode
    const encap = on(ipip) ? `IPIP ${ipip}` : on(vxlan) ? `VXLAN ${vxlan}` : 'no encapsulation'
    const label = `IP pool ${pool.metadata.name} (${cidr}${v6 ? ', IPv6' : ''}${pool.spec?.disabled ? ', disabled' : ''}): ${encap}`
    const data = {name: pool.metadata.name, cidr, ipv6: v6, ipipMode: ipip ?? null, vxlanMode: vxlan ?? null, disabled: pool.spec?.disabled ?? false}
    if (on(ipip)) {
      out.push(
        finding('warn', `${label}: IPIP performs poorly in eBPF mode`, {
          data,
          remedy:
            install.type === 'operator'
              ? 'Use VXLAN (or no encapsulation on a flat network): set encapsulation: VXLAN in Installation spec.calicoNetwork.ipPools.'
              : `Use VXLAN (or no encapsulation): kubectl patch ippool ${pool.metadata.name} --type merge -p '{"spec":{"ipipMode":"Never","vxlanMode":"Always"}}'`,
        }),
      )
    } else {
      const note = v6 ? ' (IPv6 in BPF mode needs ipv6Support and, on operator installs, nodeAddressAutodetectionV6)' : ''
      out.push(finding('pass', `${label}${note}`, {data}))
    }
  }
  return out
}
