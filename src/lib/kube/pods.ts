import type {PodObject} from './objects.js'

/** Running with condition Ready=True, as kubectl shows READY. */
export const podReady = (p: PodObject) =>
  p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
