// EventSource, as workerd has it: `new EventSource(url, {withCredentials?, fetcher?})` reads a
// text/event-stream response through fetch() (or the fetcher's fetch()), dispatching open,
// message (or named) and error events, and reconnects after the server disconnects (waiting the
// stream's `retry:` time, clamped to 1-10 s, and sending Last-Event-ID); `EventSource.from()`
// reads a ReadableStream once, without reconnecting. The stream is parsed as workerd's parser does
// (EventStreamParser below): a BOM only at the very start, CR, LF and CRLF line ends (a CR that
// ends one chunk and an LF that starts the next are two line ends), `data:` lines joined by LF,
// `id:` taken as it is, `retry:` only when it is a whole unsigned 32-bit number, comments ignored.
import { AbortController } from './abort.js';
import { makeDOMException } from './dom_exception.js';
import { Event, EventTarget, defineEventHandler, dispatchTrustedEvent } from './event_target.js';
import { fetch } from './fetch.js';
import { Headers } from './headers.js';
import { essence, parseMimeType } from './mime_type.js';
import { isDisturbed, isReadableStream } from './streams.js';
import { clearTimeout, setTimeout } from './timers.js';
import { parseAbsoluteURL, resolveURL } from './url.js';
import { ErrorEvent, createEventSourceMessageEvent } from './web_socket.js';
import { defineInterface, isObject, requireArgs, toDictionary, toUSVString } from './webidl.js';
import { refuseClone } from './host_object.js';

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
const DEFAULT_RECONNECTION_MS = 2000;
const MIN_RECONNECTION_MS = 1000;
const MAX_RECONNECTION_MS = 10000;
// A line longer than this fails the stream: an event stream is lines, and one that never ends a
// line would otherwise be held without bound.
const MAX_LINE_BYTES = 16 << 20;

const utf8 = new TextDecoder();

function sameBytes(bytes, text) {
  if (bytes.length !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}

// The event-stream format, fed bytes as they come: feed() returns the messages its bytes
// completed, each { type, data, id } (type null for "message"). `onId(id)` and `onRetry(ms)` are
// told of the fields as they are parsed; `lastEventId()` gives the id a completed message takes.
export class EventStreamParser {
  #kept = [];
  #keptBytes = 0;
  #bomChecked = false;
  #current = null;
  #hooks;

  constructor(hooks) {
    this.#hooks = hooks;
  }

  feed(chunk) {
    let input = chunk;
    if (!this.#bomChecked) {
      this.#bomChecked = true;
      if (input.length >= 3 && input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) {
        input = input.subarray(3);
      }
    }
    const messages = [];
    let start = 0;
    while (start < input.length) {
      let pos = start;
      while (pos < input.length && input[pos] !== 0x0a && input[pos] !== 0x0d) pos++;
      if (pos === input.length) {
        this.#keptBytes += input.length - start;
        if (this.#keptBytes > MAX_LINE_BYTES) throw new TypeError('An event stream line is too long.');
        this.#kept.push(input.slice(start));
        break;
      }
      let line = input.subarray(start, pos);
      if (this.#kept.length > 0) {
        const joined = new Uint8Array(this.#keptBytes + line.length);
        let offset = 0;
        for (const part of this.#kept) {
          joined.set(part, offset);
          offset += part.length;
        }
        joined.set(line, offset);
        line = joined;
        this.#kept = [];
        this.#keptBytes = 0;
      }
      const crlf = input[pos] === 0x0d && pos + 1 < input.length && input[pos + 1] === 0x0a;
      start = pos + (crlf ? 2 : 1);
      this.#line(line, messages);
    }
    return messages;
  }

  // The stream ended or failed: a partial line or message is dropped.
  clear() {
    this.#kept = [];
    this.#keptBytes = 0;
    this.#current = null;
  }

  #line(line, messages) {
    if (line.length === 0) {
      if (this.#current !== null) {
        this.#current.id = this.#hooks.lastEventId();
        messages.push(this.#current);
        this.#current = null;
      }
      return;
    }
    if (line[0] === 0x3a) return;  // a comment
    const colon = line.indexOf(0x3a);
    const field = colon < 0 ? line : line.subarray(0, colon);
    let value = colon < 0 ? line.subarray(line.length) : line.subarray(colon + 1);
    if (value.length > 0 && value[0] === 0x20) value = value.subarray(1);
    if (this.#current === null) this.#current = { type: null, data: [], id: '' };
    if (sameBytes(field, 'data')) {
      this.#current.data.push(utf8.decode(value));
    } else if (sameBytes(field, 'event')) {
      this.#current.type = utf8.decode(value);
    } else if (sameBytes(field, 'id')) {
      this.#hooks.onId(utf8.decode(value));
    } else if (sameBytes(field, 'retry')) {
      const text = utf8.decode(value);
      if (/^[0-9]+$/.test(text) && Number(text) <= 0xffffffff) this.#hooks.onRetry(Number(text));
    }
  }
}

const fromToken = Symbol('EventSource.from');

// workerd's open events are of a class of their own (not a global).
class OpenEvent extends Event {
  constructor() {
    super('open');
  }
}

export class EventSource extends EventTarget {
  #url = null;
  #fetcher = null;
  #readyState = CONNECTING;
  #lastEventId = '';
  #reconnectionMs = DEFAULT_RECONNECTION_MS;
  #controller = new AbortController();
  #closeCalled = false;
  #previousNoBody = false;

  constructor(url, init = undefined) {
    if (url === fromToken) {
      super();
      return;
    }
    requireArgs(arguments.length, 1, "Failed to construct 'EventSource'");
    const text = toUSVString(url);
    const dict = toDictionary(init, "Failed to construct 'EventSource'");
    super();
    if (dict.withCredentials !== undefined && dict.withCredentials) {
      throw makeDOMException('The init.withCredentials option is not supported. It must be false or undefined.', 'NotSupportedError');
    }
    const parsed = parseAbsoluteURL(text);
    if (parsed === null) {
      throw makeDOMException(`Cannot open an EventSource to '${text}'. The URL is invalid.`, 'SyntaxError');
    }
    if (dict.fetcher !== undefined && dict.fetcher !== null) {
      if (!isObject(dict.fetcher) || typeof dict.fetcher.fetch !== 'function') {
        throw new TypeError("Failed to construct 'EventSource': init.fetcher must be a Fetcher.");
      }
      this.#fetcher = dict.fetcher;
    }
    this.#url = parsed.href;
    this.#start();
  }

  static from(readable) {
    requireArgs(arguments.length, 1, "Failed to execute 'from' on 'EventSource'");
    if (!isReadableStream(readable)) {
      throw new TypeError("Failed to execute 'from' on 'EventSource': parameter 1 is not of type 'ReadableStream'.");
    }
    if (readable.locked) throw new TypeError('This ReadableStream is locked.');
    if (isDisturbed(readable)) throw new TypeError('This ReadableStream has already been read from.');
    const source = new EventSource(fromToken);
    source.#run(readable, false);
    return source;
  }

  get url() {
    return this.#url ?? '';
  }

  get withCredentials() {
    return false;
  }

  get readyState() {
    return this.#readyState;
  }

  close() {
    if (this.#closeCalled) return;
    this.#closeCalled = true;
    this.#controller.abort();
    this.#readyState = CLOSED;
  }

  // V8 10.2 has no Symbol.dispose: the runtime defines it as this registered symbol
  // (js/runtime/rpc_values.js), after the prelude has run.
  [Symbol.dispose ?? Symbol.for('Symbol.dispose')]() {
    this.close();
  }

  #notifyError(error, reconnecting = false) {
    if (this.#readyState === CLOSED) return;
    this.#controller.abort(error);
    this.#readyState = reconnecting ? CONNECTING : CLOSED;
    dispatchTrustedEvent(this, new ErrorEvent('error', { error }), false);
  }

  #notifyOpen() {
    if (this.#readyState === CLOSED) return;
    this.#readyState = OPEN;
    dispatchTrustedEvent(this, new OpenEvent(), false);
  }

  #notifyMessages(messages) {
    if (this.#readyState === CLOSED) return;
    const origin = this.#url === null ? undefined : resolveURL(this.#url, this.#url)?.origin;
    try {
      for (const message of messages) {
        const data = message.data.join('\n');
        if (data.length === 0) continue;
        const event = createEventSourceMessageEvent(message.type ?? 'message', data, message.id, origin);
        // A listener's exception ends the stream, as workerd's dispatch lets it through.
        dispatchTrustedEvent(this, event, true);
        if (this.#readyState === CLOSED) return;
      }
    } catch (error) {
      this.#notifyError(error);
    }
  }

  #abortError(message) {
    this.#notifyError(makeDOMException(message, 'AbortError'));
  }

  #start() {
    if (this.#readyState === CLOSED) return;
    const headers = new Headers();
    headers.set('accept', 'text/event-stream');
    headers.set('cache-control', 'no-cache');
    if (this.#lastEventId !== '') headers.set('last-event-id', this.#lastEventId);
    const init = { headers, signal: this.#controller.signal };
    let pending;
    try {
      pending = this.#fetcher === null ? fetch(this.#url, init) : this.#fetcher.fetch(this.#url, init);
    } catch (error) {
      pending = Promise.reject(error);
    }
    Promise.resolve(pending).then((response) => this.#opened(response), (error) => this.#notifyError(error));
  }

  #opened(response) {
    if (this.#readyState === CLOSED) return;
    if (!response.ok) {
      this.#abortError(`The response status code was ${response.status}.`);
      return;
    }
    const contentType = response.headers.get('content-type');
    if (contentType === null) {
      this.#abortError('No content type header was present in the response.');
      return;
    }
    const mime = parseMimeType(contentType);
    if (mime === null || essence(mime) !== 'text/event-stream') {
      this.#abortError(`The content type '${contentType}' is invalid.`);
      return;
    }
    if (response.redirected) {
      const moved = parseAbsoluteURL(response.url);
      if (moved !== null) this.#url = moved.href;
    }
    if (response.body === null) {
      if (this.#previousNoBody) {
        this.#notifyError(new Error('The server provided no content.'));
      } else {
        this.#previousNoBody = true;
        this.#notifyError(new Error('The server provided no content. Will try reconnecting.'), true);
        this.#reconnect();
      }
      return;
    }
    this.#run(response.body, true);
  }

  #reconnect() {
    this.#readyState = CONNECTING;
    const controller = new AbortController();
    this.#controller = controller;
    const timer = setTimeout(() => {
      controller.signal.removeEventListener('abort', onAbort);
      this.#start();
    }, this.#reconnectionMs);
    const onAbort = () => {
      clearTimeout(timer);
      this.#notifyError(controller.signal.reason);
    };
    controller.signal.addEventListener('abort', onAbort);
  }

  #run(readable, withReconnection) {
    this.#notifyOpen();
    const parser = new EventStreamParser({
      lastEventId: () => this.#lastEventId,
      onId: (id) => {
        this.#lastEventId = id;
      },
      onRetry: (ms) => {
        this.#reconnectionMs = Math.max(Math.min(ms, MAX_RECONNECTION_MS), MIN_RECONNECTION_MS);
      },
    });
    const reader = readable.getReader();
    const signal = this.#controller.signal;
    const onAbort = () => {
      reader.cancel(signal.reason).catch(() => {});
    };
    signal.addEventListener('abort', onAbort);
    const pump = async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        if (this.#readyState === CLOSED) continue;
        if (!(value instanceof Uint8Array)) {
          throw new TypeError('This ReadableStream did not return bytes.');
        }
        const messages = parser.feed(value);
        if (messages.length > 0) {
          // Dispatched in a task of their own, as workerd queues them after the write.
          await Promise.resolve();
          this.#notifyMessages(messages);
        }
      }
    };
    pump().then(() => {
      signal.removeEventListener('abort', onAbort);
      parser.clear();
      this.#notifyError(new Error('The server disconnected.'), withReconnection);
      if (withReconnection && this.#readyState !== CLOSED) this.#reconnect();
    }, (error) => {
      signal.removeEventListener('abort', onAbort);
      parser.clear();
      // A lost connection is a disconnection: it reconnects, as workerd's does.
      if (error instanceof Error && error.retryable === true && error.message === 'Network connection lost.') {
        this.#notifyError(new Error('The server disconnected.'), withReconnection);
        if (withReconnection && this.#readyState !== CLOSED) this.#reconnect();
        return;
      }
      this.#notifyError(error);
    });
  }
}

defineEventHandler(EventSource.prototype, 'open');
defineEventHandler(EventSource.prototype, 'message');
defineEventHandler(EventSource.prototype, 'error');
defineInterface(EventSource, 'EventSource', { CONNECTING, OPEN, CLOSED });
refuseClone(EventSource, 'EventSource');
