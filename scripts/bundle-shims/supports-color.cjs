// Stands in for `supports-color` inside the bundle: the same answers, but the real module (which loads node:tty) is
// only evaluated when oclif first asks, i.e. when it themes help, not on every start. The real module is bundled too
// (`real:`, see scripts/bundle.mjs), so that asking costs no lookup in node_modules.
'use strict'
let real
const load = () => (real ??= require('real:supports-color'))
module.exports = {
  get stdout() { return load().stdout },
  get stderr() { return load().stderr },
  createSupportsColor: (...args) => load().createSupportsColor(...args),
}
