/**
 * Reading `bpftool -j map dump pinned /sys/fs/bpf/tc/globals/<map>` (calico-bpf.md §2, §7): `BpftoolDumpScanner` is an
 * incremental byte scanner over bpftool's JSON. It extracts each element's `"key"` and `"value"` hex arrays (`"0x0a"`
 * strings) and skips everything else (BTF `formatted` objects with duplicate keys, per-CPU `values`, lookup-error
 * objects) without building strings or parsing JSON. Memory is bounded by one chunk. The decoders (nat-decode.ts,
 * ct-decode.ts) turn each key/value pair into the model.
 */

export interface ScanStats {
  /** Bytes consumed. */
  bytes: number
  /** Elements emitted to the callback. */
  entries: number
  /** Elements skipped: value not an array (lookup error), per-CPU `values`, empty key, oversize arrays. */
  skipped: number
  /** `error` strings bpftool printed (top-level `{"error": …}` or inside elements), first 10. */
  errors: string[]
  /** true once the top-level array was closed. */
  complete: boolean
}

export function newScanStats(): ScanStats {
  return {bytes: 0, entries: 0, skipped: 0, errors: [], complete: false}
}

const S_TOP = 0
const S_ARRAY = 1
const S_OBJ = 2
const S_NAME = 3
const S_COLON = 4
const S_VALUE = 5
const S_HEX = 6
const S_HEX_STR = 7
const S_SKIP = 8
const S_SKIP_STR = 9
const S_SKIP_LIT = 10
const S_END = 11
const S_HEX_NUM = 12

const N_OTHER = 0
const N_KEY = 1
const N_VALUE = 2
const N_ERROR = 3

const MAX_BYTES = 256

/** Hex digit value by char code, -1 otherwise. */
const HEX = new Int8Array(256).fill(-1)
for (let c = 0; c < 10; c++) HEX[48 + c] = c
for (let c = 0; c < 6; c++) {
  HEX[97 + c] = 10 + c
  HEX[65 + c] = 10 + c
}

/** Byte classes outside strings while skipping: 1 quote, 2 open, 3 close, 0 anything else. */
const SKIP_CLASS = new Uint8Array(256)
SKIP_CLASS[0x22] = 1
SKIP_CLASS[0x7b] = 2
SKIP_CLASS[0x5b] = 2
SKIP_CLASS[0x7d] = 3
SKIP_CLASS[0x5d] = 3

/**
 * Incremental scanner for `bpftool -j map dump` output. Feed chunks with `push`; `onEntry(key, value)` is called for
 * each complete element. The arrays passed to `onEntry` are reused: decode or copy them before returning.
 */
export class BpftoolDumpScanner {
  readonly stats: ScanStats = newScanStats()
  private state = S_TOP
  private nameId = N_OTHER
  private nameLen = 0
  private nameFirst = 0
  private nameLast = 0
  private skipDepth = 0
  private inStr = false
  private esc = false
  private readonly keyBuf = new Uint8Array(MAX_BYTES)
  private readonly valBuf = new Uint8Array(MAX_BYTES)
  private keyLen = 0
  private valLen = 0
  private hexTarget = 0 // N_KEY or N_VALUE
  private hv = 0
  private haveKey = false
  private haveValue = false
  private bad = false
  private topObject = false
  private errBuf = ''

  constructor(private readonly onEntry: (key: Uint8Array, value: Uint8Array) => void) {}

  push(chunk: Uint8Array | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    const n = buf.length
    this.stats.bytes += n
    let state = this.state
    let i = 0
    while (i < n) {
      const c = buf[i]!
      switch (state) {
        case S_SKIP: {
          // Generic skip of a nested value; the hot path for BTF `formatted` objects.
          let depth = this.skipDepth
          let inStr = this.inStr
          let esc = this.esc
          for (; i < n; i++) {
            const d = buf[i]!
            if (inStr) {
              if (esc) esc = false
              else if (d === 0x22) inStr = false
              else if (d === 0x5c) esc = true
              continue
            }
            const k = SKIP_CLASS[d]!
            if (k === 0) continue
            if (k === 1) inStr = true
            else if (k === 2) depth++
            else if (--depth === 0) {
              i++
              break
            }
          }
          this.skipDepth = depth
          this.inStr = inStr
          this.esc = esc
          if (depth === 0) state = S_OBJ
          continue
        }
        case S_HEX: {
          // Tight loop for bpftool's `"0x0a",` elements; anything else falls back to the general states.
          const isKey = this.hexTarget === N_KEY
          const target = isKey ? this.keyBuf : this.valBuf
          let len = isKey ? this.keyLen : this.valLen
          while (i < n) {
            const d = buf[i]!
            if (d === 0x22) {
              if (i + 5 < n && buf[i + 1] === 0x30 && (buf[i + 2]! | 0x20) === 0x78 && buf[i + 5] === 0x22) {
                const h1 = HEX[buf[i + 3]!]!
                const h2 = HEX[buf[i + 4]!]!
                if (h1 >= 0 && h2 >= 0) {
                  if (len < MAX_BYTES) target[len++] = (h1 << 4) | h2
                  else this.bad = true
                  i += buf[i + 6] === 0x2c ? 7 : 6
                  continue
                }
              }
              state = S_HEX_STR
              this.hv = 0
              i++
              break
            } else if (d === 0x5d) {
              if (isKey) this.haveKey = true
              else this.haveValue = true
              state = S_OBJ
              i++
              break
            } else if (d >= 0x30 && d <= 0x39) {
              state = S_HEX_NUM
              this.hv = d - 0x30
              i++
              break
            }
            i++
          }
          if (isKey) this.keyLen = len
          else this.valLen = len
          continue
        }
        case S_HEX_STR: {
          // Inside "0x0a": accumulate hex digits, `x` resets (drops the leading 0 of the prefix).
          let hv = this.hv
          for (; i < n; i++) {
            const d = buf[i]!
            if (d === 0x22) break
            const h = HEX[d]!
            if (h >= 0) hv = (hv << 4) | h
            else if (d === 0x78 || d === 0x58) hv = 0
          }
          this.hv = hv
          if (i < n) {
            this.pushByte(hv & 0xff)
            state = S_HEX
            i++
          }
          continue
        }
        case S_HEX_NUM: {
          if (c >= 0x30 && c <= 0x39) {
            this.hv = this.hv * 10 + (c - 0x30)
            i++
            continue
          }
          this.pushByte(this.hv & 0xff)
          state = S_HEX
          continue // re-read c in S_HEX
        }
        case S_OBJ: {
          if (c === 0x22) {
            state = S_NAME
            this.nameLen = 0
            this.nameFirst = 0
            this.nameLast = 0
          } else if (c === 0x7d) {
            this.endElement()
            state = this.topObject ? S_END : S_ARRAY
          }
          i++
          continue
        }
        case S_NAME: {
          if (c === 0x22) {
            const len = this.nameLen
            const f = this.nameFirst
            this.nameId =
              len === 3 && f === 0x6b
                ? N_KEY
                : len === 5 && f === 0x76 && this.nameLast === 0x65
                  ? N_VALUE
                  : len === 5 && f === 0x65 && this.nameLast === 0x72
                    ? N_ERROR
                    : N_OTHER
            state = S_COLON
          } else {
            if (this.nameLen === 0) this.nameFirst = c
            this.nameLast = c
            this.nameLen++
          }
          i++
          continue
        }
        case S_COLON: {
          if (c === 0x3a) state = S_VALUE
          i++
          continue
        }
        case S_VALUE: {
          if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) {
            i++
            continue
          }
          const id = this.nameId
          if (c === 0x5b && (id === N_KEY || id === N_VALUE)) {
            state = S_HEX
            this.hexTarget = id
            if (id === N_KEY) this.keyLen = 0
            else this.valLen = 0
          } else if (c === 0x7b || c === 0x5b) {
            if (id === N_VALUE)
              this.bad = true // value is an error object
            else if (id !== N_KEY && this.nameLen === 6 && this.nameFirst === 0x76) this.bad = true // per-CPU "values"
            state = S_SKIP
            this.skipDepth = 1
            this.inStr = false
            this.esc = false
          } else if (c === 0x22) {
            state = S_SKIP_STR
            this.esc = false
            this.errBuf = ''
          } else {
            state = S_SKIP_LIT
          }
          i++
          continue
        }
        case S_SKIP_STR: {
          if (this.esc) this.esc = false
          else if (c === 0x5c) this.esc = true
          else if (c === 0x22) {
            if (this.nameId === N_ERROR && this.stats.errors.length < 10) this.stats.errors.push(this.errBuf)
            state = S_OBJ
          } else if (this.nameId === N_ERROR && this.errBuf.length < 1000) this.errBuf += String.fromCharCode(c)
          i++
          continue
        }
        case S_SKIP_LIT: {
          if (c === 0x2c) state = S_OBJ
          else if (c === 0x7d) {
            this.endElement()
            state = this.topObject ? S_END : S_ARRAY
          }
          i++
          continue
        }
        case S_ARRAY: {
          if (c === 0x7b) {
            state = S_OBJ
            this.resetElement()
          } else if (c === 0x5d) {
            state = S_END
            this.stats.complete = true
          }
          i++
          continue
        }
        case S_TOP: {
          if (c === 0x5b) state = S_ARRAY
          else if (c === 0x7b) {
            state = S_OBJ
            this.topObject = true
            this.resetElement()
          }
          i++
          continue
        }
        default: {
          // S_END: ignore anything after the document.
          i = n
        }
      }
    }
    this.state = state
  }

  /** Call when the input ends; a final number in a hex array is flushed. */
  end(): ScanStats {
    if (this.state === S_HEX_NUM) {
      this.pushByte(this.hv & 0xff)
      this.state = S_HEX
    }
    return this.stats
  }

  private pushByte(b: number): void {
    if (this.hexTarget === N_KEY) {
      if (this.keyLen < MAX_BYTES) this.keyBuf[this.keyLen++] = b
      else this.bad = true
    } else if (this.valLen < MAX_BYTES) this.valBuf[this.valLen++] = b
    else this.bad = true
  }

  private resetElement(): void {
    this.keyLen = 0
    this.valLen = 0
    this.haveKey = false
    this.haveValue = false
    this.bad = false
  }

  private endElement(): void {
    if (this.haveKey && this.haveValue && !this.bad && this.keyLen > 0) {
      this.stats.entries++
      this.onEntry(this.keyBuf.subarray(0, this.keyLen), this.valBuf.subarray(0, this.valLen))
    } else if (!this.topObject || this.haveKey) {
      this.stats.skipped++
    }
  }
}

export type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>

/** Scans a whole dump stream (e.g. bpftool's stdout `Readable`), calling `onEntry` per element. */
export async function scanBpftoolDump(
  input: ByteSource,
  onEntry: (key: Uint8Array, value: Uint8Array) => void,
): Promise<ScanStats> {
  const scanner = new BpftoolDumpScanner(onEntry)
  for await (const chunk of input) scanner.push(chunk)
  return scanner.end()
}
