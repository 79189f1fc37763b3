'use strict';

// EventSource.from() and the event-stream parser (js/prelude/event_source.js), fed byte chunks
// through a ReadableStream: workerd's parsing rules (a BOM only at the start, CR/LF/CRLF, data
// lines joined, ids, comments, retry), the events and the states.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const runAsync = async (body) => JSON.parse(await rt.run(`(async () => JSON.stringify(await (async () => { ${body} })()))()`));

// The events an EventSource.from() of `chunks` (strings, as bytes; arrays of numbers as raw bytes)
// dispatches: [type, data, lastEventId] for messages, [type] for open, [type, error message] for
// errors.
const eventsOf = (chunks, extra = '') => runAsync(`
  const chunks = ${JSON.stringify(chunks)}.map((c) => typeof c === 'string' ? new TextEncoder().encode(c) : new Uint8Array(c));
  const source = EventSource.from(new ReadableStream({
    pull(controller) {
      if (chunks.length === 0) controller.close(); else controller.enqueue(chunks.shift());
    },
  }));
  const seen = [];
  const states = [source.readyState];
  source.onopen = () => { seen.push(['open']); states.push(source.readyState); };
  source.onmessage = (e) => seen.push([e.type, e.data, e.lastEventId]);
  source.addEventListener('ping', (e) => seen.push([e.type, e.data, e.lastEventId]));
  ${extra}
  await new Promise((resolve) => {
    source.onerror = (e) => { seen.push(['error', e.error.message]); states.push(source.readyState); resolve(); };
  });
  return { seen, states, url: source.url };
`);

test('EventSource.from(): OPEN at once (its open event goes before a handler can be set, as in workerd), messages, then an error and CLOSED when the stream ends', async () => {
  const got = await eventsOf(['data: one\n\n', 'data: two\n', '\n']);
  assert.deepEqual(got, {
    seen: [['message', 'one', ''], ['message', 'two', ''], ['error', 'The server disconnected.']],
    states: [1, 2],
    url: '',
  });
});

test('line ends: LF, CR and CRLF; a CR at a chunk\'s end then an LF are two ends, as in workerd', async () => {
  const got = await eventsOf(['data: a\r\rdata: b\r\n\r\ndata: c\n\n', 'data: d\r', '\ndata: e\n\n']);
  assert.deepEqual(got.seen.slice(0, -1), [
    ['message', 'a', ''], ['message', 'b', ''], ['message', 'c', ''], ['message', 'd', ''], ['message', 'e', ''],
  ]);
});

test('data lines join with LF; one space after the colon is dropped; empty data is not dispatched', async () => {
  const got = await eventsOf([
    'data:first\ndata:  second\ndata\n\n',
    'data:\n\n',
    'event: ping\ndata: named\n\n',
    ': a comment\nunknown: field\n\n',
    'data: x',  // no blank line before the end: dropped
  ]);
  assert.deepEqual(got.seen, [
    ['message', 'first\n second\n', ''], ['ping', 'named', ''], ['error', 'The server disconnected.'],
  ]);
});

test('a BOM is skipped only at the very start; ids stick until changed, NUL and all (as workerd)', async () => {
  const got = await eventsOf([
    [0xef, 0xbb, 0xbf, ...Buffer.from('id: 7\ndata: a\n\n')],
    'data: b\n\nid\ndata: c\n\n',
    'id: x\u0000y\ndata: d\n\n',
  ]);
  assert.deepEqual(got.seen.slice(0, -1), [
    ['message', 'a', '7'], ['message', 'b', '7'], ['message', 'c', ''], ['message', 'd', 'x\u0000y'],
  ]);
  const bomLater = await eventsOf(['data: a\n\n', [0xef, 0xbb, 0xbf, ...Buffer.from('data: b\n\n')]]);
  assert.deepEqual(bomLater.seen.slice(0, -1).map((e) => e[1]), ['a']);
});

test('close() stops dispatching; from() refuses a locked or read stream; withCredentials is refused', async () => {
  const got = await eventsOf(['data: one\n\n', 'data: two\n\n'], `
    source.addEventListener('message', () => {
      source.close();
      seen.push(['closed', source.readyState]);
      queueMicrotask(() => source.onerror({ error: { message: 'done' } }));
    });`);
  assert.deepEqual(got.seen, [['message', 'one', ''], ['closed', 2], ['error', 'done']]);
  const errors = await runAsync(`
    const describe = (fn) => { try { fn(); return null; } catch (e) { return [e.name, e.message]; } };
    const locked = new ReadableStream();
    locked.getReader();
    const read = new ReadableStream({ start(c) { c.enqueue(new Uint8Array(1)); } });
    await read.getReader().read().then(() => {});
    return [
      describe(() => EventSource.from(locked)),
      describe(() => new EventSource('not a url')),
      describe(() => new EventSource('http://example.com/', { withCredentials: true })),
      [EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED],
    ];
  `);
  assert.deepEqual(errors, [
    ['TypeError', 'This ReadableStream is locked.'],
    ['SyntaxError', "Cannot open an EventSource to 'not a url'. The URL is invalid."],
    ['NotSupportedError', 'The init.withCredentials option is not supported. It must be false or undefined.'],
    [0, 1, 2],
  ]);
});
