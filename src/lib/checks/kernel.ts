/**
 * Felix's kernel rule, copied exactly (felix/environment/versionparse.go and felix/bpf/bpf.go, the same from v3.22 to
 * v3.32 and master), plus the currently documented floor and the endianness test. Pure functions over strings.
 */

import {FELIX_BPF_FALLBACK} from '../felix-log.js'

export type Distro = 'ubuntu' | 'rhel' | 'default'

/** Felix's `kernelVersionRegexp`, applied to the whole of /proc/version. */
export const KERNEL_VERSION_RE = /Linux version (\d+\.\d+\.\d+(?:-\d+)?)/
/** Felix's `rhelRegexp` (`el(\d+\_\d+)`), matched against the lower-cased string. */
const RHEL_RE = /el(\d+_\d+)/

/** `distToVersionMap` in felix/bpf/bpf.go. */
export const FELIX_MINIMUM: Record<Distro, string> = {ubuntu: '5.3.0', rhel: '4.18.0-193', default: '5.3.0'}
/** The floor Calico documents today (v3.32 docs, felix/design/bpf-overview.md): 5.10, RHEL 4.18.0-305. */
export const DOCUMENTED_MINIMUM: Record<Distro, string> = {ubuntu: '5.10.0', rhel: '4.18.0-305', default: '5.10.0'}


/** Go's regexp.Split(s, n) for n > 0: at most n substrings, the last one holding the unsplit rest. */
function splitN(s: string, re: RegExp, n: number): string[] {
  const parts: string[] = []
  let rest = s
  const global = new RegExp(re.source, 'g')
  while (parts.length < n - 1) {
    global.lastIndex = 0
    const m = global.exec(rest)
    if (!m) break
    parts.push(rest.slice(0, m.index))
    rest = rest.slice(m.index + m[0].length)
  }
  parts.push(rest)
  return parts
}

/** Go's strconv.Atoi: an optional sign and decimal digits. */
function atoi(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined
  const n = Number(s)
  return Number.isSafeInteger(n) ? n : undefined
}

/** Felix's NewVersion: split on [.-] into at most 4 parts, each must be an integer. undefined = parse error. */
export function parseVersion(s: string): number[] | undefined {
  const out: number[] = []
  for (const part of splitN(s, /[.-]/, 4)) {
    const n = atoi(part)
    if (n === undefined) return undefined
    out.push(n)
  }
  return out
}

/** Felix's Version.Compare: element-wise; when one is a prefix of the other, the longer one is greater. */
export function compareVersions(a: readonly number[], b: readonly number[]): -1 | 0 | 1 {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i]! < b[i]!) return -1
    if (a[i]! > b[i]!) return 1
  }
  if (a.length === b.length) return 0
  return a.length < b.length ? -1 : 1
}

/** Felix's GetDistFromString. */
export function distroFromString(s: string): Distro {
  const lower = s.toLowerCase()
  if (lower.includes('ubuntu')) return 'ubuntu'
  if (lower.includes('red hat') || RHEL_RE.test(lower)) return 'rhel'
  return 'default'
}

/**
 * A distro hint from Node status.nodeInfo.osImage (or /etc/os-release PRETTY_NAME), used only when /proc/version is
 * not available. RHEL rebuilds and the distributions whose kernels are built with Red Hat's gcc (its /proc/version
 * then contains "Red Hat", which is what Felix matches) map to rhel.
 */
export function distroFromOsImage(osImage: string | undefined): Distro | undefined {
  if (!osImage) return undefined
  const s = osImage.toLowerCase()
  if (s.includes('ubuntu')) return 'ubuntu'
  if (/red hat|\brhel\b|rocky|almalinux|alma linux|centos|oracle linux|fedora|amazon linux/.test(s)) return 'rhel'
  return undefined
}

export type KernelStatus = 'pass' | 'warn' | 'fail'

export interface KernelVerdict {
  /** pass: Felix runs BPF and the kernel meets the documented floor; warn: Felix runs BPF below the documented floor;
   * fail: Felix falls back to iptables (or cannot parse the version). */
  status: KernelStatus
  /** Felix's own answer: would SupportsBPFDataplane()'s kernel test succeed? */
  felixSupported: boolean
  /** The `Linux version …` capture, e.g. 5.15.0-1019. */
  release?: string
  /** The parsed version as Felix holds it, e.g. [5, 15, 0, 1019]. */
  version?: number[]
  distro: Distro
  /** Where the distro came from: Felix's rule on the kernel string, or the OS image hint. */
  distroSource: 'kernel-string' | 'os-image'
  felixMinimum: string
  documentedMinimum: string
  /** True when built from `uname -r`-like data (no /proc/version): Felix reads /proc/version, so this is a guess. */
  inferred: boolean
  /** Felix's error text, when it would refuse. */
  felixError?: string
  /** One line for people. */
  message: string
}

export interface KernelInput {
  /** The text of /proc/version (authoritative: it is what Felix reads). */
  procVersion?: string
  /** `uname -rv` (or only `uname -r`, e.g. Node status.nodeInfo.kernelVersion). */
  unameRv?: string
  /** Distro hint (Node status.nodeInfo.osImage), used only without /proc/version. */
  osImage?: string
}

/**
 * Felix's verdict on a kernel. With /proc/version the verdict is exact. Without it, the `uname -r` release (first
 * word of unameRv) is run through the same regex and the distro comes from Felix's rule on unameRv or, failing
 * that, the OS image; the verdict is then marked inferred.
 */
export function kernelVerdict(input: KernelInput): KernelVerdict {
  const inferred = !input.procVersion
  const text = input.procVersion ?? (input.unameRv ? `Linux version ${input.unameRv.trim().split(/\s+/)[0]}` : '')
  let distro = distroFromString(input.procVersion ?? input.unameRv ?? '')
  let distroSource: KernelVerdict['distroSource'] = 'kernel-string'
  if (inferred && distro === 'default') {
    const hint = distroFromOsImage(input.osImage)
    if (hint) {
      distro = hint
      distroSource = 'os-image'
    }
  }
  const felixMinimum = FELIX_MINIMUM[distro]
  const documentedMinimum = DOCUMENTED_MINIMUM[distro]
  const base = {distro, distroSource, felixMinimum, documentedMinimum, inferred}
  const how = inferred
    ? ` (inferred from uname -r${distroSource === 'os-image' ? ' and the OS image' : ''}; Felix reads /proc/version)`
    : ''
  const release = KERNEL_VERSION_RE.exec(text)?.[1]
  const version = release === undefined ? undefined : parseVersion(release)
  if (release === undefined || version === undefined) {
    const felixError = release === undefined ? 'failed to parse kernel version string' : `error parsing version: ${release}`
    return {
      ...base,
      status: 'fail',
      felixSupported: false,
      release,
      felixError,
      message: `Felix cannot parse the kernel version (${felixError}), so it would disable BPF mode and fall back to iptables${how}`,
    }
  }
  const felixSupported = compareVersions(version, parseVersion(felixMinimum)!) >= 0
  if (!felixSupported) {
    const felixError = `kernel is too old (have: ${release} but want at least: ${felixMinimum})`
    return {
      ...base,
      status: 'fail',
      felixSupported,
      release,
      version,
      felixError,
      message:
        `${release} is below Felix's minimum ${felixMinimum} for ${distro} kernels: Felix would log "${FELIX_BPF_FALLBACK}" ` +
        `and silently fall back to the iptables dataplane${how}`,
    }
  }
  if (compareVersions(version, parseVersion(documentedMinimum)!) < 0) {
    return {
      ...base,
      status: 'warn',
      felixSupported,
      release,
      version,
      message:
        `${release} passes Felix's check (>= ${felixMinimum}, ${distro}) but is below the documented minimum ` +
        `${documentedMinimum}${distro === 'rhel' ? ' for RHEL' : ''}${how}`,
    }
  }
  return {
    ...base,
    status: 'pass',
    felixSupported,
    release,
    version,
    message: `${release} is supported (${distro}: Felix needs >= ${felixMinimum}, documented >= ${documentedMinimum})${how}`,
  }
}

export interface ArchVerdict {
  status: KernelStatus
  arch: string
  endianness?: 'LE' | 'BE'
  message: string
}

const LITTLE = new Set([
  'x86_64', 'amd64', 'x64', 'i386', 'i686', 'x86', 'ia32', 'aarch64', 'arm64', 'arm', 'armv7l', 'armv6l', 'armhf',
  'ppc64le', 'riscv64', 'loong64', 'loongarch64', 'mipsel', 'mips64el', 'mips64le',
])
const BIG = new Set(['s390x', 's390', 'ppc64', 'ppc', 'mips', 'mips64', 'sparc', 'sparc64', 'aarch64_be', 'armeb'])

/** Felix's second test: `this bpf library only supports little endian architectures`. */
export function architectureVerdict(arch: string | undefined, endianness?: 'LE' | 'BE'): ArchVerdict {
  const name = (arch ?? '').trim()
  const order = endianness ?? (LITTLE.has(name.toLowerCase()) ? 'LE' : BIG.has(name.toLowerCase()) ? 'BE' : undefined)
  if (order === 'LE') return {status: 'pass', arch: name, endianness: order, message: `${name || 'architecture'} is little-endian`}
  if (order === 'BE') {
    return {
      status: 'fail',
      arch: name,
      endianness: order,
      message: `${name} is big-endian: Felix refuses BPF ("this bpf library only supports little endian architectures")`,
    }
  }
  return {status: 'warn', arch: name, message: `unknown architecture "${name || '?'}": cannot tell its byte order`}
}
