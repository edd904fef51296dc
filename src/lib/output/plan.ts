import {objectLabel, renderChange, showFieldValue, showPath} from '../plan/fields.js'
import type {RunResult} from '../plan/runner.js'
import type {Plan, Step} from '../plan/types.js'

/**
 * What a finished enable/revert changed, one line per object: `Changed:` and `  <object>: <field>: <before> → <after>`.
 * Only steps that applied something; the full plan is what --dry-run is for.
 */
export function renderChangeSummary(plan: Plan, result: RunResult): string {
  const applied = new Set(result.steps.filter((s) => s.status === 'applied').map((s) => s.id))
  const lines: string[] = []
  for (const step of plan.steps) {
    if (!applied.has(step.id)) continue
    for (const change of step.changes()) {
      const fields = change.fields.map((f) => `${showPath(f.path)}: ${showFieldValue(f.before)} → ${showFieldValue(f.after)}`)
      const what = change.action === 'patch' ? fields.join(', ') : `${change.action}d${fields.length ? ` (${fields.join(', ')})` : ''}`
      lines.push(`  ${objectLabel(change)}${change.by === 'operator' ? ' (by the operator)' : ''}: ${what}`)
    }
  }
  return lines.length ? `Changed:\n${lines.join('\n')}` : 'Changed: nothing.'
}

/** Renders the numbered plan with every object change as a diff (what --dry-run prints). */
export function renderPlan(plan: Plan, state: Parameters<Step['alreadyDone']>[0]): string {
  const out: string[] = []
  plan.steps.forEach((step, i) => {
    const done = step.alreadyDone(state)
    out.push(`${i + 1}. ${step.title}${done ? '  [already done]' : ''}`)
    out.push(...wrap(step.describe(), 100).map((l) => `   ${l}`))
    if (!done)
      for (const change of step.changes())
        out.push(
          ...renderChange(change)
            .split('\n')
            .map((l) => `     ${l}`),
        )
  })
  return out.join('\n')
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let cur = ''
  for (const word of text.split(/\s+/)) {
    if (cur && cur.length + word.length + 1 > width) {
      lines.push(cur)
      cur = word
    } else cur = cur ? `${cur} ${word}` : word
  }
  if (cur) lines.push(cur)
  return lines
}
