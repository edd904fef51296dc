import {shellJoin} from './quote.js'

/**
 * Runs `"$@"` under the node's own `timeout` when it has one: SIGTERM `$0` seconds in, SIGKILL 2 s later. ebpfctl
 * cannot stop a remote command itself: sshd ignores signal requests in root sessions, and closing the channel only
 * kills a command at its next write, so a silent one would run on and hold one of sshd's MaxSessions. The wrapper goes
 * outside `sudo`, so sudoers rules still see the real command, and sudo relays the SIGTERM to it.
 * `command -v` is a shell builtin, so a node with a working `timeout` pays for one `timeout` process per command and
 * no dry run. A `timeout` that rejects `-k` (busybox before 1.30) fails before it starts anything, in a way
 * deadlineRejected recognises; the runner then runs the command plainly and stops wrapping on that connection.
 */
const REMOTE_DEADLINE_SCRIPT = 'command -v timeout >/dev/null 2>&1 && exec timeout -k 2 "$0" "$@"; exec "$@"'

/** Seconds the remote deadline allows beyond ebpfctl's own, so ebpfctl always reports the timeout first. */
const REMOTE_DEADLINE_GRACE_S = 2

/**
 * The shell string sent for argv: every element single-quoted, behind `sudo -n --` for a non-root login. With
 * `timeoutMs`, the command is also stopped on the node shortly after that deadline (REMOTE_DEADLINE_SCRIPT).
 */
export function remoteCommand(argv: readonly string[], user: string, sudo = true, timeoutMs?: number): string {
  let command = user !== 'root' && sudo ? ['sudo', '-n', '--', ...argv] : [...argv]
  if (hasRemoteDeadline(timeoutMs)) {
    const seconds = Math.ceil(timeoutMs / 1000) + REMOTE_DEADLINE_GRACE_S
    command = ['sh', '-c', REMOTE_DEADLINE_SCRIPT, String(seconds), ...command]
  }
  return shellJoin(command)
}

/** Whether remoteCommand wraps a command with this timeout in the node's `timeout`. */
export function hasRemoteDeadline(timeoutMs: number | undefined): timeoutMs is number {
  return timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs > 0
}

/**
 * True when a wrapped command's result is the node's `timeout` refusing `-k` (busybox before 1.30: getopt's message
 * and/or its usage text, exit status 1, before it runs anything), so the command itself never ran and may be sent
 * again without the wrapper. Nothing on stdout, and stderr begins with that complaint; a command that ran and failed
 * does not look like this.
 */
export function deadlineRejected(result: {exitCode: number; stderr: string}, stdoutBytes: number): boolean {
  if (result.exitCode !== 1 || stdoutBytes > 0) return false
  const first = result.stderr.split('\n', 1)[0] ?? ''
  return (
    /^timeout: (?:invalid|unrecognized|illegal|unknown) option\b.*\bk\b/.test(first) ||
    /^BusyBox v\S+ .*multi-call binary/.test(first) ||
    /^Usage: timeout\b/.test(first)
  )
}
