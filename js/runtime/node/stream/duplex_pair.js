// duplexPair(options): two Duplex streams joined back to back, what one side writes the other
// reads. A side's write completes when the other side's reader asks for more, so that the
// writer sees the reader's backpressure; ending one side ends the other's readable half.
import Stream from 'readable-stream/lib/stream.js';

const { Duplex } = Stream;

class DuplexSide extends Duplex {
  constructor(options) {
    super(options);
    this.peer = null;
    this.pendingWrite = null;
  }

  _read() {
    const pending = this.pendingWrite;
    if (pending !== null) {
      this.pendingWrite = null;
      pending();
    }
  }

  _write(chunk, encoding, callback) {
    if (chunk.length === 0) {
      queueMicrotask(callback);
      return;
    }
    this.peer.pendingWrite = callback;
    this.peer.push(chunk);
  }

  _final(callback) {
    this.peer.on('end', callback);
    this.peer.push(null);
  }
}

export function duplexPair(options) {
  const first = new DuplexSide(options);
  const second = new DuplexSide(options);
  first.peer = second;
  second.peer = first;
  return [first, second];
}
