#!/usr/bin/env python3
"""Runs a command on a new pseudo-terminal, for tests that press keys in interactive shells.

usage: pty-run.py COLS ROWS DEADLINE_SECONDS -- COMMAND [ARGS...]

What arrives on stdin goes to the terminal (as typed keys); what the program writes to the terminal comes out on
stdout. The program is killed when stdin closes (the test is done) or after DEADLINE_SECONDS (a hung shell must not
outlive its test); exit status: the program's, 124 after the deadline.
Python's own pty module (python3 is one of scripts/install-test-deps' packages): nothing to compile.
"""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


def stop(pid):
    """SIGHUP, as a closed terminal would; SIGKILL if the program is still there a second later."""
    for sig, grace in ((signal.SIGHUP, 1.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        end = time.monotonic() + grace
        while time.monotonic() < end:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
            time.sleep(0.02)


def main():
    if len(sys.argv) < 6 or sys.argv[4] != '--':
        sys.stderr.write(__doc__)
        return 2
    cols, rows, deadline = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    command = sys.argv[5:]

    pid, master = pty.fork()
    if pid == 0:
        # The child: a new session whose controlling terminal is the pty (stdin/stdout/stderr).
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
            os.execvp(command[0], command)
        finally:
            os._exit(127)

    end = time.monotonic() + deadline
    stdin_open = True
    while True:
        left = end - time.monotonic()
        if left <= 0:
            sys.stderr.write(f'pty-run: {command[0]} still running after {deadline:g}s: killed\n')
            stop(pid)
            return 124
        readable, _, _ = select.select([master] + ([0] if stdin_open else []), [], [], left)
        if master in readable:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the program closed the terminal (exited)
                data = b''
            if not data:
                break
            write_all(1, data)
        if 0 in readable:
            data = os.read(0, 65536)
            if not data:
                stdin_open = False
                os.close(master)
                stop(pid)
                return 0
            write_all(master, data)

    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else status >> 8


if __name__ == '__main__':
    sys.exit(main())
