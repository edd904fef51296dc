import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import type {IpProto, NatFrontend} from '../../../src/lib/maps/model.js'

const dir = fileURLToPath(new URL('../../fixtures/bpf/', import.meta.url))

export function fixture(name: string): string {
  return readFileSync(dir + name, 'utf8')
}

/** Builds an expected frontend; backends as 'ip:port' strings in ordinal order. */
export function fe(
  ip: string,
  port: number,
  proto: IpProto,
  serviceId: number,
  count: number,
  localCount: number,
  backends: string[],
  extra: Partial<NatFrontend> = {},
): NatFrontend {
  return {
    ip,
    port,
    proto,
    serviceId,
    count,
    localCount,
    flags: [],
    backends: backends.map((b, ordinal) => {
      const i = b.lastIndexOf(':')
      return {ordinal, ip: b.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(b.slice(i + 1))}
    }),
    ...extra,
  }
}

/** Splits NAT-1 (three kubectl runs on three nodes) into per-node texts. */
export function nat1ByNode(): Record<string, string> {
  const text = fixture('nat-1-calico-13279.txt')
  const out: Record<string, string> = {}
  for (const block of text.split(/\n(?=kubectl exec)/)) {
    const pod = /calico-node-(\w+) --/.exec(block)![1]!
    out[`calico-node-${pod}`] = block
  }
  return out
}
