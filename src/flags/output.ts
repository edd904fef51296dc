import {Flags} from '@oclif/core'

/**
 * The one `-o, --output` flag, kubectl-style: `table` (default), `wide`, `json`, `yaml`, plus `junit` where findings
 * are printed. JSON and YAML are the same document (output/terminal.ts machineDocument).
 */
export function outputFlag<const T extends readonly string[]>(options: T, description: string) {
  return Flags.option({char: 'o', default: 'table' as T[number], description, options})()
}

export const TABLE_FORMATS = ['table', 'wide', 'json', 'yaml'] as const
