export const OutputFormats = ['table', 'wide', 'json', 'yaml'] as const
export type OutputFormat = (typeof OutputFormats)[number]

export function toJson(data: unknown): string {
  return JSON.stringify(data, null, 2)
}

export async function toYaml(data: unknown): Promise<string> {
  const {stringify} = await import('yaml')
  return stringify(data)
}
