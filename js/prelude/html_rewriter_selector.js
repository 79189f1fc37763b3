// The selectors of HTMLRewriter.on(): parsed with css-what (and nth-check for an+b), limited to
// what workerd's engine (lol-html) accepts, with its error texts, and matched as the document
// streams by. Matching never looks at the document again: each open element keeps, per selector
// part, whether the selector's tail up to that part matches at it (M) or at it or an ancestor
// (D), computed once when the element opens from its parent's values. So a match costs the number
// of selector parts, whatever the nesting depth (no backtracking over ancestors).
import { parse as parseCss } from 'css-what';
import { parse as parseNth } from 'nth-check';

const NO_MATCH = [];
const SUPPORTED_PSEUDOS = new Set(['nth-child', 'first-child', 'nth-of-type', 'first-of-type', 'not']);

function selectorError(message) {
  return new TypeError(`Parser error: ${message}`);
}

// A compound selector: the simple selectors that must all hold for one element.
function compileCompound(tokens) {
  const tests = [];
  for (const t of tokens) {
    switch (t.type) {
      case 'universal':
        break;
      case 'tag': {
        const name = t.name.toLowerCase();
        tests.push((e) => e.name === name);
        break;
      }
      case 'attribute':
        tests.push(compileAttribute(t));
        break;
      case 'pseudo':
        tests.push(compilePseudo(t));
        break;
      case 'pseudo-element':
        throw selectorError('Unsupported pseudo-class or pseudo-element in selector.');
      default:
        throw selectorError('Unexpected token in selector.');
    }
  }
  return (e) => {
    for (const test of tests) if (!test(e)) return false;
    return true;
  };
}

function compileAttribute(t) {
  const name = t.name.toLowerCase();
  // Class and id (css-what's "quirks") compare exactly, as in a no-quirks document.
  const fold = t.ignoreCase === true;
  const want = fold ? t.value.toLowerCase() : t.value;
  const norm = (v) => (fold ? v.toLowerCase() : v);
  switch (t.action) {
    case 'exists':
      return (e) => e.attr(name) !== null;
    case 'equals':
      return (e) => {
        const v = e.attr(name);
        return v !== null && norm(v) === want;
      };
    case 'element':
      return (e) => {
        const v = e.attr(name);
        if (v === null || want === '' || /\s/.test(want)) return false;
        return norm(v).split(/[\t\n\f\r ]+/).includes(want);
      };
    case 'start':
      return (e) => {
        const v = e.attr(name);
        return v !== null && want !== '' && norm(v).startsWith(want);
      };
    case 'end':
      return (e) => {
        const v = e.attr(name);
        return v !== null && want !== '' && norm(v).endsWith(want);
      };
    case 'any':
      return (e) => {
        const v = e.attr(name);
        return v !== null && want !== '' && norm(v).includes(want);
      };
    case 'hyphen':
      return (e) => {
        const v = e.attr(name);
        if (v === null) return false;
        const n = norm(v);
        return n === want || n.startsWith(`${want}-`);
      };
    default:
      throw selectorError('Unexpected token in selector.');
  }
}

function nthTest(formula, indexOf) {
  let a;
  let b;
  try {
    [a, b] = parseNth(String(formula));
  } catch {
    throw selectorError('Unexpected token in selector.');
  }
  return (e) => {
    const i = indexOf(e);
    if (a === 0) return i === b;
    const n = (i - b) / a;
    return Number.isInteger(n) && n >= 0;
  };
}

function compilePseudo(t) {
  if (!SUPPORTED_PSEUDOS.has(t.name)) throw selectorError('Unsupported pseudo-class or pseudo-element in selector.');
  switch (t.name) {
    case 'first-child':
      return (e) => e.childIndex === 1;
    case 'first-of-type':
      return (e) => e.typeIndex === 1;
    case 'nth-child':
      return nthTest(t.data, (e) => e.childIndex);
    case 'nth-of-type':
      return nthTest(t.data, (e) => e.typeIndex);
    case 'not': {
      // lol-html takes only compound selectors inside :not().
      const inner = t.data.map((tokens) => {
        if (tokens.some((x) => isCombinator(x.type))) throw selectorError('Unsupported pseudo-class or pseudo-element in selector.');
        return compileCompound(tokens);
      });
      return (e) => !inner.some((test) => test(e));
    }
    default:
      throw selectorError('Unsupported pseudo-class or pseudo-element in selector.');
  }
}

function isCombinator(type) {
  return type === 'descendant' || type === 'child' || type === 'adjacent' || type === 'sibling' ||
    type === 'parent' || type === 'column-combinator';
}

const COMBINATOR_TEXT = { adjacent: '+', sibling: '~', parent: '<', 'column-combinator': '||' };

// One selector of a comma list: compounds from the rightmost (index 0) leftwards, and the
// combinator between compound k and k+1 (true for child).
function compileComplex(tokens) {
  const compounds = [];
  const childLinks = [];
  let current = [];
  for (const t of tokens) {
    if (isCombinator(t.type)) {
      if (t.type !== 'descendant' && t.type !== 'child') {
        throw selectorError(`Unsupported combinator \`${COMBINATOR_TEXT[t.type]}\` in selector.`);
      }
      if (current.length === 0) throw selectorError('The selector is empty.');
      compounds.push(current);
      childLinks.push(t.type === 'child');
      current = [];
    } else {
      current.push(t);
    }
  }
  if (current.length === 0) throw selectorError('The selector is empty.');
  compounds.push(current);
  return { compounds: compounds.reverse().map(compileCompound), childLinks: childLinks.reverse() };
}

// Parses `text` (a selector list) into the matcher of one handler's selector; throws workerd's
// TypeError for what lol-html does not take.
export function compileSelector(text) {
  let parsed;
  try {
    parsed = parseCss(text);
  } catch (e) {
    const message = String(e?.message ?? '');
    if (message.startsWith('Empty sub-selector')) throw selectorError('The selector is empty.');
    throw selectorError('Unexpected end of selector.');
  }
  // A selector that starts with no selector at all (e.g. a digit, which starts no CSS name).
  if (parsed.length === 0 || /^\s*[0-9]/.test(text)) throw selectorError('The selector is empty.');
  // css-what takes an empty unquoted attribute value; lol-html wants one.
  if (/=\s*\]/.test(text)) throw selectorError('Unexpected end of selector.');
  return parsed.map(compileComplex);
}

// All the selectors of a rewriter, flattened: part p of the whole set is compound k of one complex
// selector. `matchSelectors(entry, parent)` fills entry.memo (2 bits per part) and returns the
// indexes of the handlers whose selector matches `entry`.
export class SelectorSet {
  constructor() {
    this.parts = []; // { test, child, last }
    this.heads = []; // per handler: the part indexes of its complex selectors' rightmost compounds
  }

  add(compiled) {
    const heads = [];
    for (const complex of compiled) {
      const base = this.parts.length;
      heads.push(base);
      complex.compounds.forEach((test, k) => {
        this.parts.push({ test, child: complex.childLinks[k] ?? false, last: k === complex.compounds.length - 1, base });
      });
    }
    this.heads.push(heads);
    return this.heads.length - 1;
  }

  // Computes M and D of every part for `entry` (whose parent entry is `parent`, or null at the
  // root); parts are evaluated from each selector's leftmost compound, which only needs the
  // parent's values.
  match(entry, parent) {
    const n = this.parts.length;
    // Two bits per part: in a number up to 15 parts (no allocation per element), else an array.
    const small = n <= 15;
    const memo = small ? 0 : new Uint8Array(n);
    const bitsOf = (m, p) => (small ? (m >>> (2 * p)) & 3 : m[p]);
    let packed = 0;
    for (let p = n - 1; p >= 0; p--) {
      const part = this.parts[p];
      let m = part.test(entry);
      if (m && !part.last) {
        const bits = parent === null ? 0 : bitsOf(parent.memo, p + 1);
        m = part.child ? (bits & 1) !== 0 : (bits & 2) !== 0;
      }
      const d = m || (parent !== null && (bitsOf(parent.memo, p) & 2) !== 0);
      const v = (m ? 1 : 0) | (d ? 2 : 0);
      if (small) packed |= v << (2 * p);
      else memo[p] = v;
    }
    entry.memo = small ? packed : memo;
    let matched = NO_MATCH;
    for (let h = 0; h < this.heads.length; h++) {
      if (this.heads[h].some((p) => (bitsOf(entry.memo, p) & 1) !== 0)) {
        if (matched === NO_MATCH) matched = [];
        matched.push(h);
      }
    }
    return matched;
  }
}
