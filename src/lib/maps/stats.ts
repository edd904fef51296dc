/** Conntrack statistics: counts by type, protocol and TCP state, and the map's fill ratio. */
import type {ConntrackEntry, ConntrackStats, CtType, TcpState} from './model.js'

/** Felix's default `bpfMapSizeConntrack`. */
export const DEFAULT_CT_MAP_SIZE = 512000

export interface CtStatsOptions {
  /** The map's max_entries (FelixConfiguration `bpfMapSizeConntrack`, or bpftool `max_entries`). */
  mapSize?: number
  /**
   * The source hides NAT-forward entries (pretty text and pretty JSON): each NAT-reverse entry then stands for two
   * map entries. Default: inferred — true when no NAT-forward entry was seen but NAT-reverse ones were.
   */
  forwardEntriesHidden?: boolean
}

/** Incremental form, for streams: `add` each entry, then `result()`. */
export class ConntrackStatsAccumulator {
  private entries = 0
  private readonly byType: Record<CtType, number> = {normal: 0, 'nat-forward': 0, 'nat-reverse': 0, unknown: 0}
  private readonly byProto: Record<string, number> = {}
  private readonly connectionsByProto: Record<string, number> = {}
  private readonly tcpStates: Record<TcpState, number> = {ESTABLISHED: 0, 'SYN-SENT': 0, CLOSED: 0, RESET: 0}

  constructor(private readonly opts: CtStatsOptions = {}) {}

  /** Counts `e`, `times` times (a tally of identical entries). */
  add(e: ConntrackEntry, times = 1): void {
    this.entries += times
    this.byType[e.type] += times
    const p = String(e.proto)
    this.byProto[p] = (this.byProto[p] ?? 0) + times
    if (e.type !== 'nat-forward') this.connectionsByProto[p] = (this.connectionsByProto[p] ?? 0) + times
    if (e.tcpState) this.tcpStates[e.tcpState] += times
  }

  result(): ConntrackStats {
    const mapSize = this.opts.mapSize ?? DEFAULT_CT_MAP_SIZE
    const hidden =
      this.opts.forwardEntriesHidden ?? (this.byType['nat-forward'] === 0 && this.byType['nat-reverse'] > 0)
    const mapEntries = this.entries + (hidden ? this.byType['nat-reverse'] : 0)
    return {
      entries: this.entries,
      byType: {...this.byType},
      byProto: {...this.byProto},
      connectionsByProto: {...this.connectionsByProto},
      tcpStates: {...this.tcpStates},
      connections: this.entries - this.byType['nat-forward'],
      mapEntries,
      mapSize,
      fillRatio: mapSize > 0 ? mapEntries / mapSize : 0,
    }
  }
}

/** Stats over a list (or any iterable) of entries. */
export function conntrackStats(entries: Iterable<ConntrackEntry>, opts: CtStatsOptions = {}): ConntrackStats {
  const acc = new ConntrackStatsAccumulator(opts)
  for (const e of entries) acc.add(e)
  return acc.result()
}
