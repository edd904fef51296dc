/** Public surface of the BPF map layer: one model, three sources (agent text, agent JSON, bpftool bytes). */
export * from './model.js'
export * from './agent.js'
export * from './agent-text.js'
export * from './agent-json.js'
export * from './bpftool.js'
export * from './join.js'
export * from './stats.js'
export {classifyNoise, goDurationToNs, parseGoDuration, parseHostPort} from './noise.js'
