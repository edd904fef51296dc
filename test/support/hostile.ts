/**
 * Hostile inputs shared by the hostile-* tests and bench/hostile-rss.ts: fake host roots for the local checks
 * (EBPFCTL_HOST_ROOT) and stand-in node commands that print forever, print escape codes, or stall mid-stream.
 */
import {execFileSync} from 'node:child_process'
import {closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, symlinkSync, writeFileSync} from 'node:fs'
import {release, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {gzipSync} from 'node:zlib'

export type HostileKernelConfig = 'sparse-3g' | 'fifo' | 'dev-zero' | 'gzip-bomb'

/** A host root whose kernel config is hostile; /proc/version carries escape codes too. */
export function hostileHostRoot(kind: HostileKernelConfig): string {
  const root = mkdtempSync(join(tmpdir(), `ebpfctl-host-${kind}-`))
  const put = (path: string, text: string | Buffer) => {
    mkdirSync(dirname(join(root, path)), {recursive: true})
    writeFileSync(join(root, path), text)
  }
  put('/proc/version', `Linux version ${release()} \u001B]0;pwned\u0007\u001B[2J(hostile)\n`)
  put('/proc/1/mounts', 'bpf /sys/fs/bpf bpf rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n')
  put('/proc/filesystems', 'nodev\tbpf\nnodev\tcgroup2\n')
  put('/etc/os-release', 'PRETTY_NAME="Hostile OS \u001B[31mred\u001B[0m\u009B2J"\n')
  mkdirSync(join(root, 'sys/fs/bpf'), {recursive: true})
  const config = join(root, 'boot', `config-${release()}`)
  mkdirSync(dirname(config), {recursive: true})
  switch (kind) {
    case 'sparse-3g': {
      const fd = openSync(config, 'w')
      ftruncateSync(fd, 3 * 1024 ** 3)
      closeSync(fd)
      break
    }
    case 'fifo':
      execFileSync('mkfifo', [config])
      break
    case 'dev-zero':
      symlinkSync('/dev/zero', config)
      break
    case 'gzip-bomb':
      // 512 MiB of zeros in about 2 MiB.
      put('/proc/config.gz', gzipSync(Buffer.alloc(512 * 1024 ** 2), {level: 1}))
      break
  }
  return root
}

/**
 * Stand-in executables for a rig node (RigNodeSpec.bin): `calico-node` and `bpftool` whose output is endless, carries
 * escape codes and U+FFFF, or stops mid-stream.
 */
export function hostileNodeBin(behaviour: 'endless' | 'escapes' | 'stall' | 'finite'): Record<string, string> {
  // A line in the format of a real v3.28 `calico-node -bpf conntrack dump` (test/fixtures/bpf/ct-1-calico-pr-8749.txt).
  const ct = '    TCP 172.18.0.1:52424 -> 172.18.0.7:9099  Age: 58.300322297s Active ago 12.945516929s ESTABLISHED'
  const calicoNode = {
    endless: `#!/bin/sh
case "$*" in *--json*) echo 'Error: unknown flag: --json' >&2; exit 1 ;; esac
yes '${ct}'
`,
    escapes: `#!/bin/sh
case "$*" in *--json*) echo 'Error: unknown flag: --json' >&2; exit 1 ;; esac
printf 'warning: \\033]0;pwned\\007\\033[2J\\r\\357\\277\\277 from the agent\\n' >&2
printf 'unparseable \\033[31mline\\033[0m \\357\\277\\277\\n'
exit 3
`,
    finite: `#!/bin/sh
case "$*" in *--json*) echo 'Error: unknown flag: --json' >&2; exit 1 ;; esac
i=0; while [ $i -lt 20 ]; do echo '${ct}'; i=$((i+1)); done
`,
    stall: `#!/bin/sh
case "$*" in *--json*) echo 'Error: unknown flag: --json' >&2; exit 1 ;; esac
i=0; while [ $i -lt 50 ]; do echo '${ct}'; i=$((i+1)); done
sleep 600
`,
  }[behaviour]
  return {'calico-node': calicoNode, crictl: `#!/bin/sh
case "$1" in
  ps) echo 3f9a1c0ffee5 ;;
  exec) shift 2; exec "$@" ;;
esac
`}
}
