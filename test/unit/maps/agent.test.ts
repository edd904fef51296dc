import {describe, expect, it} from 'vitest'

import {
  agentArgv,
  agentStyleFor,
  diagnoseAgentFailure,
  natDumpBlackholeLoopRisk,
  parseCalicoVersion,
  supportsIpv6,
  supportsJson,
} from '../../../src/lib/maps/agent.js'
import {goDurationToNs, parseGoDuration, parseHostPort} from '../../../src/lib/maps/agent-lines.js'
import {fixture} from './helpers.js'

describe('agentArgv', () => {
  it('calico-node style: flags after the subcommand', () => {
    expect(agentArgv({style: 'calico-node', cmd: ['conntrack', 'dump'], json: true})).toStrictEqual([
      'calico-node',
      '-bpf',
      'conntrack',
      'dump',
      '--json',
    ])
    expect(
      agentArgv({style: 'calico-node', cmd: ['nat', 'dump'], ipv6: true, groupByService: true, json: true}),
    ).toStrictEqual(['calico-node', '-bpf', 'nat', 'dump', '-6', '--group-by-service', '--json'])
  })

  it('calico component style, positional args before flags', () => {
    expect(agentArgv({style: 'calico', cmd: ['conntrack', 'dump'], json: true})).toStrictEqual([
      'calico',
      'component',
      'node',
      'bpf',
      'conntrack',
      'dump',
      '--json',
    ])
    expect(
      agentArgv({
        style: 'calico',
        cmd: ['nat', 'dump'],
        args: ['10.96.0.1', '443', 'tcp'],
        raw: false,
        logLevel: 'debug',
      }),
    ).toStrictEqual([
      'calico',
      'component',
      'node',
      'bpf',
      'nat',
      'dump',
      '10.96.0.1',
      '443',
      'tcp',
      '--log-level=debug',
    ])
    expect(agentArgv({style: 'calico-node', cmd: ['conntrack', 'dump'], raw: true})).toStrictEqual([
      'calico-node',
      '-bpf',
      'conntrack',
      'dump',
      '--raw',
    ])
  })
})

describe('version gates', () => {
  it.each([
    ['v3.31.4', false],
    ['v3.31.5', true],
    ['3.31.7', true],
    ['v3.30.9', false],
    ['v3.32.0', true],
    ['v3.33.0-0.dev', true],
    ['v3.27.0', false],
    ['Version:            v3.32.1', true],
    ['master', false],
    ['', false],
    ['v4.0.0', true],
  ])('supportsJson(%s) = %s', (v, want) => {
    expect(supportsJson(v)).toBe(want)
  })

  it('style, -6 and the blackhole-loop guard', () => {
    expect(agentStyleFor('v3.32.1')).toBe('calico-node')
    expect(agentStyleFor('v3.34.0-0.dev')).toBe('calico')
    expect(agentStyleFor('garbage')).toBe('calico-node')
    expect(supportsIpv6('v3.26.4')).toBe(false)
    expect(supportsIpv6('v3.27.0')).toBe(true)
    expect(natDumpBlackholeLoopRisk('v3.26.4')).toBe(true)
    expect(natDumpBlackholeLoopRisk('v3.27.0')).toBe(false)
    expect(natDumpBlackholeLoopRisk('?')).toBe(true)
    expect(parseCalicoVersion('v3.34.0-0.dev')).toStrictEqual({major: 3, minor: 34, patch: 0, pre: '0.dev'})
  })
})

describe('diagnoseAgentFailure', () => {
  it('exit 0 with a logrus error about a missing map pin → map-missing', () => {
    const d = diagnoseAgentFailure('', fixture('fmt-agent-errors.txt'), 0)
    expect(d).toStrictEqual({
      ok: false,
      reason: 'map-missing',
      message: "the BPF dataplane is not active on this node (Calico's BPF maps are not pinned)",
      detail: fixture('fmt-agent-errors.txt').trim(),
      warnings: [],
    })
  })

  it('v3.29+ Calico log format is detected too', () => {
    const d = diagnoseAgentFailure('', fixture('fmt-agent-errors-v3.29.txt'), 0)
    expect(d.ok).toBe(false)
    if (!d.ok) expect(d.reason).toBe('map-missing')
  })

  it('conntrack log.Fatal: Failed to get ConntrackMap (exit 1)', () => {
    const stderr =
      'time="2026-11-30T10:00:00Z" level=fatal msg="Failed to get ConntrackMap" error="failed to access conntrack Map"\n'
    const d = diagnoseAgentFailure('', stderr, 1)
    expect(d.ok === false && d.reason).toBe('map-missing')
  })

  it('routes dump stat error (#4275) → map-missing', () => {
    const d = diagnoseAgentFailure('', 'stat /sys/fs/bpf/tc/globals/cali_v4_routes: no such file or directory\n', 0)
    expect(d.ok === false && d.reason).toBe('map-missing')
  })

  it('unsupported flags and commands', () => {
    expect(diagnoseAgentFailure('', 'flag provided but not defined: -6\n', 1)).toMatchObject({
      ok: false,
      reason: 'unsupported-flag',
    })
    expect(diagnoseAgentFailure('', 'Error: unknown flag: --json\n', 1)).toMatchObject({
      ok: false,
      reason: 'unsupported-flag',
    })
    expect(diagnoseAgentFailure('', 'Error: unknown command "stats" for "calico-bpf conntrack"\n', 1)).toMatchObject({
      ok: false,
      reason: 'unknown-command',
    })
  })

  it('binary and container problems', () => {
    const oci =
      'OCI runtime exec failed: exec failed: unable to start container process: exec: "calico-node": executable file not found in $PATH: unknown\ncommand terminated with exit code 126\n'
    expect(diagnoseAgentFailure('', oci, 126)).toMatchObject({ok: false, reason: 'binary-missing'})
    // Not "the BPF dataplane is not active": a prefix (nsenter, env) that could not find the binary.
    expect(diagnoseAgentFailure('', 'nsenter: failed to execute calico-node: No such file or directory\n', 127)).toMatchObject({ok: false, reason: 'binary-missing'})
    expect(diagnoseAgentFailure('', "env: 'calico': No such file or directory\n", 127)).toMatchObject({ok: false, reason: 'binary-missing'})
    expect(diagnoseAgentFailure('', 'open /sys/fs/bpf/tc/globals/cali_v4_nat_fe3: no such file or directory\n', 1)).toMatchObject({ok: false, reason: 'map-missing'})
    expect(diagnoseAgentFailure('', 'Error from server (NotFound): pods "calico-node-x" not found\n', 1)).toMatchObject(
      {
        ok: false,
        reason: 'container-missing',
      },
    )
  })

  it('frontend not found (exit 0), usage errors, permission, generic errors, plain exit codes', () => {
    expect(
      diagnoseAgentFailure(
        '',
        'level=error msg="Failed to dump NAT maps" error="frontend 9.9.9.9:8080/6 not found in NAT map"\n',
        0,
      ),
    ).toMatchObject({ok: false, reason: 'not-found'})
    expect(diagnoseAgentFailure('', fixture('ct-2-calico-13916.txt'), 1)).toMatchObject({
      ok: false,
      reason: 'usage',
      detail: 'Error: unknown protocol sctp',
    })
    expect(diagnoseAgentFailure('', 'level=fatal msg="x" error="operation not permitted"\n', 1)).toMatchObject({
      ok: false,
      reason: 'permission',
    })
    expect(diagnoseAgentFailure('', 'ERRO[0000] something odd\n', 0)).toMatchObject({ok: false, reason: 'agent-error'})
    expect(diagnoseAgentFailure('', 'segfault\n', 139)).toMatchObject({
      ok: false,
      reason: 'exit-code',
      detail: 'exit code 139: segfault',
    })
  })

  it('success: real output with warnings and kubectl noise', () => {
    const stderr =
      'Defaulted container "calico-node" out of: calico-node\n2026-11-30 10:00:00.000 [WARNING][1] x.go 1: slow\n'
    expect(diagnoseAgentFailure(fixture('doc-nat-dump-head.txt'), stderr, 0)).toStrictEqual({
      ok: true,
      warnings: ['2026-11-30 10:00:00.000 [WARNING][1] x.go 1: slow'],
    })
    // The LOG-3 init-container INFO lines are not failures.
    expect(diagnoseAgentFailure('', fixture('log-3-calico-6907.txt'), 0).ok).toBe(true)
  })
})

describe('small parsers', () => {
  it.each([
    ['1.5s', 1.5],
    ['1h2m3.456789012s', 3723.456789012],
    ['493.47131ms', 0.49347131],
    ['42ms', 0.042],
    ['1m1s', 61],
    ['0s', 0],
    ['12µs', 0.000012],
    ['7ns', 7e-9],
    ['-1.5s', -1.5],
  ])('parseGoDuration(%s)', (s, want) => {
    expect(parseGoDuration(s)).toBe(want)
  })

  it('rejects invalid durations; exact ns conversion', () => {
    expect(parseGoDuration('1.5')).toBeUndefined()
    expect(parseGoDuration('abc')).toBeUndefined()
    expect(parseGoDuration('')).toBeUndefined()
    expect(goDurationToNs('1h2m3.456789012s')).toBe('3723456789012')
    expect(goDurationToNs('987.654321ms')).toBe('987654321')
    expect(goDurationToNs('2562047h47m16.854775807s')).toBe('9223372036854775807')
  })

  it('parseHostPort', () => {
    expect(parseHostPort('1.2.3.4:80')).toStrictEqual({ip: '1.2.3.4', port: 80})
    expect(parseHostPort('[fd00::1]:53')).toStrictEqual({ip: 'fd00::1', port: 53})
    expect(parseHostPort('fd00:10:244::3:40000')).toStrictEqual({ip: 'fd00:10:244::3', port: 40000})
    expect(parseHostPort('10.65.0.2 : 8443')).toStrictEqual({ip: '10.65.0.2', port: 8443})
    expect(parseHostPort('1.2.3.4:99999')).toBeUndefined()
    expect(parseHostPort('host:80')).toBeUndefined()
    expect(parseHostPort('1.2.3.4')).toBeUndefined()
  })
})

describe('diagnoseAgentFailure: what must not fail', () => {
  it('a warning that mentions a missing optional map is only a warning', () => {
    const stderr =
      '2026-11-30 10:00:00.000 [WARNING][7] maps.go 10: stat /sys/fs/bpf/tc/globals/cali_v4_mglv2: no such file or directory\n'
    expect(diagnoseAgentFailure('', stderr, 0)).toStrictEqual({ok: true, warnings: [stderr.trim()]})
  })

  it('huge stdout: an error log at its end is still seen, data in the middle is not scanned', () => {
    const data = 'TCP 10.0.0.1:1 -> 10.0.0.2:2  Active ago 1s ESTABLISHED\n'.repeat(20000)
    expect(diagnoseAgentFailure(data, '', 0).ok).toBe(true)
    const d = diagnoseAgentFailure(data + 'level=error msg="Failed to dump NAT maps" error="boom"\n', '', 0)
    expect(d).toMatchObject({ok: false, reason: 'agent-error'})
  })
})
