import {UserError} from '../errors.js'
import type {ConntrackEntry, IpProto, NatFrontend} from '../maps/index.js'

export interface EntryFilter {
  ip?: string
  port?: number
  proto?: IpProto
}

const PROTO_NAMES: Record<string, IpProto> = {tcp: 'tcp', udp: 'udp', sctp: 'sctp', icmp: 'icmp', icmp6: 'icmp6', '6': 'tcp', '17': 'udp', '132': 'sctp', '1': 'icmp'}

export function parseProto(text: string | undefined): IpProto | undefined {
  if (text === undefined) return undefined
  const proto = PROTO_NAMES[text.toLowerCase()]
  if (proto !== undefined) return proto
  if (/^\d+$/.test(text) && Number(text) < 256) return Number(text)
  throw new UserError(`--proto=${text} is not a protocol`, {remedy: 'Use tcp, udp, sctp, icmp or a protocol number.'})
}

export function frontendMatches(fe: NatFrontend, f: EntryFilter): boolean {
  if (f.proto !== undefined && fe.proto !== f.proto) return false
  const ends = [{ip: fe.ip, port: fe.port}, ...fe.backends]
  if (f.ip !== undefined && !ends.some((e) => e.ip === f.ip)) return false
  if (f.port !== undefined && !ends.some((e) => e.port === f.port)) return false
  return true
}

export function conntrackMatches(e: ConntrackEntry, f: EntryFilter & {natOnly?: boolean}): boolean {
  if (f.natOnly && e.type !== 'nat-forward' && e.type !== 'nat-reverse') return false
  if (f.proto !== undefined && e.proto !== f.proto) return false
  if (f.ip !== undefined && e.a.ip !== f.ip && e.b.ip !== f.ip && e.origDst?.ip !== f.ip && e.tunnelIp !== f.ip) return false
  if (f.port !== undefined && e.a.port !== f.port && e.b.port !== f.port && e.origDst?.port !== f.port) return false
  return true
}
