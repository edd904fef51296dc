/**
 * Reading Calico's map bytes: integers little-endian, IP addresses in network order, CT seqno big-endian; IP
 * addresses printed as Go's net.IP.String() does.
 */
export const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8)
export const u32 = (b: Uint8Array, o: number): number =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
export const u32be = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0

/** u64 LE as a decimal string (exact). */
export function u64s(b: Uint8Array, o: number): string {
  const lo = u32(b, o)
  const hi = u32(b, o + 4)
  if (hi < 0x200000) return String(hi * 4294967296 + lo)
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString()
}

/** u64 LE as a number (exact below 2^53). */
export function u64n(b: Uint8Array, o: number): number {
  return u32(b, o + 4) * 4294967296 + u32(b, o)
}

export const isZero = (b: Uint8Array, o: number, len: number): boolean => {
  for (let i = 0; i < len; i++) if (b[o + i] !== 0) return false
  return true
}

export function ipv4At(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`
}

/** Go's `net.IP.String()` for 16 bytes: RFC 5952 (longest zero run ≥ 2 → `::`), IPv4-mapped as dotted quad. */
export function ipv6At(b: Uint8Array, o: number): string {
  let mapped = b[o + 10] === 0xff && b[o + 11] === 0xff
  for (let i = 0; mapped && i < 10; i++) if (b[o + i] !== 0) mapped = false
  if (mapped) return ipv4At(b, o + 12)
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!)
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(':')
  const head = g
    .slice(0, bestStart)
    .map((x) => x.toString(16))
    .join(':')
  const tail = g
    .slice(bestStart + bestLen)
    .map((x) => x.toString(16))
    .join(':')
  return `${head}::${tail}`
}
