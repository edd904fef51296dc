import type {FelixConfigurationObject} from '../../kube/objects.js'
import type {ClusterCheckContext, Finding, NewFinding} from '../types.js'

export const OPERATOR_BPF_ANNOTATION = 'operator.tigera.io/bpfEnabled'
/** felix/bpf/tc/defs/defs.go MarksMask: the mark bits BPF mode uses unconditionally. */
const BPF_MARK_BITS = 0x1ff00000

export function bpfFields(fc: FelixConfigurationObject): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fc.spec ?? {}).filter(([k]) => k.startsWith('bpf')))
}

function parseMask(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v !== 'string') return undefined
  const n = Number(v.trim())
  return Number.isFinite(n) ? n : undefined
}

export function run(ctx: ClusterCheckContext, finding: NewFinding): Finding[] {
  const {state, install} = ctx.cluster
  if (install.type === 'none') return [finding('skip', 'Calico is not installed')]
  const out: Finding[] = []
  const def = install.felixDefault
  const values = def ? bpfFields(def) : {}
  const overrides = state.felixConfigurations.filter((f) => f.metadata.name !== 'default')
  const overrideData = overrides
    .map((f) => ({name: f.metadata.name, nodeSelector: f.spec?.nodeSelector, bpf: bpfFields(f)}))
    .filter((o) => Object.keys(o.bpf).length > 0)
  const data = {default: values, overrides: overrideData}
  const shown = Object.entries(values).map(([k, v]) => `${k}=${JSON.stringify(v)}`)
  if (shown.length > 0 && !('bpfEnabled' in values)) shown.unshift('bpfEnabled unset (default false)')
  out.push(
    finding(
      'pass',
      def
        ? `FelixConfiguration default: ${shown.length ? shown.join(', ') : 'no bpf* fields set (bpfEnabled defaults to false)'}`
        : 'no FelixConfiguration default yet (calico-node creates it at start-up)',
      {data},
    ),
  )
  for (const o of overrideData) {
    const scope = o.name.startsWith('node.') ? `node ${o.name.slice(5)}` : `nodes matching ${o.nodeSelector ?? '(no selector)'}`
    const fields = Object.entries(o.bpf).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')
    const status = 'bpfEnabled' in o.bpf || 'bpfExternalServiceMode' in o.bpf ? 'warn' : 'pass'
    out.push(
      finding(status, `FelixConfiguration ${o.name} overrides ${fields} for ${scope}`, {
        remedy: status === 'warn' ? 'Per-node overrides can leave some nodes out of BPF mode (a hybrid cluster); remove them unless intended.' : undefined,
      }),
    )
  }
  if (install.felixBpfEnabledEnv) {
    const ds = install.calicoNode
    out.push(
      finding(
                'warn',
        `calico-node env FELIX_BPFENABLED=${install.felixBpfEnabledEnv.value} on ${ds?.metadata.namespace}/${ds?.metadata.name} overrides FelixConfiguration bpfEnabled`,
        {
          remedy:
            install.type === 'operator'
              ? 'Upgrade the operator (v1.34+ migrates it into FelixConfiguration).'
              : `Change the env var instead of FelixConfiguration (kubectl set env -n ${ds?.metadata.namespace} ds/calico-node FELIX_BPFENABLED=true), or remove it.`,
        },
      ),
    )
  }
  if (install.type === 'operator' && def) {
    const annotation = def.metadata.annotations?.[OPERATOR_BPF_ANNOTATION]
    const spec = def.spec?.bpfEnabled
    const matches = (annotation === undefined && spec === undefined) || annotation === String(spec)
    if (!matches) {
      out.push(
        finding(
          'fail',
          `FelixConfiguration default has bpfEnabled=${spec ?? '(unset)'} but annotation ${OPERATOR_BPF_ANNOTATION}=${annotation ?? '(absent)'}: the operator refuses to manage bpfEnabled`,
          {
            detail: 'The operator logs "FelixConfiguration \\"default\\" has been modified by someone else, refusing to override potential user configuration".',
            remedy:
              'On operator installs set Installation spec.calicoNetwork.linuxDataplane instead; align the annotation with spec.bpfEnabled ' +
              `(kubectl annotate felixconfiguration default --overwrite ${OPERATOR_BPF_ANNOTATION}=${spec ?? 'false'}) or remove spec.bpfEnabled.`,
          },
        ),
      )
    }
  }
  for (const key of ['iptablesMarkMask', 'nftablesMarkMask']) {
    const mask = parseMask(def?.spec?.[key])
    if (mask !== undefined && (mask & BPF_MARK_BITS) >>> 0 !== BPF_MARK_BITS) {
      out.push(
        finding('fail', `${key} 0x${(mask >>> 0).toString(16)} does not cover the BPF mark bits 0x1ff00000: Felix panics at start in BPF mode`, {
          remedy: `Set ${key} to 0xffff0000 (the default) or another mask that includes 0x1ff00000.`,
        }),
      )
    }
  }
  return out
}
