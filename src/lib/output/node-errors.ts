/** A node that could not be read, as every command reports it on stderr: one line, always with the reason. */
export interface NodeErrorLike {
  node: string
  error?: {reason?: string; message: string; remedy?: string}
}

/**
 * A node's error message without its own leading `<node>: ` (the node runners start their messages with it, and every
 * place that prints one names the node already: `error node-1: node-1: …` otherwise).
 */
export function withoutNodePrefix(node: string, message: string): string {
  return message.startsWith(`${node}: `) ? message.slice(node.length + 2) : message
}

/** `error <node>: <message>` (+ an indented remedy line); the reason code stands in for an empty message. */
export function formatNodeError(node: string, error: {reason?: string; message: string; remedy?: string}): string {
  const message = withoutNodePrefix(node, error.message.trim() + ' ').trim() || `failed (${error.reason ?? 'no reason given'})`
  return `error ${node}: ${message}${error.remedy ? `\n  ${error.remedy}` : ''}\n`
}

/** Writes each failed node's error to stderr, so stdout (table, JSON) stays data and the failures are never missed. */
export function writeNodeErrors(results: NodeErrorLike[], write: (text: string) => void = (t) => process.stderr.write(t)): void {
  for (const r of results) if (r.error) write(formatNodeError(r.node, r.error))
}
