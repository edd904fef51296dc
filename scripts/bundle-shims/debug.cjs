// Stands in for `debug` inside the bundle. The real module loads node:tty (and with it net and streams), ~7% of a
// start-up, for logging that is off unless DEBUG is set; so load it only then. DEBUG=oclif:* still works.
'use strict'
if (process.env.DEBUG) {
  const realDebug = 'debug' // a name, not a literal: the bundler would resolve a literal back to this shim
  module.exports = require(realDebug)
} else {
  const off = () => {}
  off.enabled = false
  off.extend = () => factory()
  const factory = () => off
  factory.enable = () => {}
  factory.disable = () => ''
  factory.enabled = () => false
  module.exports = factory
}
