import {UserError} from './errors.js'

const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/** Parses kubectl-style durations ("10s", "1m30s", "500ms"; a bare number means seconds) into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy
  let total = 0
  let consumed = 0
  for (const match of trimmed.matchAll(re)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!
    consumed += match[0].length
  }
  if (consumed === 0 || consumed !== trimmed.length) {
    throw new UserError(`--${flag}=${text} is not a duration`, {remedy: `Use a value like 30s, 5m or 1m30s.`})
  }
  return Math.round(total)
}

/** A wait's clock as every wait shows it: "41s of 5m" (elapsed of the bound). */
export function waitClock(elapsedMs: number, boundMs: number): string {
  return `${formatDuration(elapsedMs)} of ${formatDuration(boundMs)}`
}

/** A duration as people say it: 41s, 5m, 1m30s, 1h2m (whole seconds; under a second: 0s). */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000))
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : '']
  return parts.join('')
}
