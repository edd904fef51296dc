/** Parses `host`, `host:port`, `[v6]:port`, or a bare IPv6 address. */
export function parseHostPort(addr: string): {host: string; port?: number} {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(addr)
  if (bracket) return {host: bracket[1]!, port: bracket[2] ? Number(bracket[2]) : undefined}
  const colons = addr.split(':').length - 1
  if (colons === 1) {
    const [host, port] = addr.split(':')
    if (/^\d+$/.test(port ?? '')) return {host: host!, port: Number(port)}
  }
  return {host: addr}
}
