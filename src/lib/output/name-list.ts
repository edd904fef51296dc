/** "a, b, c and 7 more": the names in the order given, at most `max` of them. */
export function nameList(names: string[], max = 5): string {
  if (names.length <= max) return names.join(', ')
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`
}
