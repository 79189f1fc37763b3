'use strict';

// Web streams and bodies as streams. Expected texts and results are workerd's (each scenario was
// run on workerd as well).

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
// Runs an async function body in the context and returns its JSON-decoded result. `settle()`
// lets pending promise reactions run (the fake host has no event loop of its own to wait on).
const runAsync = async (body) => JSON.parse(await rt.run(`(async () => {
  const settle = async () => { for (let i = 0; i < 50; i++) await null; };
  const failure = async (fn) => {
    try { await fn(); return 'ok'; } catch (e) { return e.constructor.name + ': ' + e.message; }
  };
  return JSON.stringify(await (async () => { ${body} })());
})()`));

test('the stream classes are globals with workerd\'s shape', async () => {
  const result = await runAsync(`
    const names = ['ReadableStream', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader',
      'ReadableStreamDefaultController', 'ReadableByteStreamController', 'ReadableStreamBYOBRequest',
      'WritableStream', 'WritableStreamDefaultWriter', 'WritableStreamDefaultController',
      'TransformStream', 'TransformStreamDefaultController', 'ByteLengthQueuingStrategy',
      'CountQueuingStrategy', 'TextEncoderStream', 'TextDecoderStream', 'IdentityTransformStream',
      'FixedLengthStream'];
    const own = (cls) => Object.getOwnPropertyNames(cls.prototype).sort().join(',');
    return {
      shapes: names.map((n) => [n, globalThis[n].name, globalThis[n].length,
        Object.getOwnPropertyDescriptor(Object.getPrototypeOf(globalThis), n).enumerable]),
      readable: own(ReadableStream),
      statics: Object.getOwnPropertyNames(ReadableStream).sort().join(','),
      reader: own(ReadableStreamDefaultReader),
      writable: own(WritableStream),
      writer: own(WritableStreamDefaultWriter),
      transform: own(TransformStream),
      identity: own(IdentityTransformStream),
      chain: [Object.getPrototypeOf(IdentityTransformStream.prototype) === TransformStream.prototype,
        Object.getPrototypeOf(FixedLengthStream.prototype) === IdentityTransformStream.prototype,
        Object.getPrototypeOf(TextEncoderStream.prototype) === TransformStream.prototype],
      tags: [new ReadableStream(), new WritableStream(), new TransformStream(),
        new ReadableStream().getReader(), new CountQueuingStrategy({ highWaterMark: 1 }),
        new IdentityTransformStream(), new FixedLengthStream(1)].map((o) => Object.prototype.toString.call(o)),
      tagDescriptor: Object.getOwnPropertyDescriptor(ReadableStream.prototype, Symbol.toStringTag),
      teeInstances: new ReadableStream().tee().every((s) => s instanceof ReadableStream),
      subclass: (() => { class Mine extends ReadableStream {} const m = new Mine(); return [m instanceof Mine, m.locked]; })(),
      illegal: await failure(() => new ReadableStreamDefaultController()),
    };
  `);
  assert.deepEqual(result.shapes.map(([n, name, length, enumerable]) => [n === name, length, enumerable]),
    result.shapes.map(() => [true, 0, true]));
  assert.equal(result.readable, 'cancel,constructor,getReader,locked,pipeThrough,pipeTo,tee,values');
  assert.equal(result.statics, 'from,length,name,prototype');
  assert.equal(result.reader, 'cancel,closed,constructor,read,releaseLock');
  assert.equal(result.writable, 'abort,close,constructor,getWriter,locked');
  assert.equal(result.writer, 'abort,close,closed,constructor,desiredSize,ready,releaseLock,write');
  assert.equal(result.transform, 'constructor,readable,writable');
  assert.equal(result.identity, 'constructor');
  assert.deepEqual(result.chain, [true, true, true]);
  assert.deepEqual(result.tags, ['[object ReadableStream]', '[object WritableStream]',
    '[object TransformStream]', '[object ReadableStreamDefaultReader]', '[object CountQueuingStrategy]',
    '[object IdentityTransformStream]', '[object FixedLengthStream]']);
  assert.deepEqual(result.tagDescriptor, { value: 'ReadableStream', writable: true, enumerable: false, configurable: true });
  assert.equal(result.teeInstances, true);
  assert.deepEqual(result.subclass, [true, false]);
  assert.equal(result.illegal, 'TypeError: Illegal constructor');
});

test('misuse gives workerd\'s errors', async () => {
  const result = await runAsync(`
    const locked = () => { const s = new ReadableStream(); s.getReader(); return s; };
    const lockedW = () => { const w = new WritableStream(); w.getWriter(); return w; };
    const released = () => { const r = new ReadableStream().getReader(); r.releaseLock(); return r; };
    const releasedW = () => { const w = new WritableStream().getWriter(); w.releaseLock(); return w; };
    return {
      getReader: await failure(() => locked().getReader()),
      cancel: await failure(() => locked().cancel()),
      pipeTo: await failure(() => locked().pipeTo(new WritableStream())),
      pipeToLockedDest: await failure(() => new ReadableStream().pipeTo(lockedW())),
      pipeToNotWritable: await failure(() => new ReadableStream().pipeTo({})),
      tee: await failure(() => locked().tee()),
      read: await failure(() => released().read()),
      closed: await failure(() => released().closed),
      byobOfDefault: await failure(() => new ReadableStream().getReader({ mode: 'byob' })),
      badMode: await failure(() => new ReadableStream().getReader({ mode: 'x' })),
      badType: await failure(() => new ReadableStream({ type: 'x' })),
      getWriter: await failure(() => lockedW().getWriter()),
      abortLocked: await failure(() => lockedW().abort()),
      writeAfterClose: await failure(() => { const w = new WritableStream().getWriter(); w.close(); return w.write('x'); }),
      write: await failure(() => releasedW().write('x')),
      desiredSize: await failure(() => releasedW().desiredSize),
      autoAllocate: await failure(() => new ReadableStream({ type: 'bytes', autoAllocateChunkSize: 0 })),
      byobEmpty: await failure(() => new ReadableStream({ type: 'bytes' }).getReader({ mode: 'byob' }).read(new Uint8Array(0))),
      byobNotView: await failure(() => new ReadableStream({ type: 'bytes' }).getReader({ mode: 'byob' }).read({})),
      respondZero: await failure(() => new ReadableStream({ type: 'bytes', pull(c) { c.byobRequest.respond(0); } })
        .getReader({ mode: 'byob' }).read(new Uint8Array(4))),
      terminated: await failure(() => { let ctl; const t = new TransformStream({ start(c) { ctl = c; } }); ctl.terminate(); return t.writable.getWriter().write('x'); }),
      readerCtor: await failure(() => new ReadableStreamDefaultReader({})),
      from: await failure(() => ReadableStream.from(1)),
      strategy: await failure(() => new CountQueuingStrategy()),
      negativeMark: await failure(() => new ReadableStream({}, { highWaterMark: -1 })),
      size: await failure(() => new ReadableStream({}, { size: 1 })),
      readableType: await failure(() => new TransformStream({ readableType: 'bytes' })),
      writableType: await failure(() => new WritableStream({ type: 'bytes' })),
      startThrows: await failure(() => new ReadableStream({ start(c) { c.close(); c.enqueue('x'); } })),
      enqueueClosed: await failure(() => { let c; new ReadableStream({ start(x) { c = x; } }); c.close(); c.enqueue('x'); }),
      closeClosed: await failure(() => { let c; new ReadableStream({ start(x) { c = x; } }); c.close(); c.close(); }),
      byteEnqueueClosed: await failure(() => { let c; new ReadableStream({ type: 'bytes', start(x) { c = x; } }); c.close(); c.enqueue(new Uint8Array(1)); }),
      byteCloseClosed: await failure(() => { let c; new ReadableStream({ type: 'bytes', start(x) { c = x; } }); c.close(); c.close(); }),
      byteEnqueueString: await failure(() => { let c; new ReadableStream({ type: 'bytes', start(x) { c = x; } }); c.enqueue('x'); }),
      byteEnqueueEmpty: await failure(() => { let c; new ReadableStream({ type: 'bytes', start(x) { c = x; } }); c.enqueue(new Uint8Array(0)); }),
      writableCloseClosed: await failure(async () => { const w = new WritableStream(); await w.close(); return w.close(); }),
      releasedWithRead: await failure(() => { const r = new ReadableStream().getReader(); const p = r.read(); r.releaseLock(); return p; }),
    };
  `);
  assert.deepEqual(result, {
    getReader: 'TypeError: This ReadableStream is currently locked to a reader.',
    cancel: 'TypeError: This ReadableStream is currently locked to a reader.',
    pipeTo: 'TypeError: This ReadableStream is currently locked to a reader.',
    pipeToLockedDest: 'TypeError: This WritableStream is currently locked to a writer',
    pipeToNotWritable: "TypeError: Failed to execute 'pipeTo' on 'ReadableStream': parameter 1 is not of type 'WritableStream'.",
    tee: 'TypeError: This ReadableStream is currently locked to a reader,',
    read: 'TypeError: This ReadableStream reader has been released.',
    closed: 'TypeError: This ReadableStream reader has been released.',
    byobOfDefault: 'TypeError: This ReadableStream does not support BYOB reads.',
    badMode: "TypeError: mode must be undefined or 'byob' in call to getReader().",
    badType: 'TypeError: "x" is not a valid type of ReadableStream.',
    getWriter: 'TypeError: This WritableStream is currently locked to a writer.',
    abortLocked: 'TypeError: This WritableStream is currently locked to a writer.',
    writeAfterClose: 'TypeError: This WritableStream has been closed.',
    write: 'TypeError: This WritableStream writer has been released.',
    desiredSize: 'TypeError: This WritableStream writer has been released.',
    autoAllocate: 'TypeError: The autoAllocateChunkSize option cannot be zero.',
    byobEmpty: 'TypeError: You must call read() on a "byob" reader with a positive-sized TypedArray object.',
    byobNotView: "TypeError: Failed to execute 'read' on 'ReadableStreamBYOBReader': parameter 1 is not of type 'ArrayBufferView'.",
    respondZero: 'TypeError: The bytesWritten must be more than zero while the stream is open.',
    terminated: 'TypeError: The transform stream has been terminated',
    readerCtor: "TypeError: Failed to construct 'ReadableStreamDefaultReader': constructor parameter 1 is not of type 'ReadableStream'.",
    from: "TypeError: Failed to execute 'from' on 'ReadableStream': parameter 1 is not of type 'AsyncGenerator'.",
    strategy: "TypeError: Failed to construct 'CountQueuingStrategy': constructor parameter 1 is not of type 'QueuingStrategyInit'.",
    negativeMark: 'TypeError: The value cannot be converted because it is negative and this API expects a positive bigint.',
    size: "TypeError: Incorrect type for the 'size' field on 'StreamQueuingStrategy': the provided value is not of type 'function'.",
    readableType: 'TypeError: transformer.readableType must be undefined.',
    writableType: 'ok',
    startThrows: 'ok',
    enqueueClosed: 'TypeError: Unable to enqueue',
    closeClosed: 'TypeError: This ReadableStream is closed.',
    byteEnqueueClosed: 'TypeError: This ReadableByteStreamController is closed.',
    byteCloseClosed: 'TypeError: This ReadableStream is closed.',
    byteEnqueueString: "TypeError: Failed to execute 'enqueue' on 'ReadableByteStreamController': parameter 1 is not of type 'BufferSource'.",
    byteEnqueueEmpty: 'TypeError: Cannot enqueue a zero-length ArrayBuffer.',
    writableCloseClosed: 'TypeError: This WritableStream has been closed.',
    releasedWithRead: 'TypeError: This ReadableStream reader has been released.',
  });
});

test('reading: default and BYOB readers, tee, async iteration, from, cancel', async () => {
  const result = await runAsync(`
    const letters = () => new ReadableStream({ start(c) { c.enqueue('a'); c.enqueue('b'); c.close(); } });
    const iterated = [];
    for await (const x of letters()) iterated.push(x);
    const [left, right] = letters().tee();
    const fromIterable = [];
    for await (const x of ReadableStream.from((function* () { yield 1; yield 2; })())) fromIterable.push(x);
    for await (const x of ReadableStream.from((async function* () { yield 'x'; })())) fromIterable.push(x);
    for await (const x of ReadableStream.from('yz')) fromIterable.push(x);
    let cancelReason;
    await new ReadableStream({ cancel(r) { cancelReason = r; } }).cancel('why');
    const broken = await new ReadableStream({ start(c) { c.error(new RangeError('bad')); } }).getReader().read()
      .then(() => 'ok', (e) => e.constructor.name + ': ' + e.message);
    const byte = new ReadableStream({ type: 'bytes', pull(c) { const v = c.byobRequest.view; v[0] = 7; v[1] = 8; c.byobRequest.respond(2); } });
    const byob = await byte.getReader({ mode: 'byob' }).read(new Uint8Array(4));
    const early = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); } });
    for await (const x of early) break;
    const kept = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); } });
    for await (const x of kept.values({ preventCancel: true })) break;
    return {
      iterated,
      tee: [(await left.getReader().read()).value, (await right.getReader().read()).value],
      fromIterable,
      cancelReason,
      broken,
      byob: [byob.done, Array.from(byob.value), byob.value.buffer.byteLength],
      unlockedAfterBreak: early.locked,
      afterPreventCancel: (await kept.getReader().read()).value,
    };
  `);
  assert.deepEqual(result, {
    iterated: ['a', 'b'],
    tee: ['a', 'a'],
    fromIterable: [1, 2, 'x', 'y', 'z'],
    cancelReason: 'why',
    broken: 'RangeError: bad',
    byob: [false, [7, 8], 4],
    unlockedAfterBreak: false,
    afterPreventCancel: 2,
  });
});

test('backpressure: desiredSize and pulls follow the high-water mark', async () => {
  const result = await runAsync(`
    const writer = new WritableStream({ write() { return new Promise(() => {}); } }, { highWaterMark: 2 }).getWriter();
    const sizes = [writer.desiredSize];
    for (const chunk of ['a', 'b', 'c']) { writer.write(chunk); sizes.push(writer.desiredSize); }
    let pulls = 0;
    new ReadableStream({ pull(c) { pulls++; c.enqueue(pulls); } }, { highWaterMark: 3 });
    await settle();
    let controller;
    new ReadableStream({ start(c) { controller = c; } }, new CountQueuingStrategy({ highWaterMark: 3 }));
    controller.enqueue('x');
    const bytes = new ByteLengthQueuingStrategy({ highWaterMark: 5 });
    // A slow sink: a pipe does not read faster than the sink takes.
    const taken = [];
    let release;
    const sink = new WritableStream({ write(chunk) { taken.push(chunk); return new Promise((r) => { release = r; }); } }, { highWaterMark: 1 });
    let produced = 0;
    const source = new ReadableStream({ pull(c) { produced++; c.enqueue(produced); if (produced === 5) c.close(); } }, { highWaterMark: 1 });
    const piped = source.pipeTo(sink);
    await settle();
    const whileBlocked = [taken.length, produced];
    for (let i = 0; i < 5; i++) { release(); await settle(); }
    await piped;
    return { sizes, pulls, desired: controller.desiredSize, byteSize: bytes.size(new Uint8Array(3)), whileBlocked, taken };
  `);
  assert.deepEqual(result.sizes, [2, 1, 0, -1]);
  assert.equal(result.pulls, 3);
  assert.equal(result.desired, 2);
  assert.equal(result.byteSize, 3);
  // One chunk in the sink, one queued in the writable, one in the readable: the source waits.
  assert.ok(result.whileBlocked[1] <= 4, `source ran ahead: ${result.whileBlocked}`);
  assert.equal(result.whileBlocked[0], 1);
  assert.deepEqual(result.taken, [1, 2, 3, 4, 5]);
});

test('TransformStream pipelines and the encoding streams', async () => {
  const result = await runAsync(`
    const upper = new TransformStream({ transform(chunk, c) { c.enqueue(chunk.toUpperCase()); } });
    const out = [];
    for await (const x of ReadableStream.from(['a', 'b']).pipeThrough(upper)) out.push(x);
    const text = await new Response(ReadableStream.from(['hé', '\\ud83d', '\\ude00'])
      .pipeThrough(new TextEncoderStream())).arrayBuffer();
    const decoded = [];
    const dec = new TextDecoderStream();
    const w = dec.writable.getWriter();
    w.write(new Uint8Array([104, 0xc3])); w.write(new Uint8Array([0xa9])); w.close();
    for await (const x of dec.readable) decoded.push(x);
    const fatal = new TextDecoderStream('utf-8', { fatal: true });
    fatal.writable.getWriter().write(new Uint8Array([0xff])).catch(() => {});
    return {
      out,
      encoded: Array.from(new Uint8Array(text)),
      decoded,
      props: [fatal.encoding, fatal.fatal, fatal.ignoreBOM, new TextEncoderStream().encoding],
      fatal: await fatal.readable.getReader().read().then(() => 'ok', (e) => e.constructor.name + ': ' + e.message),
    };
  `);
  assert.deepEqual(result, {
    out: ['A', 'B'],
    encoded: [104, 195, 169, 240, 159, 152, 128],
    decoded: ['h', 'é'],
    props: ['utf-8', true, false, 'utf-8'],
    fatal: 'TypeError: Failed to decode input.',
  });
});

test('IdentityTransformStream: bytes pass unchanged, a write waits for its read', async () => {
  const result = await runAsync(`
    const t = new IdentityTransformStream();
    const w = t.writable.getWriter();
    let written = false;
    w.write(new Uint8Array([1, 2, 3])).then(() => { written = true; });
    await settle();
    const before = written;
    const reader = t.readable.getReader({ mode: 'byob' });
    const a = await reader.read(new Uint8Array(2));
    await settle();
    const b = await reader.read(new Uint8Array(2));
    w.close();
    const c = await reader.read(new Uint8Array(2));
    const notBytes = new IdentityTransformStream();
    const nw = notBytes.writable.getWriter();
    const pendingWrite = nw.write('abc').then(() => 'ok', (e) => e.message);
    const readError = await notBytes.readable.getReader().read().then(() => 'ok', (e) => e.message);
    const cancelled = new IdentityTransformStream();
    const cw = cancelled.writable.getWriter();
    await cancelled.readable.cancel(new Error('stop'));
    return {
      before, after: written, a: Array.from(a.value), b: Array.from(b.value), done: c.done,
      readError, writeError: await pendingWrite,
      afterCancel: await cw.write(new Uint8Array([1])).then(() => 'ok', (e) => e.message),
    };
  `);
  assert.deepEqual(result, {
    before: false, after: true, a: [1, 2], b: [3], done: true,
    readError: 'This TransformStream is being used as a byte stream, but received an object of non-ArrayBuffer/ArrayBufferView type on its writable side.',
    writeError: 'This TransformStream is being used as a byte stream, but received an object of non-ArrayBuffer/ArrayBufferView type on its writable side.',
    afterCancel: 'stop',
  });
});

test('FixedLengthStream checks its length', async () => {
  const result = await runAsync(`
    const exact = new FixedLengthStream(3);
    const w = exact.writable.getWriter();
    w.write(new Uint8Array([1, 2])); w.write(new Uint8Array([3])); w.close();
    const few = new FixedLengthStream(2);
    const fw = few.writable.getWriter();
    fw.write(new Uint8Array([1]));
    const fewText = new Response(few.readable).text();
    const fewClose = await fw.close().then(() => 'ok', (e) => e.message);
    const many = new FixedLengthStream(1);
    const mw = many.writable.getWriter();
    const manyWrite = mw.write(new Uint8Array([1, 2])).then(() => 'ok', (e) => e.message);
    const manyRead = await many.readable.getReader().read().then(() => 'ok', (e) => e.message);
    return {
      exact: Array.from(new Uint8Array(await new Response(exact.readable).arrayBuffer())),
      fewClose, fewText: await fewText.then(() => 'ok', (e) => e.message),
      manyRead, manyWrite: await manyWrite,
      missing: await failure(() => new FixedLengthStream()),
      negative: await failure(() => new FixedLengthStream(-1)),
      huge: await failure(() => new FixedLengthStream(2 ** 53)),
      bigint: await failure(() => new FixedLengthStream(3n)),
    };
  `);
  assert.deepEqual(result, {
    exact: [1, 2, 3],
    fewClose: 'FixedLengthStream did not see all expected bytes before close().',
    fewText: 'FixedLengthStream did not see all expected bytes before close().',
    manyRead: 'Attempt to write too many bytes through a FixedLengthStream.',
    manyWrite: 'Attempt to write too many bytes through a FixedLengthStream.',
    missing: "TypeError: Failed to construct 'FixedLengthStream': constructor parameter 1 is not of type 'bigint'.",
    negative: 'TypeError: The value cannot be converted because it is negative and this API expects a positive bigint.',
    huge: 'TypeError: FixedLengthStream requires an integer expected length less than 2^53.',
    bigint: 'ok',
  });
});

test('bodies: string and bytes bodies make no stream until `body` is read; `body` is a byte stream', async () => {
  const result = await runAsync(`
    const r = new Response('abc');
    const reader = r.body.getReader({ mode: 'byob' });
    const first = await reader.read(new Uint8Array(2));
    const second = await reader.read(new Uint8Array(2));
    const fetched = [];
    for await (const chunk of new Response('hello').body) fetched.push(Object.prototype.toString.call(chunk), chunk.byteLength);
    const read = new Response('xyz');
    await read.text();
    return {
      same: r.body === r.body,
      first: Array.from(first.value), second: Array.from(second.value),
      fetched,
      afterText: [read.body.locked, read.bodyUsed],
      nullBodies: [new Request('http://x/').body, new Response(null).body],
    };
  `);
  assert.deepEqual(result, {
    same: true, first: [97, 98], second: [99], fetched: ['[object Uint8Array]', 5],
    afterText: [true, true], nullBodies: [null, null],
  });
});

test('bodies: a ReadableStream as the body of a Response or Request', async () => {
  const result = await runAsync(`
    const enc = new TextEncoder();
    const stream = () => new ReadableStream({ start(c) { c.enqueue(enc.encode('he')); c.enqueue(new Uint8Array([108, 108, 111]).buffer); c.close(); } });
    const s = new ReadableStream();
    const identity = new Response(s);
    const r = new Response(stream());
    const pending = r.text();
    const usedWhileReading = r.bodyUsed;
    const text = await pending;
    const request = new Request('http://x/', { method: 'POST', body: stream() });
    const disturbed = new ReadableStream({ start(c) { c.enqueue(new Uint8Array(1)); } });
    const dr = disturbed.getReader(); await dr.read(); dr.releaseLock();
    const lockedStream = new ReadableStream({ start(c) { c.close(); } });
    lockedStream.getReader();
    const cloned = new Response(stream());
    const copy = cloned.clone();
    return {
      identity: [identity.body === s, s.locked, identity.headers.get('content-type')],
      text, usedWhileReading, usedAfter: r.bodyUsed, unlockedAfter: r.body.locked,
      request: [await request.text(), request.bodyUsed],
      json: await new Response(ReadableStream.from([enc.encode('{"a":'), enc.encode('1}')])).json(),
      bytes: Array.from(await new Response(stream()).bytes()),
      notBytes: await failure(() => new Response(new ReadableStream({ start(c) { c.enqueue('he'); c.close(); } })).text()),
      errored: await failure(() => new Response(new ReadableStream({ start(c) { c.error(new RangeError('boom')); } })).text()),
      disturbed: await failure(() => new Response(disturbed)),
      locked: await failure(() => new Response(lockedStream).text()),
      getBody: await failure(() => new Request('http://x/', { body: new ReadableStream() })),
      clone: [await cloned.text(), await copy.text()],
    };
  `);
  assert.deepEqual(result, {
    identity: [true, false, null],
    text: 'hello', usedWhileReading: true, usedAfter: true, unlockedAfter: false,
    request: ['hello', true],
    json: { a: 1 },
    bytes: [104, 101, 108, 108, 111],
    notBytes: 'TypeError: This ReadableStream did not return bytes.',
    errored: 'RangeError: boom',
    disturbed: 'TypeError: This ReadableStream is disturbed (has already been read from), and cannot be used as a body.',
    locked: 'TypeError: This ReadableStream is currently locked to a reader.',
    getBody: 'TypeError: Request with a GET or HEAD method cannot have a body.',
    clone: ['hello', 'hello'],
  });
});

test('bodies: used and locked bodies give workerd\'s errors', async () => {
  const result = await runAsync(`
    const lockedBody = () => { const r = new Response('abc'); r.body.getReader(); return r; };
    const usedBody = async () => { const r = new Response('abc'); await r.text(); return r; };
    const post = (body) => new Request('http://x/', { method: 'POST', body });
    const afterRead = new Response('abc');
    const rd = afterRead.body.getReader();
    const usedAfterGetReader = afterRead.bodyUsed;
    await rd.read();
    const takes = post('x');
    const taken = new Request(takes);
    const usedReq = post('x'); await usedReq.text();
    const lockedReq = post('x'); lockedReq.body.getReader();
    const streamTwice = new Response(new ReadableStream({ start(c) { c.close(); } }));
    streamTwice.text();
    const shared = new ReadableStream({ start(c) { c.enqueue(new Uint8Array([65])); c.close(); } });
    const a = new Response(shared); const b = new Response(shared);
    return {
      lockedText: await failure(() => lockedBody().text()),
      usedText: await failure(async () => (await usedBody()).text()),
      streamTwice: await failure(() => streamTwice.text()),
      usedFlags: [usedAfterGetReader, afterRead.bodyUsed],
      cloneLocked: await failure(() => lockedBody().clone()),
      cloneUsed: await failure(async () => (await usedBody()).clone()),
      requestCloneLocked: await failure(() => { const r = post('a'); r.body.getReader(); return r.clone(); }),
      taken: [takes.bodyUsed, await taken.text(), takes.body === null],
      fromUsed: await failure(() => new Request(usedReq)),
      fromLocked: await failure(() => new Request(lockedReq)),
      shared: [await a.text(), await failure(() => b.text())],
    };
  `);
  const used = 'TypeError: Body has already been used. It can only be used once. Use tee() first if you need to read it twice.';
  assert.deepEqual(result, {
    lockedText: 'TypeError: This ReadableStream is currently locked to a reader.',
    usedText: used,
    streamTwice: used,
    usedFlags: [false, true],
    cloneLocked: 'TypeError: This ReadableStream is currently locked to a reader,',
    cloneUsed: 'TypeError: This ReadableStream is currently locked to a reader,',
    requestCloneLocked: 'TypeError: This ReadableStream is currently locked to a reader,',
    taken: [true, 'x', false],
    fromUsed: 'TypeError: Cannot reconstruct a Request with a used body.',
    fromLocked: 'TypeError: The ReadableStream has been locked to a reader.',
    shared: ['A', used],
  });
});

test('the host boundary: a stream body is read to its end before responseParts', async () => {
  const hooks = rt.context.__dormPreludeHooks;
  const parts = async (code) => {
    const response = rt.run(code);
    const pending = hooks.bufferResponseBody(response);
    if (pending !== null) await pending;
    const [status, , body] = rt.internals.responseParts(response, (...args) => args);
    return [status, typeof body === 'string' ? body : Buffer.from(body).toString()];
  };
  assert.equal(hooks.bufferResponseBody(rt.run(`new Response('plain')`)), null);
  assert.equal(hooks.bufferResponseBody(rt.run(`new Response(null)`)), null);
  assert.equal(hooks.bufferResponseBody({}), null);
  assert.deepEqual(await parts(`new Response('plain', { status: 201 })`), [201, 'plain']);
  assert.deepEqual(await parts(`new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('a')); c.enqueue(new Uint8Array([98])); c.close(); } }))`), [200, 'ab']);
  // workerd's server takes strings from a stream too, as UTF-8.
  assert.deepEqual(await parts(`new Response(ReadableStream.from(['str', 'é']))`), [200, 'stré']);
  assert.deepEqual(await parts(`(() => { const t = new TransformStream(); const w = t.writable.getWriter(); w.write(new Uint8Array([120])); w.close(); return new Response(t.readable); })()`), [200, 'x']);
  // A buffered body whose `body` was read goes through its stream.
  assert.deepEqual(await parts(`(() => { const r = new Response('seen'); r.body; return r; })()`), [200, 'seen']);
  const rejection = (code) => hooks.bufferResponseBody(rt.run(code)).then(() => 'ok', (e) => `${e.name}: ${e.message}`);
  assert.equal(await rejection(`new Response(new ReadableStream({ start(c) { c.error(new Error('boom')); } }))`), 'Error: boom');
  assert.equal(await rejection(`(() => { const r = new Response('abc'); r.body.getReader(); return r; })()`),
    'TypeError: The ReadableStream has been locked to a reader.');
  assert.equal(await rejection(`(() => { const r = new Response('abc'); const rd = r.body.getReader(); rd.read(); rd.releaseLock(); return r; })()`),
    'TypeError: Body has already been used. It can only be used once. Use tee() first if you need to read it twice.');
});

test('console.log shows streams as workerd does, not the library\'s fields', () => {
  const logged = createRuntime();
  logged.run(`
    console.log(new ReadableStream());
    console.log(new Response('x').body);
    console.log(new WritableStream());
    console.log(new ReadableStream().getReader());
  `);
  const messages = logged.messages();
  // Under Node's test runner, promises carry async-hook symbols that the console shows.
  assert.match(messages.pop(), /^ReadableStreamDefaultReader \{\s+closed: Promise \{/);
  assert.deepEqual(messages, [
    'ReadableStream {\n  locked: false,\n  [state]: \'readable\',\n  [supportsBYOB]: false,\n  [length]: undefined\n}',
    'ReadableStream {\n  locked: false,\n  [state]: \'readable\',\n  [supportsBYOB]: true,\n  [length]: 1n\n}',
    "WritableStream { locked: false, [state]: 'writable', [expectsBytes]: false }",
  ]);
});

test('streams, readers, writers and controllers show no state of their own, as workerd\'s', async () => {
  const result = await runAsync(`
    const seen = [];
    const look = (label, o) => {
      const spread = { ...o };
      const forIn = [];
      for (const k in o) if (Object.hasOwn(o, k)) forIn.push(k);
      seen.push([label, Object.keys(o).concat(Object.keys(spread), forIn).join(','), JSON.stringify(o)]);
    };
    let rc;
    const rs = new ReadableStream({ start(c) { rc = c; look('controller in start', c); c.enqueue('a'); }, pull(c) { look('controller in pull', c); } });
    look('readable', rs); look('controller', rc);
    const reader = rs.getReader(); look('reader', reader);
    await reader.read(); reader.releaseLock(); look('released reader', reader); look('readable read', rs);
    for (const branch of rs.tee()) look('branch', branch);
    let bc;
    const bytes = new ReadableStream({ type: 'bytes', start(c) { bc = c; }, pull(c) { look('byobRequest', c.byobRequest); c.byobRequest.view[0] = 7; c.byobRequest.respond(1); } });
    const byob = bytes.getReader({ mode: 'byob' }); look('byob reader', byob);
    await byob.read(new Uint8Array(4)); look('byte controller', bc); look('byte stream', bytes);
    let wc;
    const ws = new WritableStream({ start(c) { wc = c; }, write() {} });
    const writer = ws.getWriter(); look('writer', writer);
    await writer.write('x'); await writer.close(); look('writable', ws); look('writable controller', wc); look('closed writer', writer);
    let tc;
    const ts = new TransformStream({ start(c) { tc = c; }, transform(chunk, c) { c.enqueue(chunk); } });
    look('transform', ts); look('transform controller', tc); look('transform readable', ts.readable); look('transform writable', ts.writable);
    const from = ReadableStream.from(['x']); look('from', from);
    await from.pipeTo(new WritableStream()); look('piped', from);
    const through = new ReadableStream().pipeThrough(new TransformStream()); look('piped through', through);
    const errored = new ReadableStream({ start(c) { c.error(new Error('x')); } });
    await errored.getReader().read().catch(() => {}); look('errored', errored);
    const aborted = new WritableStream(); await aborted.getWriter().abort('r'); look('aborted', aborted);
    look('response body', new Response('x').body);
    look('identity', new IdentityTransformStream()); look('fixed', new FixedLengthStream(1));
    look('encoder stream', new TextEncoderStream()); look('decoder stream', new TextDecoderStream());
    look('count strategy', new CountQueuingStrategy({ highWaterMark: 1 }));
    look('byte length strategy', new ByteLengthQueuingStrategy({ highWaterMark: 1 }));
    class Mine extends ReadableStream {}
    look('subclass', new Mine());
    return {
      seen,
      // The state is still there for the prelude, under its names.
      state: [rs._state, ws._state, errored._state, typeof reader._readRequests],
      brand: await failure(() => ReadableStream.prototype.getReader.call(Object.create(ReadableStream.prototype))),
      chain: [ReadableStream, ReadableStreamDefaultReader, ReadableStreamBYOBReader, WritableStream,
        WritableStreamDefaultWriter, TransformStream].map((c) => Object.getPrototypeOf(c.prototype) === Object.prototype),
    };
  `);
  for (const [label, keys, json] of result.seen) {
    assert.deepEqual([label, keys, json], [label, '', '{}']);
  }
  assert.ok(result.seen.length >= 31, 'every object was looked at');
  assert.deepEqual(result.state, ['readable', 'closed', 'errored', 'object']);
  assert.match(result.brand, /^TypeError: /);
  assert.deepEqual(result.chain, [true, true, true, true, true, true]);
});

test('BYOB readAtLeast() and a request\'s atLeast, as workerd\'s', async () => {
  const result = await runAsync(`
    let requests = [];
    let stale;
    const bytes = (n) => new ReadableStream({ type: 'bytes', pull(c) {
      const r = c.byobRequest;
      stale = r;
      requests.push([r.atLeast, r.view.byteLength]);
      if (n-- <= 0) { c.close(); r.respond(0); return; }
      r.view[0] = 1;
      r.respond(1);
    } });
    const reader = (n = 10) => bytes(n).getReader({ mode: 'byob' });
    const out = {};
    const value = async (fn) => {
      try { return await fn(); } catch (e) { return e.constructor.name + ': ' + e.message; }
    };
    out.u8 = await value(async () => { const x = await reader().readAtLeast(3, new Uint8Array(8)); return [x.done, x.value.constructor.name, x.value.byteLength, x.value.buffer.byteLength]; });
    out.u8requests = requests; requests = [];
    out.u16 = await value(async () => { const x = await reader().readAtLeast(2, new Uint16Array(4)); return [x.value.length]; });
    out.u16requests = requests; requests = [];
    out.stale = stale.atLeast;
    out.read = await value(async () => { await reader().read(new Uint32Array(2)); return requests; });
    requests = [];
    out.dataView = await value(async () => (await reader().readAtLeast(2, new DataView(new ArrayBuffer(4)))).value.constructor.name);
    out.fraction = await value(async () => (await reader().readAtLeast(2.7, new Uint8Array(4))).value.byteLength);
    for (const [k, args] of Object.entries({
      zero: [0, new Uint8Array(8)], tooMany: [9, new Uint8Array(8)], elementsTooMany: [5, new Uint16Array(4)],
      negative: [-1, new Uint8Array(8)], noView: [1], noArgs: [], notView: [1, 5], nan: [NaN, new Uint8Array(4)],
      object: [{}, new Uint8Array(4)], big: [2 ** 33, new Uint8Array(4)], empty: [0, new Uint8Array(0)],
    })) {
      out[k] = await failure(() => reader().readAtLeast(...args));
    }
    out.released = await failure(() => { const r = reader(); r.releaseLock(); return r.readAtLeast(1, new Uint8Array(2)); });
    out.onDefault = await failure(() => ReadableStreamBYOBReader.prototype.readAtLeast.call(new ReadableStream().getReader(), 1, new Uint8Array(2)));
    out.atLeastOnOther = await failure(() => Object.getOwnPropertyDescriptor(ReadableStreamBYOBRequest.prototype, 'atLeast').get.call({}));
    const d = Object.getOwnPropertyDescriptor(ReadableStreamBYOBReader.prototype, 'readAtLeast');
    out.descriptor = [d.value.name, d.value.length, d.enumerable, d.writable, d.configurable];
    const g = Object.getOwnPropertyDescriptor(ReadableStreamBYOBRequest.prototype, 'atLeast');
    out.getter = [typeof g.get, typeof g.set, g.enumerable, g.configurable];
    out.abortReason = 'abortReason' in Object.create(WritableStreamDefaultController.prototype);
    return out;
  `);
  // workerd's answers.
  const illegal = 'TypeError: Illegal invocation: function called with incorrect `this` reference. See https://developers.cloudflare.com/workers/observability/errors/#illegal-invocation-errors for details.';
  assert.deepEqual(result, {
    u8: [false, 'Uint8Array', 3, 8],
    u8requests: [[3, 8], [2, 7], [1, 6]],
    u16: [2],
    u16requests: [[4, 8], [3, 7], [2, 6], [1, 5]],
    stale: null,
    read: [[4, 8], [3, 7], [2, 6], [1, 5]],
    dataView: 'DataView',
    fraction: 2,
    zero: 'TypeError: Requested invalid minimum number of bytes to read (0).',
    tooMany: 'TypeError: Minimum bytes to read (9) exceeds size of buffer (8).',
    elementsTooMany: 'TypeError: Minimum bytes to read (10) exceeds size of buffer (8).',
    negative: 'TypeError: Minimum bytes to read (18446744073709551615) exceeds size of buffer (8).',
    noView: "TypeError: Failed to execute 'readAtLeast' on 'ReadableStreamBYOBReader': parameter 2 is not of type 'ArrayBufferView'.",
    noArgs: "TypeError: Failed to execute 'readAtLeast' on 'ReadableStreamBYOBReader': parameter 1 is not of type 'integer'.",
    notView: "TypeError: Failed to execute 'readAtLeast' on 'ReadableStreamBYOBReader': parameter 2 is not of type 'ArrayBufferView'.",
    nan: 'TypeError: Requested invalid minimum number of bytes to read (0).',
    object: 'TypeError: Requested invalid minimum number of bytes to read (0).',
    big: 'TypeError: Value out of range. Must be between -2147483648 and 2147483647 (inclusive).',
    empty: 'TypeError: You must call read() on a "byob" reader with a positive-sized TypedArray object.',
    released: 'TypeError: This ReadableStream reader has been released.',
    onDefault: illegal,
    atLeastOnOther: illegal,
    descriptor: ['readAtLeast', 0, true, true, true],
    getter: ['function', 'undefined', true, true],
    abortReason: false,
  });
});
