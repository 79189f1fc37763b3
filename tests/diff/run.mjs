// Differential check: runs every scenario of scenarios.js on workerd and on Dorm and compares the
// JSON answers, allow-list known-differences.json (harness.mjs: options, exit status).
//
//   node tests/diff/run.mjs [--keep] [--only scenario,...] [--dorm PATH] [--workerd-only]

import path from 'node:path';
import { sleep, workerdFrontJs, workerdConfig, dormDeploy } from '../../bench/lib.mjs';
import { answerOf } from './compare.mjs';
import { diffDir, diffOptions, startWorkerd, startDorm, runDiff } from './harness.mjs';

const scenariosFile = path.join(diffDir, 'scenarios.js');
const knownFile = path.join(diffDir, 'known-differences.json');
const CLASS = 'DiffProbe';
const NAME = 'diff-probe';
const COMPAT_DATE = '2026-03-01';
const ALARM_WAIT_MS = 1200;

// Scenario names, in the order they run (the keys of SCENARIOS in scenarios.js).
const SCENARIO_NAMES = [
  'get_put_delete_single', 'get_put_delete_batch', 'list_options', 'list_errors', 'utf8_key_order',
  'put_undefined', 'data_clone_error', 'transaction_rollback', 'delete_all', 'sql_exec_cursor',
  'sql_errors', 'transaction_sync', 'kv_sync', 'set_alarm_zero', 'get_alarm_set_delete', 'alarm_fires',
  'batch_limits', 'hostile_arguments', 'kv_list_mutation', 'poisoned_results', 'argument_errors', 'key_value_sizes', 'alarm_in_transaction', 'rows_read', 'cf_tables_visible', 'database_size', 'rename_to_cf',
  'host_object_clone', 'api_clone_refused', 'api_clone_copied', 'event_shapes',
];

const opt = diffOptions(SCENARIO_NAMES);

// ---------------------------------------------------------------------------------------------
// Running and comparing

async function call(server, id, query = '') {
  return answerOf(`${server.baseUrl}/_do/${NAME}/${encodeURIComponent(id)}/${id}${query}`);
}

async function runAll(server, names) {
  const out = {};
  const twoStep = names.filter((n) => n === 'alarm_fires');
  for (const n of twoStep) out[n] = { set: await call(server, n, '?step=set') };
  const started = Date.now();
  for (const n of names) if (!twoStep.includes(n)) out[n] = await call(server, n);
  if (twoStep.length) {
    const wait = ALARM_WAIT_MS - (Date.now() - started);
    if (wait > 0) await sleep(wait);
    for (const n of twoStep) out[n].read = await call(server, n, '?step=read');
  }
  return out;
}

const names = opt.only ?? SCENARIO_NAMES;
runDiff(opt, {
  label: '',
  tmpPrefix: 'dorm-diff-',
  knownFile,
  names,
  startWorkerd: (tmp) => startWorkerd(tmp, {
    files: [[scenariosFile, 'scenarios.js']],
    texts: { 'worker.js': workerdFrontJs({ moduleFile: 'scenarios.js', className: CLASS, route: NAME, binding: 'PROBE' }) },
    config: (port, dataDir) => workerdConfig({
      port, dataDir, workerName: 'w', moduleFile: 'scenarios.js', compatibilityDate: COMPAT_DATE,
      className: CLASS, uniqueKey: 'dorm-diff-probe', binding: 'PROBE',
    }),
  }),
  startDorm: (tmp) => startDorm(tmp, opt, { deploy: (data) => dormDeploy(opt.dorm, scenariosFile, NAME, data, 30000) }),
  runAll: (server) => runAll(server, names),
});
