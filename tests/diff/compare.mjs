// How the differential checks compare one scenario's answers from workerd and from Dorm.
import util from 'node:util';

// A scenario's answer from `url`: the JSON body (or text) of a 200, else {httpStatus, body}, or
// {requestFailed} when no answer came within 15 s.
export async function answerOf(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(15000) });
    const text = await res.text();
    let body;
    try { body = JSON.parse(text); } catch { body = text; }
    return res.status === 200 ? body : { httpStatus: res.status, body };
  } catch (e) {
    return { requestFailed: e.message };
  }
}

// Values that legitimately differ between the two runs.
export function normalise(v) {
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  if (typeof v === 'number' && v > 1e12 && v < 1e13) return '<time>'; // epoch milliseconds
  if (typeof v === 'string') return v.replace(/\b[0-9a-f]{64}\b/g, '<id>');
  return v;
}

export function sideBySide(a, b) {
  const la = JSON.stringify(a, null, 2).split('\n');
  const lb = JSON.stringify(b, null, 2).split('\n');
  const w = Math.max(20, ...la.map((l) => l.length));
  const rows = [`${'workerd'.padEnd(w)} | dorm`, `${'-'.repeat(w)}-+-${'-'.repeat(20)}`];
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    const x = la[i] ?? '';
    const y = lb[i] ?? '';
    rows.push(`${x.padEnd(w)} ${x === y ? '|' : '*'} ${y}`);
  }
  return rows.join('\n');
}

// Leaf paths where the two values differ, as "path: workerd=... dorm=..." lines.
export function pathDiff(a, b, at = '') {
  const isObj = (x) => x !== null && typeof x === 'object';
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => pathDiff(a[k], b[k], `${at}${Array.isArray(a) ? `[${k}]` : `.${k}`}`));
  }
  if (util.isDeepStrictEqual(a, b)) return [];
  const j = (x) => (x === undefined ? '(absent)' : JSON.stringify(x));
  return [`${at || '.'}: workerd=${j(a)} dorm=${j(b)}`];
}


// Prints, for each scenario, `same` or its differences from workerd (known ones with their reason
// from `known`), then a summary. Returns the differences not in `known`.
export function report(names, results, known) {
  const differences = [];
  for (const n of names) {
    const a = normalise(results.workerd[n]);
    const b = normalise(results.dorm[n]);
    const same = util.isDeepStrictEqual(a, b);
    if (same) { console.log(`${n}: same`); continue; }
    const reason = known[n];
    differences.push({ scenario: n, known: Boolean(reason) });
    console.log(`${n}: DIFFERENT${reason ? ` (known: ${reason})` : ' (NEW)'}`);
    for (const line of pathDiff(a, b)) console.log(`    ${line}`);
    console.log(sideBySide(a, b).split('\n').map((l) => `    ${l}`).join('\n'));
  }
  const unknown = differences.filter((d) => !d.known);
  const stale = Object.keys(known).filter((k) => !differences.some((d) => d.scenario === k) && names.includes(k));
  console.log('');
  console.log(`diff: ${names.length} scenarios, ${names.length - differences.length} same, ` +
    `${differences.length - unknown.length} known differences, ${unknown.length} new`);
  if (stale.length) console.log(`diff: allow-listed but now the same: ${stale.join(', ')}`);
  if (unknown.length) console.log(`diff: new differences: ${unknown.map((d) => d.scenario).join(', ')}`);
  return { differences, unknown };
}
