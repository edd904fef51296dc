import type {ConntrackSink, NodeConntrackResult} from '../dataplane/conntrack-dump.js'
import type {ConntrackEntry} from '../maps/index.js'
import {conntrackHeader, conntrackRow} from './dumps.js'
import {jsonDocument} from './terminal.js'

/** Writes where a sink writes: false when the output is full; drained then says when to go on (backpressure). */
type Write = (text: string) => unknown

/** Writes `{"apiVersion":…,"kind":"ConntrackDump","nodes":[{"node":…,"entries":[…],…}]}` as it goes. */
export class JsonConntrackSink implements ConntrackSink {
  private buffer: string[] = []
  private size = 0
  private firstNode = true
  private firstEntry = true

  private full = false

  /** write returns false when the output is full; drained then says when to go on (backpressure). */
  constructor(
    private readonly write: (text: string) => unknown,
    private readonly drained?: () => Promise<unknown>,
  ) {
    this.push('{"apiVersion":"ebpfctl/v1","kind":"ConntrackDump","nodes":[')
  }

  beginNode(node: string): void {
    this.push(`${this.firstNode ? '' : ','}\n{"node":${jsonDocument(node, 0)},"entries":[`)
    this.firstNode = false
    this.firstEntry = true
  }

  entries(_node: string, entries: ConntrackEntry[]): Promise<unknown> | undefined {
    for (const e of entries) {
      this.push((this.firstEntry ? '\n' : ',\n') + jsonDocument(e, 0))
      this.firstEntry = false
    }
    if (!this.full || !this.drained) return undefined
    this.full = false
    return this.drained()
  }

  endNode(_node: string, result: NodeConntrackResult): void {
    const {node: _, ...rest} = result
    const tail = jsonDocument(rest, 0).slice(1, -1)
    this.push(`]${tail ? `,${tail}` : ''}}`)
  }

  finish(): void {
    this.push('\n]}\n')
    this.flush()
  }

  private push(text: string): void {
    this.buffer.push(text)
    this.size += text.length
    if (this.size >= 1 << 20) this.flush()
  }

  private flush(): void {
    if (this.buffer.length) this.full = this.write(this.buffer.join('')) === false
    this.buffer = []
    this.size = 0
  }
}

/** The conntrack table as it streams: a header before the first row, rows written in batches of 4,096 lines. */
export class TableConntrackSink implements ConntrackSink {
  private lines: string[] = []
  /** Rows written so far (0: nothing matched). */
  rows = 0

  constructor(
    private readonly wide: boolean,
    private readonly write: Write,
    private readonly drained: () => Promise<unknown>,
  ) {}

  beginNode(): void {}

  entries(node: string, batch: ConntrackEntry[]): Promise<unknown> | undefined {
    if (this.rows === 0) this.lines.push(conntrackHeader(this.wide))
    this.rows += batch.length
    for (const e of batch) this.lines.push(conntrackRow(node, e, this.wide))
    return this.lines.length >= 4096 ? this.flush() : undefined
  }

  endNode(): void {}

  /** Writes the pending rows; a promise when the output is full. */
  flush(): Promise<unknown> | undefined {
    const full = this.lines.length > 0 && this.write(this.lines.join('\n') + '\n') === false
    this.lines = []
    return full ? this.drained() : undefined
  }
}
