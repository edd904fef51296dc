"""Loads a minimal BPF program under a given name and pins it, so a test can attach it where Calico attaches its own
(tc ingress/egress with `tc filter add … bpf object-pinned`, cgroup connect4 with `bpftool cgroup attach`).

    python3 load-named-prog.py sched_cls|connect4 NAME PIN_PATH
    python3 load-named-prog.py tcx NAME LINK_PIN_PATH DEV ingress|egress

tcx (kernel 6.6+): the program is attached to DEV's tcx hook with a BPF link (BPF_LINK_CREATE), as Calico attaches on
new kernels, and the link is pinned at LINK_PIN_PATH so the attachment outlives this process.

No BPF compiler is needed: the program is `r0 = <allow>; exit`, loaded with the bpf(2) syscall (BPF_PROG_LOAD), then
pinned (BPF_OBJ_PIN). See load-prog.py for the same technique.
"""
import ctypes
import os
import platform
import socket
import struct
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280}[platform.machine()]
BPF_PROG_LOAD, BPF_OBJ_PIN, BPF_LINK_CREATE = 5, 6, 28
BPF_TCX = {"ingress": 46, "egress": 47}
KINDS = {
    # prog_type, expected_attach_type, return value (TC_ACT_OK = 0; a sock_addr program allows with 1)
    "sched_cls": (3, 0, 0),
    "connect4": (18, 10, 1),
    "tcx": (3, 0, 0),
}

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    fd = libc.syscall(SYS_BPF, cmd, buf, 128)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf({cmd}): {os.strerror(err)}")
    return fd


def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def main():
    kind, name, pin_path = sys.argv[1], sys.argv[2], sys.argv[3]
    prog_type, attach_type, ret = KINDS[kind]
    insns = insn(0xB7, dst=0, imm=ret) + insn(0x95)
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.c_char_p(b"GPL")
    attr = struct.pack(
        "<IIQQIIQII16sII",
        prog_type,
        len(insns) // 8,
        ctypes.addressof(code),
        ctypes.cast(lic, ctypes.c_void_p).value,
        0, 0, 0,
        0, 0,
        name.encode()[:15],
        0, attach_type,
    )
    fd = bpf(BPF_PROG_LOAD, attr)
    if kind == "tcx":
        dev, hook = sys.argv[4], sys.argv[5]
        fd = bpf(BPF_LINK_CREATE, struct.pack("<IIII", fd, socket.if_nametoindex(dev), BPF_TCX[hook], 0))
    pin = ctypes.c_char_p(pin_path.encode())
    bpf(BPF_OBJ_PIN, struct.pack("<QII", ctypes.cast(pin, ctypes.c_void_p).value, fd, 0))


main()
