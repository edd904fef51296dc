import {objectLabel, showFieldValue, showPath} from './fields.js'
import type {RunResult} from './runner.js'
import type {Plan} from './types.js'

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
