// The differential check of one probe class (webcrypto.mjs, htmlrewriter.mjs, webapis.mjs,
// compression.mjs): every scenario of the probe runs in an object of the class on workerd and on
// Dorm (GET /_do/<name>/<scenario>/<scenario>), and the JSON answers are compared (harness.mjs:
// options, exit status).
//
//   node tests/diff/<probe>.mjs [--keep] [--only scenario,...] [--dorm PATH] [--workerd-only]
//
// --workerd-only prints workerd's answers without starting Dorm (to see what the oracle says).
import path from 'node:path';
import { workerdConfig, workerdFrontJs, dormDeploy } from '../../bench/lib.mjs';
import { answerOf, normalise } from './compare.mjs';
import { diffDir, rootDir, diffOptions, startWorkerd, startDorm, runDiff } from './harness.mjs';

const COMPAT_DATE = '2026-03-01';

// probe: { file (under tests/e2e/fixtures), className, name (the route and the deploy's name),
// known (the known-differences file under tests/diff), scenarios (names, in the order they run),
// tmpPrefix }.
export async function runProbeDiff(probe) {
  const probeFile = path.join(rootDir, 'tests', 'e2e', 'fixtures', probe.file);
  const opt = diffOptions(probe.scenarios);
  const names = opt.only ?? probe.scenarios;
  await runDiff(opt, {
    label: '',
    tmpPrefix: probe.tmpPrefix,
    knownFile: path.join(diffDir, probe.known),
    names,
    startWorkerd: (tmp) => startWorkerd(tmp, {
      files: [[probeFile, probe.file]],
      texts: {
        'worker.js': workerdFrontJs({ moduleFile: probe.file, className: probe.className, route: probe.name, binding: 'PROBE' }),
      },
      config: (port, dataDir) => workerdConfig({
        port, dataDir, workerName: 'w', moduleFile: probe.file, compatibilityDate: COMPAT_DATE,
        className: probe.className, uniqueKey: `dorm-${probe.name}`, binding: 'PROBE',
      }),
    }),
    startDorm: (tmp) => startDorm(tmp, opt, { deploy: (data) => dormDeploy(opt.dorm, probeFile, probe.name, data, 30000) }),
    runAll: async (server) => {
      const out = {};
      for (const n of names) out[n] = normalise(await answerOf(`${server.baseUrl}/_do/${probe.name}/${n}/${n}`));
      return out;
    },
  });
}
