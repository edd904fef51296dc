import Table from 'cli-table3'

/** A kubectl-like borderless table. Colour is applied to cells by the caller, never by cli-table3. */
export function renderTable(head: string[], rows: (string | number)[][], opts: {wrapWidths?: (number | null)[]} = {}): string {
  const table = new Table({
    head,
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    style: {head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 0},
    ...(opts.wrapWidths ? {colWidths: opts.wrapWidths, wordWrap: true} : {}),
  })
  for (const row of rows) table.push(row.map(String))
  return table.toString().split('\n').map((line) => line.trimEnd()).join('\n')
}
