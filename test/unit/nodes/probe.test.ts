import {describe, expect, it} from 'vitest'

import {parseKernelConfig} from '../../../src/lib/nodes/facts.js'
import {PROBE_SCRIPT, parseProbeOutput} from '../../../src/lib/nodes/probe.js'

const M = '@@ebpfctl-probe'
function output(sections: Record<string, {lines: string[]; rc?: number; source?: string}>, end = true): string {
  const out = [`${M}:begin v1`]
  for (const [name, s] of Object.entries(sections)) {
    out.push(`${M}:section ${name}`)
    if (s.source) out.push(`${M}:source ${s.source}`)
    out.push(...s.lines)
    out.push(`${M}:rc ${s.rc ?? 0}`)
  }
  if (end) out.push(`${M}:end`)
  return `${out.join('\n')}\n`
}

describe('parseProbeOutput', () => {
  it('parses a full probe', () => {
    const f = parseProbeOutput(
      output({
        proc_version: {
          lines: [
            'Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1',
          ],
        },
        uname_rv: {lines: ['6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1']},
        machine: {lines: ['aarch64']},
        mounts: {
          source: '/proc/1/mounts',
          lines: [
            '/dev/sda1 / ext4 rw,relatime 0 0',
            'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0',
            'none /sys/fs/bpf bpf rw,nosuid,nodev,noexec,relatime,mode=700 0 0',
            '/dev/sdb1 /mnt/with\\040space ext4 rw 0 0',
          ],
        },
        bpffs_dir: {lines: ['dir']},
        btf_vmlinux: {lines: ['yes']},
        kernel_config: {
          source: '/boot/config-6.1.0-18-amd64',
          lines: [
            'CONFIG_BPF=y',
            'CONFIG_BPF_SYSCALL=y',
            '# CONFIG_BPF_JIT_ALWAYS_ON is not set',
            'CONFIG_NET_CLS_BPF=m',
            'CONFIG_NET_SCH_INGRESS=m',
            'CONFIG_CGROUP_BPF=y',
          ],
        },
        filesystems: {lines: ['nodev\tsysfs', 'nodev\tcgroup2', 'nodev\tbpf', '\text4']},
        calico_maps: {source: 'dir', lines: ['cali_v4_nat_fe3', 'cali_v4_ct4', 'cali_v4_nat_be']},
      }),
    )
    expect(f.filesystems).toEqual(['sysfs', 'cgroup2', 'bpf', 'ext4'])
    expect(f).toMatchObject({
      procVersion:
        'Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1',
      unameRv: '6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1',
      machine: 'aarch64',
      mountsSource: '/proc/1/mounts',
      bpffsDirExists: true,
      bpffsMounted: true,
      cgroup2Mount: '/sys/fs/cgroup',
      btfVmlinux: true,
      kernelConfig: {
        CONFIG_BPF: 'y',
        CONFIG_BPF_SYSCALL: 'y',
        CONFIG_BPF_JIT_ALWAYS_ON: 'n',
        CONFIG_NET_CLS_BPF: 'm',
        CONFIG_NET_SCH_INGRESS: 'm',
        CONFIG_CGROUP_BPF: 'y',
      },
      kernelConfigSource: '/boot/config-6.1.0-18-amd64',
      calicoMaps: ['cali_v4_ct4', 'cali_v4_nat_be', 'cali_v4_nat_fe3'],
      calicoMapsDirExists: true,
      errors: [],
    })
    expect(f.mounts).toHaveLength(4)
    expect(f.mounts[3]).toEqual({device: '/dev/sdb1', mountpoint: '/mnt/with space', type: 'ext4', options: 'rw'})
  })

  it('a plain directory at /sys/fs/bpf, no cgroup2, unreadable kernel config, no maps dir', () => {
    const f = parseProbeOutput(
      output({
        proc_version: {lines: ['Linux version 5.4.0']},
        uname_rv: {lines: ['5.4.0 #1']},
        machine: {lines: ['x86_64']},
        mounts: {source: '/proc/self/mounts', lines: ['/dev/sda1 / ext4 rw 0 0', 'tmpfs /sys/fs/bpf tmpfs rw 0 0']},
        bpffs_dir: {lines: ['dir']},
        btf_vmlinux: {lines: ['no']},
        kernel_config: {lines: [], rc: 1},
        calico_maps: {lines: []},
      }),
    )
    expect(f.bpffsDirExists).toBe(true)
    expect(f.bpffsMounted).toBe(false)
    expect(f.cgroup2Mount).toBeUndefined()
    expect(f.btfVmlinux).toBe(false)
    expect(f.kernelConfig).toBeUndefined()
    expect(f.calicoMaps).toEqual([])
    expect(f.calicoMapsDirExists).toBe(false)
    expect(f.mountsSource).toBe('/proc/self/mounts')
    expect(f.errors).toEqual([expect.stringMatching(/^kernel config/)])
  })

  it('a bpffs shadowed by a later mount is not mounted; a missing /sys/fs/bpf is not a dir', () => {
    const f = parseProbeOutput(
      output({
        mounts: {source: '/proc/1/mounts', lines: ['bpf /sys/fs/bpf bpf rw 0 0', 'tmpfs /sys/fs/bpf tmpfs rw 0 0']},
        bpffs_dir: {lines: ['missing']},
      }),
    )
    expect(f.bpffsMounted).toBe(false)
    expect(f.bpffsDirExists).toBe(false)
  })

  it('reports unreadable sections, truncation and missing output', () => {
    const f = parseProbeOutput(output({proc_version: {lines: [], rc: 1}, machine: {lines: ['x86_64']}}, false))
    expect(f.procVersion).toBeUndefined()
    expect(f.machine).toBe('x86_64')
    expect(f.errors).toContain('the probe output is truncated')
    expect(f.errors).toContain('/proc/version: cannot be read (exit 1)')
    expect(f.errors).toContain('uname -rv: not reported')
    expect(parseProbeOutput('sh: not found\n').errors).toEqual([expect.stringMatching(/no output/)])
  })

  it('kernel config lines', () => {
    expect(
      parseKernelConfig(['CONFIG_BPF=y', '# CONFIG_X is not set', 'CONFIG_S="str"', 'junk', 'CONFIG_N=4']),
    ).toEqual({
      CONFIG_BPF: 'y',
      CONFIG_X: 'n',
      CONFIG_S: 'str',
      CONFIG_N: '4',
    })
  })

  it('the script is a constant with the sections the parser reads', () => {
    for (const s of [
      'proc_version',
      'uname_rv',
      'machine',
      'mounts',
      'bpffs_dir',
      'btf_vmlinux',
      'kernel_config',
      'calico_maps',
    ]) {
      expect(PROBE_SCRIPT).toContain(`section ${s}"`)
    }
    expect(PROBE_SCRIPT).toContain('/proc/1/mounts')
    expect(PROBE_SCRIPT).toContain('/proc/config.gz')
    expect(PROBE_SCRIPT).toContain('/sys/fs/bpf/tc/globals')
  })
})
