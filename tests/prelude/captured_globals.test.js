// js/shared/captured_globals.js (injected into the bundles compiled at start-up) and
// js/shared/captured_globals_lazy.js (injected into those compiled at first use) must export the
// same names: a name missing from the lazy list would make a lazy bundle read the global object's
// property, which user code may have replaced, and esbuild's --inject needs each list written out
// in its own file, so the two cannot share one.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const sharedDir = path.join(__dirname, '..', '..', 'js', 'shared');

function exportedNames(file) {
  const source = fs.readFileSync(path.join(sharedDir, file), 'utf8');
  const match = /export const \{([^}]*)\} =/.exec(source);
  assert.ok(match, `${file}: no "export const { ... } =" list`);
  return match[1].split(',').map((name) => name.trim()).filter(Boolean);
}

test('the lazy bundles capture the same globals as the bundles loaded at start-up', () => {
  const eager = exportedNames('captured_globals.js');
  const lazy = exportedNames('captured_globals_lazy.js');
  assert.ok(eager.length >= 50, `only ${eager.length} names`);
  assert.deepEqual(lazy, eager);
  assert.equal(new Set(eager).size, eager.length, 'a name is listed twice');
  for (const name of eager) {
    assert.ok(/^[A-Za-z][A-Za-z0-9]*$/.test(name), `not a plain binding: ${name}`);
    assert.ok(name in globalThis, `not an ECMAScript global: ${name}`);
  }
});
