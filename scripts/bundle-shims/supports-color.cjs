// Stands in for `supports-color` inside the bundle: the same answers, but the real module (which loads node:tty) is
// only required when oclif first asks, i.e. when it themes help, not on every start.
'use strict'
let real
const realSupportsColor = 'supports-color' // a name, not a literal: the bundler would resolve a literal back to this shim
const load = () => (real ??= require(realSupportsColor))
module.exports = {
  get stdout() { return load().stdout },
  get stderr() { return load().stderr },
  createSupportsColor: (...args) => load().createSupportsColor(...args),
}
