/**
 * The one sanitizer between ebpfctl and a terminal. Human output carries text we do not own (node kernel and OS
 * strings, Calico versions, record fields, ConfigMap values, agent stderr, `uname`): a control sequence in it could
 * move the cursor, rewrite earlier lines, retitle the window or hide text. Every control character is shown as a
 * visible escape instead (`\x1b`, `\r`, `\u009b`); newline and tab stay. Only the SGR colour codes that our own
 * paint() writes pass through, and those can only colour text, never hide or move it.
 */

/** Exactly the SGR sequences color.ts emits (bold, dim, red, green, yellow, grey and their resets). */
const OWN_SGR = /\u001B\[(?:1|2|22|31|32|33|39|90)m/y

// C0 except \t and \n, DEL, C1, and the bidi overrides/isolates that reorder what a reader sees.
const UNSAFE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/

function visible(ch: string): string {
  const code = ch.codePointAt(0)!
  if (ch === '\r') return '\\r'
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`
  return `\\u${code.toString(16).padStart(4, '0')}`
}

/** The in-place rewrite the progress line starts its writes with (carriage return, erase line). */
const LINE_REWRITE = '\r\u001B[2K'

/**
 * Text safe to write to a terminal: every control character but \n and \t made visible, our own colours kept.
 * `lineRewrite`: a write may start with the progress line's own "return and erase line".
 */
export function sanitizeForTerminal(text: string, opts: {lineRewrite?: boolean} = {}): string {
  if (opts.lineRewrite && text.startsWith(LINE_REWRITE)) return LINE_REWRITE + sanitizeForTerminal(text.slice(LINE_REWRITE.length))
  if (!UNSAFE.test(text)) return text
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (ch === '\u001B') {
      OWN_SGR.lastIndex = i
      const m = OWN_SGR.exec(text)
      if (m) {
        out += m[0]
        i += m[0].length - 1
        continue
      }
    }
    out += UNSAFE.test(ch) ? visible(ch) : ch
  }
  return out
}

/**
 * Drops what XML 1.0 cannot carry at all, even escaped (C0 but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF), so a
 * JUnit report stays parseable whatever a node printed. Each dropped character becomes U+FFFD.
 */
export function xmlSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
}

/**
 * JSON text for a machine document: JSON.stringify already escapes C0 inside strings; this also escapes DEL, C1 and the
 * bidi controls (which JSON allows raw) as \uXXXX, so the document stays exact and valid and is safe to cat.
 */
export function jsonDocument(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(
    /[\u007F-\u009F\u202A-\u202E\u2066-\u2069\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

// What YAML's printable set excludes beyond C0 (C1 but NEL, U+FFFE/U+FFFF) and the bidi controls: raw, they make the
// document invalid or reorder what a reader sees; in double-quoted scalars they are written as \uXXXX escapes.
const YAML_UNSAFE = /[\u0080-\u0084\u0086-\u009F\u202A-\u202E\u2066-\u2069\uFFFE\uFFFF]/g

/**
 * YAML text for a machine document, exact and valid whatever the strings hold (yaml is loaded only here). The same
 * shape as the JSON document (the value goes through JSON first: toJSON, dropped undefined, no Dates or Maps) and
 * without anchors or aliases, so a consumer needs no YAML-specific handling to read it.
 */
export async function yamlDocument(value: unknown): Promise<string> {
  const {stringify} = await import('../yaml.js')
  const plain: unknown = JSON.parse(JSON.stringify(value) ?? 'null')
  const text = stringify(plain, {aliasDuplicateObjects: false})
  if (!text.match(YAML_UNSAFE)) return text
  // Only double-quoted scalars can carry escapes: quote every string value, then escape the unsafe characters.
  return stringify(plain, {aliasDuplicateObjects: false, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN'}).replace(
    YAML_UNSAFE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

export type DocumentFormat = 'json' | 'yaml'

/** The machine document for `-o json` / `-o yaml`: one shape, two syntaxes. */
export async function machineDocument(format: DocumentFormat, value: unknown): Promise<string> {
  return format === 'json' ? jsonDocument(value) : yamlDocument(value)
}

/** True for the `-o` values that print a machine document. */
export const isDocumentFormat = (format: string): format is DocumentFormat => format === 'json' || format === 'yaml'
