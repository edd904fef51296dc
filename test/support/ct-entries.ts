import type {ConntrackEntry} from '../../src/lib/maps/index.js'

/** n entries: a third normal TCP, a third NAT-forward UDP, a third NAT-reverse UDP. */
export function ctEntries(n: number, net = 65): ConntrackEntry[] {
  const out: ConntrackEntry[] = []
  for (let i = 0; i < n; i++) {
    const client = {ip: `10.${net}.${(i >> 8) & 255}.${i & 255}`, port: 30000 + (i % 20000)}
    const backend = {ip: '10.65.200.7', port: 8080}
    const vip = {ip: '10.96.0.10', port: 53}
    if (i % 3 === 0) out.push({proto: 'tcp', a: client, b: backend, src: client, dst: backend, type: 'normal', flags: []})
    else if (i % 3 === 1) {
      out.push({proto: 'udp', a: client, b: vip, src: client, dst: vip, type: 'nat-forward', flags: [], natReverseKey: {proto: 'udp', a: client, b: backend}})
    } else out.push({proto: 'udp', a: client, b: backend, src: client, dst: backend, type: 'nat-reverse', flags: [], origDst: vip})
  }
  return out
}
