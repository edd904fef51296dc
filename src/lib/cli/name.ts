/**
 * The name ebpfctl was called by: `ebpfctl`, or `kubectl calico-ebpf` through the kubectl plugin. Messages that tell
 * the user what to run next use it, as help and usage lines do (oclif's config.bin).
 */
let invokedAs = 'ebpfctl'

/** Set once at start-up from oclif's config.bin (BaseCommand.init). */
export function setCliName(name: string): void {
  invokedAs = name
}

/** A command line to suggest: `cliCommand('revert')` is `ebpfctl revert`, or `kubectl calico-ebpf revert`. */
export function cliCommand(command: string): string {
  return `${invokedAs} ${command}`
}
