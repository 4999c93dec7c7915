'use strict';
// Loads the addon once. `native` is null when it is unavailable, and
// `loadError` says why (shown in logs and by `wraith doctor`).
const { join } = require('node:path');
const { readFileSync } = require('node:fs');

let native = null;
let loadError = null;
if (process.env.WRAITH_NO_NATIVE === '1') {
  loadError = 'disabled by WRAITH_NO_NATIVE=1';
} else {
  try {
    native = require(join(__dirname, 'build', 'Release', 'wraith_native.node'));
  } catch (e) {
    let reason = e && e.message ? e.message : String(e);
    try {
      const s = JSON.parse(readFileSync(join(__dirname, 'build-status.json'), 'utf8'));
      if (!s.ok && s.reason) reason = s.reason;
    } catch {}
    loadError = `native addon unavailable: ${reason}`;
  }
}
module.exports = { native, loadError };
