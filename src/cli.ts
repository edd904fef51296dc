// The launcher's entry (bin/run.js imports the bundled dist/cli.js): oclif with the commands and chunks bundled beside it.
export {execute} from '@oclif/core'
