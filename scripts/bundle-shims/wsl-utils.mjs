// Stands in for `wsl-utils` inside the bundle. oclif only reads its `isWsl` (to name the platform), but the package
// also loads powershell-utils and with it node:child_process (net, dgram, streams): ~10% of every start-up.
export {default as isWsl} from 'is-wsl'
