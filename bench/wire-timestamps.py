# Packet timestamps for bench/verify-latency.ts (root, inside the client namespace): for each TCP connection to a port
# in LOW-HIGH, the kernel's receive/send timestamps of its SYN and of the server's last data packet, so the time each
# client reports can be set against what happened on the wire. Until SIGTERM; then one line per connection:
#   <client port> <SYN time, s> <SYN -> last data byte, ms>
# Usage: wire-timestamps.py IFACE LOW-HIGH OUTFILE
import signal
import socket
import struct
import sys
import time

iface, ports, out = sys.argv[1], sys.argv[2], sys.argv[3]
low, high = (int(x) for x in ports.split('-'))
ETH_P_ALL, SO_TIMESTAMPNS = 0x0003, 35
# ETH_P_ALL: outgoing packets (our SYNs) reach only taps of all protocols.
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
s.bind((iface, 0))
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.settimeout(0.2)
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
conns = {}
print('ready', flush=True)
while not stop:
    try:
        data, anc, _, addr = s.recvmsg(128, socket.CMSG_SPACE(16))
    except (socket.timeout, InterruptedError):
        continue
    if addr[1] != 0x0800 or len(data) < 40 or data[9] != 6:
        continue
    ts = time.time()
    for level, kind, d in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, ns = struct.unpack('qq', d[:16])
            ts = sec + ns / 1e9
    ihl = (data[0] & 0xF) * 4
    total = struct.unpack('!H', data[2:4])[0]
    sport, dport = struct.unpack('!HH', data[ihl:ihl + 4])
    payload = total - ihl - (data[ihl + 12] >> 4) * 4
    if low <= dport <= high and data[ihl + 13] & 0x02:
        conns.setdefault(sport, {})['syn'] = ts
    elif low <= sport <= high and payload > 0:
        conns.setdefault(dport, {})['last'] = ts
with open(out, 'w') as f:
    for port, c in conns.items():
        if 'syn' in c and 'last' in c:
            f.write(f"{port} {c['syn']:.6f} {(c['last'] - c['syn']) * 1000:.4f}\n")
