/** The node probe through SshRunner on the rig, and through LocalRunner on this machine. */
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {LocalRunner} from '../../src/lib/nodes/local.js'
import {probeNode} from '../../src/lib/nodes/probe.js'
import {SshRunner} from '../../src/lib/nodes/ssh.js'
import {type Rig, startRig} from '../support/node-rig/index.js'

const isRoot = process.getuid?.() === 0
const FAKE_VERSION =
  'Linux version 5.10.0-99-amd64 (debian-kernel@lists.debian.org) (gcc-10 (Debian 10.2.1-6) 10.2.1 20210110) ' +
  '#1 SMP Debian 5.10.999-1 (2031-01-01)\n'

describe.skipIf(!isRoot)('probeNode on the rig', () => {
  let rig: Rig
  let runner: SshRunner

  beforeAll(async () => {
    rig = await startRig({
      nodes: [
        {
          name: 'bpf-node',
          procVersion: FAKE_VERSION,
          maps: [
            {name: 'cali_v4_nat_fe3', type: 'hash', keySize: 16, valueSize: 16, maxEntries: 64, flags: 1},
            {name: 'cali_v4_ct4', type: 'hash', keySize: 16, valueSize: 88, maxEntries: 128, flags: 1},
            {name: 'cali_v4_nat_aff', type: 'lru_hash', keySize: 24, valueSize: 16, maxEntries: 32},
          ],
        },
        {name: 'plain-node', bpffs: false},
      ],
    })
    runner = new SshRunner(rig.sshOptions())
  })
  afterAll(async () => {
    await runner?.close()
    await rig?.stop()
  })

  it('a bpffs node reports bpffs mounted, its Calico maps and the bind-mounted /proc/version', async () => {
    const f = await probeNode(runner, rig.target('bpf-node'))
    expect(f.errors).toEqual([])
    expect(f.mountsSource).toBe('/proc/1/mounts')
    expect(f.bpffsDirExists).toBe(true)
    expect(f.bpffsMounted).toBe(true)
    expect(f.mounts).toContainEqual(expect.objectContaining({device: 'bpf', mountpoint: '/sys/fs/bpf', type: 'bpf'}))
    expect(f.calicoMapsDirExists).toBe(true)
    expect(f.calicoMaps).toEqual(['cali_v4_ct4', 'cali_v4_nat_aff', 'cali_v4_nat_fe3'])
    expect(f.procVersion).toBe(FAKE_VERSION.trim())
    // uname comes from the kernel, not the file: the probe reports both, as they are.
    const {stdout: unameRv} = await execa('uname', ['-rv'])
    expect(f.unameRv).toBe(unameRv)
    expect(f.machine).toBe((await execa('uname', ['-m'])).stdout)
    expect(typeof f.btfVmlinux).toBe('boolean')
  })

  it('the no-bpffs node has a plain directory at /sys/fs/bpf and no maps', async () => {
    const f = await probeNode(runner, rig.target('plain-node'))
    expect(f.bpffsDirExists).toBe(true)
    expect(f.bpffsMounted).toBe(false)
    expect(f.mounts.filter((m) => m.mountpoint === '/sys/fs/bpf').at(-1)?.type).toBe('tmpfs')
    expect(f.calicoMapsDirExists).toBe(false)
    expect(f.calicoMaps).toEqual([])
    expect(f.procVersion).not.toBe(FAKE_VERSION.trim())
  })
})

describe('probeNode on this machine (LocalRunner)', () => {
  it('returns the real uname -rv, machine and mount table', async () => {
    const runner = new LocalRunner()
    const f = await probeNode(runner, {name: 'localhost'})
    expect(f.unameRv).toBe((await execa('uname', ['-rv'])).stdout)
    expect(f.machine).toBe((await execa('uname', ['-m'])).stdout)
    expect(f.procVersion).toMatch(/^Linux version /)
    expect(f.mounts.length).toBeGreaterThan(0)
    expect(f.mounts.some((m) => m.mountpoint === '/')).toBe(true)
    expect(f.filesystems).toContain('proc')
    if (f.kernelConfig)
      expect(
        Object.keys(f.kernelConfig).every((k) => /^CONFIG_(BPF|NET_CLS_BPF|NET_SCH_INGRESS|CGROUP_BPF)/.test(k)),
      ).toBe(true)
    await runner.close()
  })
})
