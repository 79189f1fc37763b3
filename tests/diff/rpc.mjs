// Differential check of calls between objects: the classes of tests/e2e/fixtures/rpc/ (Target,
// Plain, Caller), unmodified, on workerd and on Dorm; every scenario of caller.js runs in a Caller
// object on both and the JSON answers are compared (ids normalised), allow-list
// known-differences-rpc.json (harness.mjs: options, exit status).
//
//   node tests/diff/rpc.mjs [--keep] [--only scenario,...] [--dorm PATH] [--workerd-only]

import path from 'node:path';
import { workerdFrontJs, workerdConfig, dormDeploy } from '../../bench/lib.mjs';
import { answerOf } from './compare.mjs';
import { diffDir, rootDir, diffOptions, startWorkerd, startDorm, runDiff } from './harness.mjs';

const fixtures = path.join(rootDir, 'tests', 'e2e', 'fixtures', 'rpc');
const knownFile = path.join(diffDir, 'known-differences-rpc.json');
const COMPAT_DATE = '2026-03-01';

// Each class: its file, exported name, Dorm name (URL and binding: TARGET...) and storage kind.
const CLASSES = [
  { file: 'target.js', className: 'Target', name: 'target', binding: 'TARGET' },
  { file: 'plain.js', className: 'Plain', name: 'plain', binding: 'PLAIN' },
  { file: 'caller.js', className: 'Caller', name: 'caller', binding: 'CALLER' },
];

// [scenario, query, caller instance]: run in this order (some depend on earlier ones).
const SCENARIOS = [
  ['envKeys', ''], ['increment', 'name=shared&by=2'], ['increment', 'name=shared&by=3'], ['getterArgs', ''], ['clone', ''],
  ['fail', ''], ['failLater', ''], ['reserved', ''], ['missing', ''], ['instanceProperty', ''],
  ['prototypeOnStub', ''], ['notAFunction', ''], ['returnFunction', ''], ['argFunction', ''],
  ['rpcTarget', ''], ['pipeline', ''], ['targetArg', ''], ['targetArgDispose', ''], ['keptCallback', ''], ['dupCallback', ''], ['stubArg', ''],
  ['functionsInResult', ''], ['echoedReferences', ''], ['stubProperty', ''], ['unclonable', ''],
  ['plainRpc', ''], ['plainFetch', ''], ['ids', ''], ['jurisdiction', ''], ['badIds', ''],
  ['fetch', 'name=fetched'], ['increment', 'name=fetched-count&by=7'], ['fetchRequest', 'name=fetched-count'],
  ['fetchThrows', ''], ['streamArg', ''], ['streamArgString', ''], ['streamArgObject', ''], ['streamArgError', ''],
  ['streamArgCancel', ''], ['streamArgIgnored', ''], ['streamArgKept', ''], ['streamArgLocked', ''], ['streamResult', ''],
  ['streamResultString', ''], ['streamResultError', ''], ['streamResultNested', ''], ['streamResultBig', ''],
  ['streamResultUnread', ''], ['streamClone', ''], ['streamPut', ''],
  ['requestArg', ''], ['requestArgStream', ''], ['requestEncodeManual', ''], ['requestEncodeAutomatic', ''],
  ['requestEncodeMade', ''], ['responseArg', ''], ['responseResult', ''], ['headersResult', ''],
  ['domExceptionArg', ''], ['writableArg', ''], ['writableArgString', ''], ['fetchStream', ''], ['fetchStreamFails', ''], ['fetchUploadStream', ''], ['order', 'name=ordered&n=50'], ['writeThenCall', 'name=gated'], ['self', 'depth=3'], ['reset', ''], ['afterReset', ''],
  ['spread', 'prefix=load&objects=10&rounds=3'],
];

const opt = diffOptions(SCENARIOS.map(([name]) => name));
const scenarios = opt.only ? SCENARIOS.filter(([n]) => opt.only.includes(n)) : SCENARIOS;
// A scenario run more than once is named "<name>#<n>" in the answers.
const keys = [];
for (const [name] of scenarios) {
  let key = name;
  for (let n = 2; keys.includes(key); n++) key = `${name}#${n}`;
  keys.push(key);
}

async function call(server, scenario, query) {
  return answerOf(`${server.baseUrl}/_do/caller/c1/${scenario}${query ? `?${query}` : ''}`);
}

async function runAll(server) {
  const out = {};
  for (let i = 0; i < scenarios.length; i++) out[keys[i]] = await call(server, ...scenarios[i]);
  return out;
}

runDiff(opt, {
  label: 'rpc',
  tmpPrefix: 'dorm-diff-rpc-',
  knownFile,
  names: keys,
  startWorkerd: (tmp) => startWorkerd(tmp, {
    files: CLASSES.map((c) => [path.join(fixtures, c.file), c.file]),
    texts: {
      'worker.js': workerdFrontJs({
        classes: CLASSES.map((c) => ({ moduleFile: c.file, className: c.className, route: c.name, binding: c.binding })),
      }),
    },
    config: (port, dataDir) => workerdConfig({
      port, dataDir, workerName: 'w', compatibilityDate: COMPAT_DATE,
      classes: CLASSES.map((c) => ({
        moduleFile: c.file, className: c.className, uniqueKey: `dorm-diff-rpc-${c.name}`, binding: c.binding,
      })),
    }),
  }),
  startDorm: (tmp) => startDorm(tmp, opt, {
    deploy: (data) => { for (const c of CLASSES) dormDeploy(opt.dorm, path.join(fixtures, c.file), c.name, data, 30000); },
  }),
  runAll,
});
