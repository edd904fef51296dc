"""Loads a minimal BPF program that references the given pinned maps, and pins it, so that
`bpftool prog show` lists those maps in its map_ids, as for Calico's own tc programs.

    python3 load-prog.py PROG_PIN_PATH MAP_PIN_PATH...

bpftool can only load programs from ELF objects, and there is no compiler for BPF here, so this
calls the bpf(2) syscall directly: BPF_OBJ_GET each map, BPF_PROG_LOAD a socket filter that loads
each map's address (ld_imm64 with BPF_PSEUDO_MAP_FD) and returns 0, then BPF_OBJ_PIN it. The pin
keeps the program, and its references to the maps, alive until the bpffs is unmounted.
"""
import ctypes
import os
import platform
import struct
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280}[platform.machine()]
BPF_PROG_LOAD, BPF_OBJ_PIN, BPF_OBJ_GET = 5, 6, 7
BPF_PROG_TYPE_SOCKET_FILTER = 1
BPF_PSEUDO_MAP_FD = 1

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
    prog_pin, map_paths = sys.argv[1], sys.argv[2:]
    keep = []
    insns = b""
    for path in map_paths:
        p = ctypes.c_char_p(path.encode())
        keep.append(p)
        fd = bpf(BPF_OBJ_GET, struct.pack("<QII", ctypes.cast(p, ctypes.c_void_p).value, 0, 0))
        insns += insn(0x18, dst=1, src=BPF_PSEUDO_MAP_FD, imm=fd) + insn(0)  # r1 = &map (ld_imm64)
    insns += insn(0xB7, dst=0, imm=0) + insn(0x95)  # r0 = 0; exit
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.c_char_p(b"GPL")
    attr = struct.pack(
        "<IIQQIIQII16s",
        BPF_PROG_TYPE_SOCKET_FILTER,
        len(insns) // 8,
        ctypes.addressof(code),
        ctypes.cast(lic, ctypes.c_void_p).value,
        0, 0, 0,  # log_level, log_size, log_buf
        0, 0,  # kern_version, prog_flags
        b"rig_calico_prog",
    )
    prog_fd = bpf(BPF_PROG_LOAD, attr)
    pin = ctypes.c_char_p(prog_pin.encode())
    bpf(BPF_OBJ_PIN, struct.pack("<QII", ctypes.cast(pin, ctypes.c_void_p).value, prog_fd, 0))


main()
