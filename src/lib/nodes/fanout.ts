/** Runs one task per node with bounded concurrency; a node that fails is a result, never a crash. */
import pLimit from 'p-limit'

import {timeoutWording} from './bounds.js'
import {
  type NodeAccessError,
  type NodeTarget,
  NodeAccessError as NodeAccessErrorClass,
  toNodeAccessError,
} from './types.js'

export type NodeOutcome<T> =
  | {node: NodeTarget; ok: true; value: T; durationMs: number}
  | {node: NodeTarget; ok: false; error: NodeAccessError; durationMs: number}

export interface FanoutOptions {
  /** Nodes worked on at once. Default 16. */
  concurrency?: number
  /** Deadline for each node's whole task; on expiry its result is a 'timeout' error (the task is abandoned). */
  perNodeTimeoutMs?: number
}

/** Results in input order. */
export async function runOnNodes<T>(
  nodes: readonly NodeTarget[],
  fn: (node: NodeTarget) => Promise<T>,
  opts: FanoutOptions = {},
): Promise<NodeOutcome<T>[]> {
  const limit = pLimit(Math.max(1, opts.concurrency ?? 16))
  return Promise.all(
    nodes.map((node) =>
      limit(async (): Promise<NodeOutcome<T>> => {
        const start = Date.now()
        let timer: NodeJS.Timeout | undefined
        try {
          const task = Promise.resolve().then(() => fn(node))
          const value = opts.perNodeTimeoutMs
            ? await Promise.race([
                task,
                new Promise<never>((_, reject) => {
                  timer = setTimeout(
                    () =>
                      reject(
                        new NodeAccessErrorClass(
                          node.name,
                          'timeout',
                          `${node.name}: ${timeoutWording(opts.perNodeTimeoutMs!)}`,
                        ),
                      ),
                    opts.perNodeTimeoutMs,
                  )
                }),
              ])
            : await task
          return {node, ok: true, value, durationMs: Date.now() - start}
        } catch (err) {
          return {node, ok: false, error: toNodeAccessError(node.name, err), durationMs: Date.now() - start}
        } finally {
          if (timer) clearTimeout(timer)
        }
      }),
    ),
  )
}
