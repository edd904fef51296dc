import {shellJoin} from './quote.js'

/*
 * The remote deadline: the command runs under the node's own `timeout` (SIGTERM a little after ebpfctl's deadline,
 * SIGKILL 2 s later). ebpfctl cannot stop a remote command itself: sshd ignores signal requests in root sessions, and
 * closing the channel only kills a command at its next write, so a silent one would run on and hold one of sshd's
 * MaxSessions. The wrapper goes outside `sudo`, so sudoers rules still see the real command, and sudo relays the
 * SIGTERM to it. It is sent as a plain `timeout -k 2 N …` that the login shell execs: no `sh -c` and no `command -v`
 * check in front of it (each process started costs the node a few ms per command, and a fleet-wide read runs one
 * command per node). A node whose `timeout` is missing, or rejects `-k` (busybox before 1.30), fails before it starts
 * anything, in a way deadlineRejected recognises; the runner then runs the command plainly and stops wrapping on that
 * connection.
 */

/** Seconds the remote deadline allows beyond ebpfctl's own, so ebpfctl always reports the timeout first. */
const REMOTE_DEADLINE_GRACE_S = 2

/**
 * The shell string sent for argv: every element single-quoted, behind `sudo -n --` for a non-root login. With
 * `timeoutMs`, the command is also stopped on the node shortly after that deadline (`timeout`, above).
 */
export function remoteCommand(argv: readonly string[], user: string, sudo = true, timeoutMs?: number): string {
  let command = user !== 'root' && sudo ? ['sudo', '-n', '--', ...argv] : [...argv]
  if (hasRemoteDeadline(timeoutMs)) {
    const seconds = Math.ceil(timeoutMs / 1000) + REMOTE_DEADLINE_GRACE_S
    command = ['timeout', '-k', '2', String(seconds), ...command]
  }
  return shellJoin(command)
}

/** Whether remoteCommand wraps a command with this timeout in the node's `timeout`. */
export function hasRemoteDeadline(timeoutMs: number | undefined): timeoutMs is number {
  return timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs > 0
}

/**
 * True when a wrapped command's result says the node's `timeout` never ran it, so it may be sent again without the
 * wrapper: `timeout` refusing `-k` (busybox before 1.30: getopt's message and/or its usage text, exit status 1), or
 * the login shell not finding `timeout` at all (exit status 127: bash, dash, busybox ash, zsh, fish wording). Nothing
 * on stdout, and stderr begins with that complaint; a command that ran and failed does not look like this (coreutils
 * `timeout` reports a missing command as "failed to run command").
 */
export function deadlineRejected(result: {exitCode: number; stderr: string}, stdoutBytes: number): boolean {
  if (stdoutBytes > 0) return false
  const first = result.stderr.split('\n', 1)[0] ?? ''
  if (result.exitCode === 127) {
    return /^[\w./-]*:(?: line)? ?\d*:? ?timeout: (?:command )?not found$|^zsh:\d+: command not found: timeout$|^fish: Unknown command:? .?timeout.?$/.test(
      first,
    )
  }
  if (result.exitCode !== 1) return false
  return (
    /^timeout: (?:invalid|unrecognized|illegal|unknown) option\b.*\bk\b/.test(first) ||
    /^BusyBox v\S+ .*multi-call binary/.test(first) ||
    /^Usage: timeout\b/.test(first)
  )
}
