import {shellJoin} from './quote.js'

/**
 * Runs `"$@"` under the node's own `timeout` when it has a working one (coreutils, busybox 1.30+; an older busybox
 * rejects `-k` and the dry run with `true` fails, so the command runs plainly): SIGTERM `$0` seconds in, SIGKILL 2 s
 * later. ebpfctl cannot stop a remote command itself: sshd ignores signal requests in root sessions, and
 * closing the channel only kills a command at its next write, so a silent one would run on and hold one of sshd's
 * MaxSessions. The wrapper goes outside `sudo`, so sudoers rules still see the real command, and sudo relays the
 * SIGTERM to it.
 */
const REMOTE_DEADLINE_SCRIPT =
  'd=$0; if timeout -k 2 "$d" true >/dev/null 2>&1; then exec timeout -k 2 "$d" "$@"; fi; exec "$@"'

/** Seconds the remote deadline allows beyond ebpfctl's own, so ebpfctl always reports the timeout first. */
const REMOTE_DEADLINE_GRACE_S = 2

/**
 * The shell string sent for argv: every element single-quoted, behind `sudo -n --` for a non-root login. With
 * `timeoutMs`, the command is also stopped on the node shortly after that deadline (REMOTE_DEADLINE_SCRIPT).
 */
export function remoteCommand(argv: readonly string[], user: string, sudo = true, timeoutMs?: number): string {
  let command = user !== 'root' && sudo ? ['sudo', '-n', '--', ...argv] : [...argv]
  if (timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs > 0) {
    const seconds = Math.ceil(timeoutMs / 1000) + REMOTE_DEADLINE_GRACE_S
    command = ['sh', '-c', REMOTE_DEADLINE_SCRIPT, String(seconds), ...command]
  }
  return shellJoin(command)
}
