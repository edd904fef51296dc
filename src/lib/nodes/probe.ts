/**
 * The node probe: one round trip per node that collects the facts `ebpfctl check` judges. PROBE_SCRIPT is a fixed
 * string (nothing from the user is ever interpolated into it) run as `sh -c PROBE_SCRIPT`; its output is a series of
 * delimited sections that parseProbeOutput() turns into plain data. Any runner can run it, including LocalRunner.
 */
import {OutputLimits} from './bounds.js'
import {EBPF_KERNEL_CONFIG_LINE, type NodeFacts, mountTypeAt, parseFilesystems, parseKernelConfig, parseMounts} from './facts.js'
import {type NodeRunner, type NodeTarget, NodeAccessError} from './types.js'

const M = '@@ebpfctl-probe'

/** Fixed probe script: sections `@@ebpfctl-probe:section NAME`, each ended by `@@ebpfctl-probe:rc N`. */
export const PROBE_SCRIPT = `
M=${M}
echo "$M:begin v1"
echo "$M:section proc_version"; cat /proc/version; echo "$M:rc $?"
echo "$M:section uname_rv"; uname -rv; echo "$M:rc $?"
echo "$M:section machine"; uname -m; echo "$M:rc $?"
echo "$M:section mounts"
if [ -r /proc/1/mounts ] && cat /proc/1/mounts >/dev/null 2>&1; then
  echo "$M:source /proc/1/mounts"; cat /proc/1/mounts; echo "$M:rc $?"
else
  echo "$M:source /proc/self/mounts"; cat /proc/self/mounts; echo "$M:rc $?"
fi
echo "$M:section bpffs_dir"
if [ -d /sys/fs/bpf ]; then echo dir; elif [ -e /sys/fs/bpf ]; then echo not-a-directory; else echo missing; fi
echo "$M:rc 0"
echo "$M:section btf_vmlinux"
if [ -e /sys/kernel/btf/vmlinux ]; then echo yes; else echo no; fi
echo "$M:rc 0"
echo "$M:section kernel_config"
P='${EBPF_KERNEL_CONFIG_LINE}'
if [ -r /proc/config.gz ] && command -v zcat >/dev/null 2>&1 && zcat /proc/config.gz >/dev/null 2>&1; then
  echo "$M:source /proc/config.gz"; zcat /proc/config.gz | grep -E "$P"; echo "$M:rc 0"
elif [ -r "/boot/config-$(uname -r)" ]; then
  echo "$M:source /boot/config-$(uname -r)"; grep -E "$P" "/boot/config-$(uname -r)"; echo "$M:rc 0"
else
  echo "$M:rc 1"
fi
echo "$M:section filesystems"; cat /proc/filesystems; echo "$M:rc $?"
echo "$M:section calico_maps"
if [ -d /sys/fs/bpf/tc/globals ]; then
  echo "$M:source dir"; ls -1A /sys/fs/bpf/tc/globals; echo "$M:rc $?"
else
  echo "$M:rc 0"
fi
echo "$M:end"
`

/** argv that runs the probe on a node. */
export const PROBE_ARGV: readonly string[] = ['sh', '-c', PROBE_SCRIPT]

interface Section {
  lines: string[]
  source?: string
  rc?: number
}

export function parseProbeOutput(text: string): NodeFacts {
  const facts: NodeFacts = {
    mounts: [],
    bpffsDirExists: false,
    bpffsMounted: false,
    btfVmlinux: false,
    calicoMaps: [],
    calicoMapsDirExists: false,
    errors: [],
  }
  const sections = new Map<string, Section>()
  let cur: Section | undefined
  let began = false
  let ended = false
  for (const line of text.split('\n')) {
    if (line.startsWith(`${M}:`)) {
      const rest = line.slice(M.length + 1)
      const sp = rest.indexOf(' ')
      const tag = sp < 0 ? rest : rest.slice(0, sp)
      const arg = sp < 0 ? '' : rest.slice(sp + 1)
      if (tag === 'begin') began = true
      else if (tag === 'end') ended = true
      else if (tag === 'section') {
        cur = {lines: []}
        sections.set(arg, cur)
      } else if (tag === 'source' && cur) cur.source = arg
      else if (tag === 'rc' && cur) {
        cur.rc = Number(arg)
        cur = undefined
      }
      continue
    }
    if (cur) cur.lines.push(line)
  }
  if (!began) {
    facts.errors.push('the probe produced no output (is /bin/sh available on the node?)')
    return facts
  }
  if (!ended) facts.errors.push('the probe output is truncated')

  const ok = (name: string, what: string): Section | undefined => {
    const s = sections.get(name)
    if (!s) {
      facts.errors.push(`${what}: not reported`)
      return undefined
    }
    if (s.rc !== 0) {
      facts.errors.push(`${what}: cannot be read${s.rc === undefined ? '' : ` (exit ${s.rc})`}`)
      return undefined
    }
    return s
  }
  const firstLine = (s: Section | undefined) => {
    const v = s?.lines.join('\n').trim()
    return v ? v : undefined
  }

  facts.procVersion = firstLine(ok('proc_version', '/proc/version'))
  facts.unameRv = firstLine(ok('uname_rv', 'uname -rv'))
  facts.machine = firstLine(ok('machine', 'uname -m'))

  const mounts = ok('mounts', 'the mount table')
  if (mounts) {
    facts.mountsSource = mounts.source
    facts.mounts = parseMounts(mounts.lines)
  }
  facts.bpffsDirExists = firstLine(sections.get('bpffs_dir')) === 'dir'
  facts.bpffsMounted = mountTypeAt(facts.mounts, '/sys/fs/bpf') === 'bpf'
  facts.cgroup2Mount = facts.mounts.find((m) => m.type === 'cgroup2')?.mountpoint
  facts.btfVmlinux = firstLine(sections.get('btf_vmlinux')) === 'yes'

  const kc = sections.get('kernel_config')
  if (kc?.rc === 0) {
    facts.kernelConfig = parseKernelConfig(kc.lines)
    facts.kernelConfigSource = kc.source
  } else {
    facts.errors.push('kernel config: neither /proc/config.gz nor /boot/config-$(uname -r) is readable')
  }

  const fs = sections.get('filesystems')
  if (fs?.rc === 0) facts.filesystems = parseFilesystems(fs.lines)

  const maps = sections.get('calico_maps')
  if (maps?.source === 'dir') {
    facts.calicoMapsDirExists = true
    if (maps.rc === 0) facts.calicoMaps = maps.lines.filter((l) => l !== '').sort()
    else facts.errors.push(`/sys/fs/bpf/tc/globals: cannot be listed (exit ${maps.rc})`)
  }
  return facts
}

export interface ProbeOptions {
  /** Default 15000. */
  timeoutMs?: number
}

/** Runs the probe on node; rejects with NodeAccessError when the node cannot be reached. */
export async function probeNode(runner: NodeRunner, node: NodeTarget, opts: ProbeOptions = {}): Promise<NodeFacts> {
  const r = await runner.run(node, [...PROBE_ARGV], {timeoutMs: opts.timeoutMs ?? 15_000, maxOutputBytes: OutputLimits.probe})
  const facts = parseProbeOutput(r.stdout)
  // stderr explains what failed (permission denied, command not found); keep it, without flooding.
  const stderr = r.stderr.trim()
  if (stderr)
    facts.errors.push(
      ...stderr
        .split('\n')
        .slice(0, 20)
        .map((l) => `stderr: ${l}`),
    )
  if (r.exitCode !== 0 && !r.stdout.includes(`${M}:begin`)) {
    throw new NodeAccessError(
      node.name,
      'other',
      `${node.name}: the probe failed (exit ${r.exitCode}): ${stderr.split('\n')[0] || probeSilence(r.stdout)}`,
      {
        via: runner.via,
      },
    )
  }
  return facts
}

/** The reason for a failed probe that said nothing on stderr: never an empty "failed (exit 1): ". */
function probeSilence(stdout: string): string {
  const out = stdout.trim()
  return out ? `no error output; stdout began ${JSON.stringify(out.slice(0, 80))}` : 'no output at all (is /bin/sh there?)'
}
