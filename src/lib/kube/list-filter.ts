/**
 * A Kubernetes list page as it streams in, with every `items[*].metadata.managedFields` array replaced by `[]`.
 *
 * Why: the real API server sends its server-side-apply bookkeeping with every object and cannot leave it out of a
 * JSON list (the PartialObjectMetadata form keeps it; the Table form lacks fields we read). On a Node list it is about
 * 60% of the bytes; parsing it and keeping it alive costs more (JSON.parse, then the garbage collector copying it) than
 * this one pass over the bytes. ebpfctl never reads managedFields from a list.
 *
 * Only a whole array that is the `managedFields` member of the `metadata` object of an element of the top-level
 * `items` array is emptied; every other byte passes through unchanged, so valid JSON stays valid and JSON.parse still
 * judges the whole page. (Bytes inside a dropped array are not judged: we would not have read them.)
 *
 * It also finds the list's head: everything before the top-level `items` member. The API server writes `metadata`
 * (with the `continue` token) first, so the next page can be asked for while this one is still streaming in.
 */

// Byte classes for the scan loop (0: nothing to do).
const QUOTE = 1
const BACKSLASH = 2
const OPEN_OBJECT = 3
const OPEN_ARRAY = 4
const CLOSE = 5
const COMMA = 6
const CLASS = new Uint8Array(256)
CLASS[0x22] = QUOTE
CLASS[0x5c] = BACKSLASH
CLASS[0x7b] = OPEN_OBJECT
CLASS[0x5b] = OPEN_ARRAY
CLASS[0x7d] = CLOSE
CLASS[0x5d] = CLOSE
CLASS[0x2c] = COMMA

// The member names on the path root → items → [n] → metadata → managedFields.
const OTHER = 0
const ITEMS = 1
const METADATA = 2
const MANAGED_FIELDS = 3
const KEYS: [number, Buffer][] = [
  [ITEMS, Buffer.from('items')],
  [METADATA, Buffer.from('metadata')],
  [MANAGED_FIELDS, Buffer.from('managedFields')],
]
const LONGEST_KEY = 13
/** How far into a page the head is looked for (the API server's list metadata is a few hundred bytes). */
const HEAD_SEARCH_BYTES = 64 * 1024

/** Depths that matter: 1 the list object, 2 items, 3 an item, 4 its metadata, 5 the managedFields array. */
const PATH_DEPTH = 4

export class ManagedFieldsFilter {
  private readonly kept: Buffer[] = []
  /** Raw bytes from the start, kept until the head is found or HEAD_SEARCH_BYTES have gone by. */
  private headChunks: Buffer[] | undefined
  /** Bytes written before the current chunk, and where the member name being read started. */
  private offset = 0
  private keyStart = 0
  private depth = 0
  private inString = false
  private escaped = false
  /** The next string starts a member name we want to know (an object on the path, after `{` or `,`). */
  private expectKey = false
  /** Bytes of a member name being read (it may span chunks); undefined when not reading one. */
  private key: number[] | undefined
  /** > 0 while dropping a managedFields array: the depth of that array. */
  private dropDepth = 0
  /** Per depth 1..PATH_DEPTH: an object (not an array), on the path, and the last member name read there. */
  private readonly isObject = new Uint8Array(PATH_DEPTH + 1)
  private readonly onPath = new Uint8Array(PATH_DEPTH + 1)
  private readonly lastKey = new Uint8Array(PATH_DEPTH + 1)

  /** onHead: called once with the bytes before the top-level `items` member name, if found early in the page. */
  constructor(private readonly onHead?: (head: Buffer) => void) {
    if (onHead) this.headChunks = []
  }

  write(chunk: Buffer): void {
    if (this.headChunks) {
      if (this.offset > HEAD_SEARCH_BYTES) this.headChunks = undefined
      else this.headChunks.push(chunk)
    }
    const n = chunk.length
    let i = 0
    let keepFrom = this.dropDepth > 0 ? -1 : 0
    let {depth, inString, escaped, expectKey, dropDepth} = this
    const {isObject, onPath, lastKey} = this
    while (i < n) {
      if (inString) {
        if (escaped) {
          escaped = false
          this.key = undefined // an escape in a member name: not one of ours
          i++
          continue
        }
        const start = i
        let c = 0
        while (i < n && (c = CLASS[chunk[i]!]!) !== QUOTE && c !== BACKSLASH) i++
        if (this.key && this.key.length + (i - start) <= LONGEST_KEY) for (let j = start; j < i; j++) this.key.push(chunk[j]!)
        else this.key = undefined
        if (i === n) break
        if (c === BACKSLASH) {
          escaped = true
          i++
          continue
        }
        inString = false
        i++
        if (this.key) {
          lastKey[depth] = memberName(this.key)
          this.key = undefined
          if (depth === 1 && lastKey[1] === ITEMS && this.headChunks) {
            const head = Buffer.concat(this.headChunks).subarray(0, this.keyStart)
            this.headChunks = undefined
            this.onHead!(head)
          }
        }
        continue
      }
      const c = CLASS[chunk[i]!]!
      switch (c) {
        case 0:
          break
        case QUOTE:
          inString = true
          if (expectKey) {
            this.key = []
            this.keyStart = this.offset + i
            lastKey[depth] = OTHER // until the name is read in full (a long or escaped one stays OTHER)
            expectKey = false
          }
          break
        case OPEN_OBJECT:
        case OPEN_ARRAY: {
          const parent = depth
          depth++
          if (dropDepth > 0 || depth > PATH_DEPTH) {
            if (dropDepth === 0 && c === OPEN_ARRAY && parent === PATH_DEPTH && onPath[parent] && lastKey[parent] === MANAGED_FIELDS) {
              dropDepth = depth
              this.kept.push(chunk.subarray(keepFrom, i + 1))
              keepFrom = -1
            }
            expectKey = false
            break
          }
          const object = c === OPEN_OBJECT
          isObject[depth] = object ? 1 : 0
          lastKey[depth] = OTHER
          onPath[depth] =
            depth === 1
              ? 1
              : onPath[parent] && (depth === 2 ? !object && lastKey[parent] === ITEMS : depth === 3 ? object : object && lastKey[parent] === METADATA)
                ? 1
                : 0
          expectKey = object && onPath[depth] === 1
          break
        }
        case CLOSE:
          if (dropDepth > 0 && depth === dropDepth) {
            dropDepth = 0
            keepFrom = i
          }
          if (depth > 0) depth--
          expectKey = false
          break
        case COMMA:
          expectKey = dropDepth === 0 && depth >= 1 && depth <= PATH_DEPTH && isObject[depth] === 1 && onPath[depth] === 1
          break
        default:
          break
      }
      i++
    }
    if (keepFrom >= 0 && keepFrom < n) this.kept.push(keepFrom === 0 ? chunk : chunk.subarray(keepFrom))
    this.offset += n
    Object.assign(this, {depth, inString, escaped, expectKey, dropDepth})
  }

  /** The filtered page. */
  end(): Buffer {
    return Buffer.concat(this.kept)
  }
}

/**
 * The `continue` token from a list's head (the bytes before its `items` member: `{"kind":…,"metadata":{…},`);
 * undefined when there is none or the head is not a JSON object's start.
 */
export function continueFromHead(head: Buffer): string | undefined {
  try {
    const text = head.toString('utf8').replace(/,\s*$/, '')
    const list = JSON.parse(`${text}}`) as {metadata?: {continue?: unknown}}
    const token = list?.metadata?.continue
    return typeof token === 'string' && token !== '' ? token : undefined
  } catch {
    return undefined
  }
}

function memberName(bytes: number[]): number {
  for (const [id, name] of KEYS) {
    if (name.length === bytes.length && bytes.every((b, j) => b === name[j])) return id
  }
  return OTHER
}
