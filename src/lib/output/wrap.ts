/**
 * Word wrap for human output: a long line breaks at spaces, each continuation indented like the text it continues.
 * A word longer than the width stays whole (URLs, paths and commands are never split).
 */
export function wrapLine(text: string, width: number | undefined, indent: string, firstPrefix = indent): string[] {
  if (text.includes('\n'))
    return text.split('\n').flatMap((para, i) => wrapLine(para, width, indent, i === 0 ? firstPrefix : indent))
  if (!width || firstPrefix.length + text.length <= width) return [firstPrefix + text]
  const lines: string[] = []
  let prefix = firstPrefix
  let cur = ''
  for (const word of text.split(' ')) {
    if (cur && prefix.length + cur.length + 1 + word.length > width) {
      lines.push(prefix + cur)
      prefix = indent
      cur = word
    } else cur = cur ? `${cur} ${word}` : word
  }
  lines.push(prefix + cur)
  return lines
}

/** The width to wrap human output to: the terminal's, or none (no wrapping) when stdout is not a terminal. */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number | undefined {
  return stream.isTTY && stream.columns && stream.columns >= 40 ? stream.columns : undefined
}
