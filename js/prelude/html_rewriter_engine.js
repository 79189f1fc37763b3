// The streaming engine behind HTMLRewriter.transform(): htmlparser2's Tokenizer splits the
// decoded text into tokens (positions into the text seen so far), this file keeps the stack of
// open elements (void elements, foreign content, end tags that close several elements), runs
// the handlers in workerd's order and writes each token's source (or what the handlers made of
// it) to the output. Untouched tokens are copied byte for byte. A bundle of its own (see
// CMakeLists.txt's dorm_js_lazy_bundle), compiled only when an app uses HTMLRewriter
// (js/prelude/html_rewriter.js).
//
// Memory: the text kept is the output of one input chunk plus the source of the one token not
// yet complete (a tag, comment or doctype split across chunks); the stack holds one small entry
// per open element. All of it is in the app's own heap, under its heap limit.
// The tokenizer's own module: the package's index also brings its DOM builder and serializer
// (about 100 KB more that every isolate would compile), which the rewriter does not use.
import Tokenizer from '../node_modules/htmlparser2/dist/esm/Tokenizer.js';
import { SelectorSet, compileSelector } from './html_rewriter_selector.js';

const HTML_NS = 'http://www.w3.org/1999/xhtml';
const SVG_NS = 'http://www.w3.org/2000/svg';
const MATHML_NS = 'http://www.w3.org/1998/Math/MathML';

const VOID_ELEMENTS = new Set([
  'area', 'base', 'basefont', 'bgsound', 'br', 'col', 'embed', 'frame', 'hr', 'image', 'img', 'input',
  'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr',
]);

const SVG_INTEGRATION = new Set(['foreignobject', 'desc', 'title']);
const MATHML_INTEGRATION = new Set(['mi', 'mo', 'mn', 'ms', 'mtext']);

const INVALID_TOKEN = 'This content token is no longer valid. Content tokens are only valid ' +
  'during the execution of the relevant content handler.';

// What lol-html refuses in names it writes (the characters that would end the name).
const TAG_NAME_FORBIDDEN = /[\t\n\f\r />]/;
const ATTRIBUTE_NAME_FORBIDDEN = /[\t\n\f\r />=]/;

function validName(name, forbidden, what) {
  if (name === '') throw new TypeError(`Parser error: ${what === 'tag' ? 'Tag' : 'Attribute'} name can't be empty.`);
  const bad = forbidden.exec(name);
  if (bad) throw new TypeError(`Parser error: \`${bad[0]}\` character is forbidden in the ${what} name`);
  return name;
}

function stringArgument(value, method) {
  if (value === undefined) {
    throw new TypeError(`Failed to execute '${method}' on 'Element': parameter 1 is not of type 'string'.`);
  }
  return `${value}`;
}

function escapeText(s) {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

// Content given to before/after/replace/...: a string (converted as WebIDL does) and {html}.
function contentOf(content, options) {
  const text = `${content}`;
  const html = options !== undefined && options !== null && Boolean(options.html);
  return html ? text : escapeText(text);
}

// What every content token shares: valid only while its handler runs.
class TokenBase {
  #state;

  constructor(state) {
    this.#state = state;
  }

  static state(token) {
    const s = token.#state;
    if (!s.alive) throw new TypeError(INVALID_TOKEN);
    return s;
  }
}
const live = (token) => TokenBase.state(token);

export class Element extends TokenBase {
  get tagName() {
    return live(this).entry.name;
  }

  set tagName(value) {
    const s = live(this);
    const name = validName(`${value}`, TAG_NAME_FORBIDDEN, 'tag');
    s.entry.name = name.toLowerCase();
    s.entry.sourceName = name;
    s.modified = true;
  }

  get attributes() {
    const s = live(this);
    return s.entry.attrs.map((a) => [a.name, a.value])[Symbol.iterator]();
  }

  get removed() {
    const s = live(this);
    return s.removed || s.keepContent || s.insideRemoved;
  }

  get namespaceURI() {
    return live(this).entry.ns;
  }

  getAttribute(name) {
    const s = live(this);
    return s.entry.attr(stringArgument(name, 'getAttribute').toLowerCase());
  }

  hasAttribute(name) {
    const s = live(this);
    return s.entry.attr(stringArgument(name, 'hasAttribute').toLowerCase()) !== null;
  }

  setAttribute(name, value) {
    const s = live(this);
    const lower = validName(stringArgument(name, 'setAttribute'), ATTRIBUTE_NAME_FORBIDDEN, 'attribute').toLowerCase();
    const text = `${value}`;
    const found = s.entry.attrs.find((a) => a.name === lower);
    if (found) {
      found.value = text;
      found.raw = null;
    } else {
      s.entry.attrs.push({ name: lower, value: text, raw: null, sourceName: lower });
    }
    s.modified = true;
    return this;
  }

  removeAttribute(name) {
    const s = live(this);
    const lower = `${name}`.toLowerCase();
    const i = s.entry.attrs.findIndex((a) => a.name === lower);
    if (i >= 0) {
      s.entry.attrs.splice(i, 1);
      s.modified = true;
    }
    return this;
  }

  before(content, options) {
    live(this).before.push(contentOf(content, options));
    return this;
  }

  after(content, options) {
    const e = live(this).entry;
    (e.after ??= []).unshift(contentOf(content, options));
    return this;
  }

  prepend(content, options) {
    live(this).prepend.unshift(contentOf(content, options));
    return this;
  }

  append(content, options) {
    const e = live(this).entry;
    (e.append ??= []).push(contentOf(content, options));
    return this;
  }

  replace(content, options) {
    const s = live(this);
    s.replacement = contentOf(content, options);
    s.removed = true;
    return this;
  }

  setInnerContent(content, options) {
    const s = live(this);
    s.inner = contentOf(content, options);
    s.prepend.length = 0;
    s.entry.append = null;
    return this;
  }

  remove() {
    const s = live(this);
    s.replacement = '';
    s.removed = true;
    return this;
  }

  removeAndKeepContent() {
    const s = live(this);
    s.keepContent = true;
    return this;
  }

  onEndTag(handler) {
    const s = live(this);
    if (!s.entry.canHaveEnd) throw new TypeError('Parser error: No end tag.');
    if (typeof handler !== 'function') {
      throw new TypeError("Failed to execute 'onEndTag' on 'Element': parameter 1 is not of type 'function'.");
    }
    // One end tag handler per element: a later call replaces it, as in workerd.
    s.entry.endHandler = handler;
    return this;
  }
}

export class EndTag extends TokenBase {
  get name() {
    return live(this).name;
  }

  set name(value) {
    live(this).name = `${value}`;
  }

  before(content, options) {
    live(this).before.push(contentOf(content, options));
    return this;
  }

  after(content, options) {
    live(this).after.unshift(contentOf(content, options));
    return this;
  }

  remove() {
    live(this).removed = true;
    return this;
  }
}

// Text and comments share the mutation methods.
class Replaceable extends TokenBase {
  get removed() {
    const s = live(this);
    return s.removed || s.insideRemoved;
  }

  before(content, options) {
    live(this).before.push(contentOf(content, options));
    return this;
  }

  after(content, options) {
    live(this).after.unshift(contentOf(content, options));
    return this;
  }

  replace(content, options) {
    const s = live(this);
    s.replacement = contentOf(content, options);
    s.removed = true;
    return this;
  }

  remove() {
    const s = live(this);
    s.replacement = '';
    s.removed = true;
    return this;
  }
}

export class Text extends Replaceable {
  get text() {
    return live(this).text;
  }

  get lastInTextNode() {
    return live(this).last;
  }
}

export class Comment extends Replaceable {
  get text() {
    return live(this).text;
  }

  set text(value) {
    const s = live(this);
    const text = `${value}`;
    if (text.includes('-->')) throw new TypeError("Parser error: Comment text shouldn't contain a comment-closing sequence.");
    s.text = text;
    s.modified = true;
  }
}

export class Doctype extends TokenBase {
  get name() {
    return live(this).name;
  }

  get publicId() {
    return live(this).publicId;
  }

  get systemId() {
    return live(this).systemId;
  }
}

export class DocumentEnd extends TokenBase {
  append(content, options) {
    live(this).append.push(contentOf(content, options));
    return this;
  }
}

for (const [cls, name] of [[Element, 'Element'], [EndTag, 'EndTag'], [Text, 'Text'], [Comment, 'Comment'],
  [Doctype, 'Doctype'], [DocumentEnd, 'DocumentEnd']]) {
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
}

const NONE = [];

// workerd gives lol-html 3 MiB; lol-html's element stack takes about 170 bytes an element there
// (15000 nested elements fit, 20000 do not), and a token split across chunks is buffered in it.
const MEMORY_LIMIT = 3 * 1024 * 1024;
const ELEMENT_COST = 170;

function memoryLimitError() {
  return new TypeError('Parser error: The memory limit has been exceeded.');
}

// One open element (or the document root) on the stack. Kept small: a hostile document can
// open hundreds of thousands of them.
class OpenElement {
  constructor(name, sourceName, ns, attrs, childIndex, typeIndex, canHaveEnd) {
    this.name = name;
    this.sourceName = sourceName;
    this.openName = name;
    this.ns = ns;
    this.attrs = attrs; // null once the start tag is written
    this.childIndex = childIndex;
    this.typeIndex = typeIndex;
    this.canHaveEnd = canHaveEnd;
    this.childCount = 0;
    // Children per tag name: one name inline, a Map from the second name on.
    this.onlyType = null;
    this.onlyTypeCount = 0;
    this.typeCounts = null;
    this.memo = 0;
    this.matched = NONE;
    this.endHandler = null;
    this.append = null;
    this.after = null;
    this.skip = false;
    this.keepContent = false;
    this.removed = false;
  }

  attr(name) {
    const a = this.attrs.find((x) => x.name === name);
    return a === undefined ? null : a.value;
  }
}

// Counts a child named `name` of `parent`; returns its index among its type (from 1).
function countChild(parent, name) {
  parent.childCount += 1;
  if (parent.typeCounts === null) {
    if (parent.onlyType === null || parent.onlyType === name) {
      parent.onlyType = name;
      parent.onlyTypeCount += 1;
      return parent.onlyTypeCount;
    }
    parent.typeCounts = new Map([[parent.onlyType, parent.onlyTypeCount]]);
  }
  const n = (parent.typeCounts.get(name) ?? 0) + 1;
  parent.typeCounts.set(name, n);
  return n;
}

function isThenable(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
}

// Calls handler `fn` with a fresh token over `state`, awaiting what it returns; the token dies
// after, whatever happened.
async function callHandler(fn, receiver, Cls, state) {
  state.alive = true;
  const token = new Cls(state);
  try {
    const result = Reflect.apply(fn, receiver, [token]);
    if (isThenable(result)) await result;
  } finally {
    state.alive = false;
  }
}

function parseDoctype(body) {
  // body: what is between "<!" and ">", e.g. 'DOCTYPE html PUBLIC "a" "b"'.
  const m = /^doctype(?:\s+([^\s>]+))?(?:\s+(public|system)\s*(?:"([^"]*)"|'([^']*)')?(?:\s*(?:"([^"]*)"|'([^']*)'))?)?/i.exec(body.trim());
  if (!m) return { name: null, publicId: null, systemId: null };
  const name = m[1] === undefined ? null : m[1].toLowerCase();
  const first = m[3] ?? m[4] ?? null;
  const second = m[5] ?? m[6] ?? null;
  if (m[2] !== undefined && m[2].toLowerCase() === 'system') return { name, publicId: null, systemId: first };
  return { name, publicId: first, systemId: second };
}

// One transform: feed it decoded text with write(), then end(); each returns (a promise of) the
// output made so far.
export class RewriterRun {
  constructor(handlers) {
    this.selectors = new SelectorSet();
    this.elementHandlers = []; // { selectorIndex, element, comments, text, receiver }
    this.documentHandlers = [];
    for (const h of handlers) {
      if (h.kind === 'element') {
        this.elementHandlers.push({ ...h, index: this.selectors.add(h.compiled) });
      } else {
        this.documentHandlers.push(h);
      }
    }
    // Without element handlers nothing needs the stack of open elements (as in lol-html).
    this.tracksElements = this.elementHandlers.length > 0;
    // What an open element holds here: the fixed part, and a byte per selector part past 15.
    const parts = this.selectors.parts.length;
    this.elementCost = ELEMENT_COST + (parts > 15 ? parts : 0);
    this.active = new Uint32Array(this.elementHandlers.length); // open elements matched, per handler
    this.root = new OpenElement('#root', '', HTML_NS, null, 0, 0, true);
    this.stack = [];
    this.skipDepth = 0; // open elements whose content is removed
    this.buffer = ''; // source from `consumed` on
    this.bufferStart = 0;
    this.consumed = 0;
    this.out = '';
    this.events = [];
    this.inText = false;
    this.pendingClose = null;
    this.tag = null;
    this.tokenizer = new Tokenizer({ xmlMode: false, decodeEntities: false }, this.#callbacks());
  }

  #slice(start, end) {
    return this.buffer.slice(start - this.bufferStart, end - this.bufferStart);
  }

  #callbacks() {
    const run = this;
    return {
      ontext(start, end) {
        run.#flushClose(start);
        if (end > start) run.events.push({ type: 'text', end });
      },
      ontextentity() {},
      onattribentity() {},
      onopentagname(start, end) {
        run.#flushClose(start - 1);
        run.tag = { name: run.#slice(start, end), attrs: [], seen: new Set(), attrStart: 0, attrName: '', value: '' };
      },
      onattribname(start, end) {
        const t = run.tag;
        t.attrStart = start;
        t.attrName = run.#slice(start, end);
        t.value = '';
      },
      onattribdata(start, end) {
        run.tag.value += run.#slice(start, end);
      },
      onattribend(quote, end) {
        const t = run.tag;
        const rawEnd = quote >= 1 ? end : t.attrStart + t.attrName.length;
        const name = t.attrName.toLowerCase();
        // A repeated attribute is ignored, as by the HTML tokenizer (but its source is kept).
        const dup = t.seen.has(name);
        t.seen.add(name);
        t.attrs.push({ name, value: t.value, raw: run.#slice(t.attrStart, rawEnd), sourceName: t.attrName, dup });
      },
      onopentagend(end) {
        run.events.push({ type: 'start', end: end + 1, tag: run.tag, selfClosing: false });
        run.tag = null;
      },
      onselfclosingtag(end) {
        run.events.push({ type: 'start', end: end + 1, tag: run.tag, selfClosing: true });
        run.tag = null;
      },
      onclosetag(start, end) {
        run.#flushClose(start - 2);
        run.pendingClose = { name: run.#slice(start, end).toLowerCase(), nameEnd: end };
      },
      oncomment(start, end, offset) {
        run.#flushClose(-1);
        run.events.push({ type: 'comment', end: end + 1, text: run.#slice(start, end - offset) });
      },
      oncdata(start, end, offset) {
        run.#flushClose(-1);
        run.events.push({ type: 'raw', end: end + 1 });
      },
      ondeclaration(start, end) {
        run.#flushClose(-1);
        const body = run.#slice(start, end);
        if (/^doctype/i.test(body)) run.events.push({ type: 'doctype', end: end + 1, body });
        else run.events.push({ type: 'comment', end: end + 1, text: body });
      },
      onprocessinginstruction(start, end) {
        run.#flushClose(-1);
        run.events.push({ type: 'comment', end: end + 1, text: run.#slice(start - 1, end) });
      },
      onend() {
        run.#flushClose(-1);
      },
    };
  }

  // The end tag whose name ended at pendingClose.nameEnd ends at the next '>' (the tokenizer has
  // passed it once another token starts).
  #flushClose() {
    const c = this.pendingClose;
    if (c === null) return;
    const gt = this.buffer.indexOf('>', c.nameEnd - this.bufferStart);
    if (gt < 0) return;
    this.pendingClose = null;
    this.events.push({ type: 'end', end: this.bufferStart + gt + 1, name: c.name });
  }

  async write(text) {
    this.buffer += text;
    this.tokenizer.write(text);
    this.#flushClose();
    await this.#drain();
    this.#trim();
    if (this.buffer.length + this.stack.length * this.elementCost > MEMORY_LIMIT) throw memoryLimitError();
    return this.#take();
  }

  async end() {
    this.tokenizer.end();
    this.#flushClose();
    await this.#drain();
    // Whatever the tokenizer left unfinished (an unterminated tag) goes out as it came.
    const rest = this.buffer.slice(this.consumed - this.bufferStart);
    if (rest !== '') await this.#textOrRaw(rest);
    await this.#endText();
    const endState = { alive: false, append: [] };
    for (const h of this.documentHandlers) {
      if (h.end) await callHandler(h.end, h.receiver, DocumentEnd, endState);
    }
    this.#emit(endState.append.join(''));
    return this.#take();
  }

  #take() {
    const out = this.out;
    this.out = '';
    return out;
  }

  #trim() {
    const drop = this.consumed - this.bufferStart;
    if (drop > 0) {
      this.buffer = this.buffer.slice(drop);
      this.bufferStart = this.consumed;
    }
  }

  #emit(s) {
    if (s !== '' && this.skipDepth === 0) this.out += s;
  }

  #raw(end) {
    const s = this.#slice(this.consumed, end);
    this.consumed = end;
    return s;
  }

  async #drain() {
    const events = this.events;
    this.events = [];
    for (const ev of events) {
      if (ev.type === 'text') {
        await this.#textChunk(this.#raw(ev.end));
        continue;
      }
      await this.#endText();
      switch (ev.type) {
        case 'start':
          await this.#startTag(ev);
          break;
        case 'end':
          await this.#endTag(ev);
          break;
        case 'comment':
          await this.#comment(ev);
          break;
        case 'doctype':
          await this.#doctype(ev);
          break;
        default:
          this.#emit(this.#raw(ev.end));
      }
    }
  }

  async #textOrRaw(s) {
    this.consumed += s.length;
    if (this.pendingClose === null && !s.startsWith('<')) await this.#textChunk(s);
    else {
      await this.#endText();
      this.#emit(s);
    }
  }

  // The handler lists that apply to content (text, comments) at this point of the document.
  *#contentHandlers(kind) {
    for (const h of this.elementHandlers) {
      if (h[kind] && this.active[h.index] > 0) yield h;
    }
    for (const h of this.documentHandlers) {
      if (h[kind]) yield h;
    }
  }

  async #textChunk(text) {
    this.inText = true;
    await this.#replaceable(Text, 'text', { text, last: false });
  }

  async #endText() {
    if (!this.inText) return;
    this.inText = false;
    await this.#replaceable(Text, 'text', { text: '', last: true });
  }

  async #replaceable(Cls, kind, fields) {
    const state = {
      alive: false, ...fields, before: [], after: [], replacement: null, removed: false, modified: false,
      insideRemoved: this.skipDepth > 0,
    };
    const source = Cls === Text ? fields.text : fields.raw;
    for (const h of this.#contentHandlers(kind)) await callHandler(h[kind], h.receiver, Cls, state);
    let body;
    if (state.removed) body = state.replacement;
    else if (state.modified) body = `<!--${state.text}-->`;
    else body = source;
    this.#emit(state.before.join('') + body + state.after.join(''));
  }

  async #comment(ev) {
    await this.#replaceable(Comment, 'comments', { text: ev.text, raw: this.#raw(ev.end) });
  }

  async #doctype(ev) {
    const raw = this.#raw(ev.end);
    const state = { alive: false, ...parseDoctype(ev.body) };
    for (const h of this.documentHandlers) {
      if (h.doctype) await callHandler(h.doctype, h.receiver, Doctype, state);
    }
    this.#emit(raw);
  }

  async #startTag(ev) {
    const raw = this.#raw(ev.end);
    if (!this.tracksElements) {
      this.#emit(raw);
      return;
    }
    const tag = ev.tag;
    const parent = this.stack.length ? this.stack[this.stack.length - 1] : this.root;
    const name = tag.name.toLowerCase();
    // lol-html counts the integration points themselves (foreignObject, mi, ...) as HTML.
    let ns = parent.ns;
    if (name === 'svg') ns = SVG_NS;
    else if (name === 'math') ns = MATHML_NS;
    else if (ns === SVG_NS && SVG_INTEGRATION.has(name)) ns = HTML_NS;
    else if (ns === MATHML_NS && MATHML_INTEGRATION.has(name)) ns = HTML_NS;
    const attrs = tag.attrs.filter((a) => !a.dup);
    const typeIndex = countChild(parent, name);
    const closesAtOnce = ns === HTML_NS ? VOID_ELEMENTS.has(name) : ev.selfClosing;
    const entry = new OpenElement(name, tag.name, ns, attrs, parent.childCount, typeIndex, !closesAtOnce);
    entry.matched = this.selectors.parts.length ? this.selectors.match(entry, parent === this.root ? null : parent) : NONE;
    const state = {
      alive: false, entry, before: [], prepend: [], replacement: null, inner: null, removed: false,
      keepContent: false, modified: false, insideRemoved: this.skipDepth > 0,
    };
    if (entry.matched.length) {
      for (const h of this.elementHandlers) {
        if (h.element && entry.matched.includes(h.index)) await callHandler(h.element, h.receiver, Element, state);
      }
    }
    const attrText = () => entry.attrs.map((a) => ` ${a.raw ?? `${a.sourceName}="${a.value.replace(/"/g, '&quot;')}"`}`).join('');
    let startText = raw;
    if (state.modified) startText = `<${entry.sourceName}${attrText()}${ev.selfClosing ? ' />' : '>'}`;
    let text = state.before.join('');
    if (state.removed) text += state.replacement;
    else if (!state.keepContent) text += startText;
    if (!state.removed) text += state.prepend.join('') + (state.inner ?? '');
    this.#emit(text);
    entry.keepContent = state.keepContent;
    entry.removed = state.removed;
    // Matching never looks at an element's attributes again (descendants use its memo).
    entry.attrs = null;
    if (closesAtOnce) {
      if (entry.after !== null) this.#emit(entry.after.join(''));
      return;
    }
    entry.skip = state.removed || state.inner !== null;
    if ((this.stack.length + 1) * this.elementCost > MEMORY_LIMIT) throw memoryLimitError();
    this.stack.push(entry);
    for (const h of entry.matched) this.active[h] += 1;
    if (entry.skip) this.skipDepth += 1;
  }

  async #endTag(ev) {
    const raw = this.#raw(ev.end);
    let i = this.stack.length - 1;
    while (i >= 0 && this.stack[i].openName !== ev.name) i--;
    if (i < 0) {
      // An end tag that closes nothing stays as it was.
      this.#emit(raw);
      return;
    }
    while (this.stack.length > i) {
      const entry = this.stack.pop();
      for (const h of entry.matched) this.active[h] -= 1;
      if (entry.skip) this.skipDepth -= 1;
      const own = this.stack.length === i;
      // The end tag token is the one that closes them all: its name, or the element's new name.
      const state = { alive: false, name: own ? entry.name : ev.name, before: [], after: [], removed: false };
      if (entry.endHandler !== null) await callHandler(entry.endHandler, undefined, EndTag, state);
      let text = entry.removed ? '' : (entry.append?.join('') ?? '') + state.before.join('');
      if (own && !entry.removed && !entry.keepContent && !state.removed) {
        const renamed = state.name !== entry.name || entry.name !== entry.openName;
        text += renamed ? `</${state.name === entry.name ? entry.sourceName : state.name}>` : raw;
      }
      text += state.after.join('') + (entry.after?.join('') ?? '');
      this.#emit(text);
    }
  }
}

export function compileHandlerSelector(selector) {
  return compileSelector(selector);
}
