// Differential check of crypto.subtle and CryptoKey: every scenario of
// tests/e2e/fixtures/webcrypto_probe.js runs in a CryptoProbe object on workerd and on Dorm
// (probe_diff.mjs), allow-list known-differences-webcrypto.json.
//
//   node tests/diff/webcrypto.mjs [--keep] [--only scenario,...] [--dorm PATH] [--workerd-only]
import { runProbeDiff } from './probe_diff.mjs';

runProbeDiff({
  file: 'webcrypto_probe.js',
  className: 'CryptoProbe',
  name: 'crypto-probe',
  known: 'known-differences-webcrypto.json',
  tmpPrefix: 'dorm-diff-crypto-',
  scenarios: [
    'hmac_rfc4231', 'hmac_webhook', 'ed25519_rfc8032', 'aes_gcm_vectors', 'kdf_vectors', 'aes_modes',
    'round_trips', 'node_keys', 'edge_cases', 'interfaces', 'errors', 'digest_stream', 'digest_stream_hostile', 'digest_stream_crc',
  ],
});
