// Answers that once differed from workerd's (checked side by side with it): SQL bindings spread
// over several statements ran the first statement with NULL and left a partial write; next() at
// the end had no `value`; a Symbol binding was stored as text; rowsRead/rowsWritten of CREATE
// TABLE were 0/0 (workerd 1/2) and other counts differed too; storage.get() without a key
// answered undefined; JSON.stringify(ctx.id) gave the id (workerd: {"name":"<instance name>"},
// its own properties `jurisdiction` and `name`); structuredClone() ignored `transfer`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

test('the runtime answers these calls as workerd does', async () => {
  const server = await startServer();
  try {
    await server.deploy(path.join(here, 'fixtures', 'answers.js'), { name: 'answers' });
    const res = await server.request('/_do/answers/a/');
    assert.equal(res.status, 200, res.text);
    const out = res.json();
    assert.equal(
      out.spread,
      'Error: When executing multiple SQL statements in a single call, only the last statement can have parameters.',
    );
    assert.equal(out.rowsAfterSpread, 0, 'nothing of a refused call was written');
    assert.equal(out.endHasValue, true);
    assert.equal(out.symbolBinding, 'TypeError: Cannot convert a Symbol value to a string');
    // [rowsRead, rowsWritten] as workerd 1.20261023.1 answered them.
    assert.deepEqual(out.counts, {
      createTable: [1, 2],
      createIndex: [2, 1],
      insert: [3, 6],
      several: [1, 0],
      scanAtExec: [1, 0],
      scanAfterOne: [2, 0],
      scanAtEnd: [4, 0],
    });
    assert.equal(out.getWithoutKey, 'TypeError');
    // workerd 1.20261023.1: `jurisdiction` and `name` are own enumerable read-only properties.
    assert.equal(out.idJson, '{"name":"a"}');
    assert.deepEqual(out.idKeys, ['jurisdiction', 'name']);
    assert.deepEqual(out.transfer, [0, 3]);
  } finally {
    await server.stop();
  }
});
