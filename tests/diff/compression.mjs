// Differential check of CompressionStream and DecompressionStream: every scenario of
// tests/e2e/fixtures/compression_probe.js runs in a CompressionProbe object on workerd and on Dorm
// (probe_diff.mjs), allow-list known-differences-compression.json.
//
//   node tests/diff/compression.mjs [--keep] [--only scenario,...] [--dorm PATH] [--workerd-only]
import { runProbeDiff } from './probe_diff.mjs';

runProbeDiff({
  file: 'compression_probe.js',
  className: 'CompressionProbe',
  name: 'compression-probe',
  known: 'known-differences-compression.json',
  tmpPrefix: 'dorm-diff-compression-',
  scenarios: [
    'shape', 'formats', 'round_trips', 'empty', 'headers', 'chunk_types', 'corrupt', 'truncated',
    'trailing', 'write_then_read', 'after_close', 'pipes', 'clone', 'byob', 'bomb_chunks',
  ],
});
