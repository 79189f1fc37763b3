// Differential check of the Web platform globals' shapes and error texts: every scenario of
// tests/e2e/fixtures/webapis_probe.js runs in a WebApisProbe object on workerd and on Dorm
// (probe_diff.mjs), allow-list known-differences-webapis.json.
//
//   node tests/diff/webapis.mjs [--keep] [--only scenario,...] [--dorm PATH] [--workerd-only]
import { runProbeDiff } from './probe_diff.mjs';

runProbeDiff({
  file: 'webapis_probe.js',
  className: 'WebApisProbe',
  name: 'webapis-probe',
  known: 'known-differences-webapis.json',
  tmpPrefix: 'dorm-diff-webapis-',
  scenarios: [
    'response_status_text', 'response_errors', 'response_body_reuse', 'request_redirect',
    'request_errors', 'request_properties', 'headers_errors', 'url_errors', 'blob_shapes',
    'form_data_shapes', 'dom_exception_shapes', 'event_shapes', 'stream_shapes', 'prototypes',
    'method_lengths', 'string_forms', 'misc_errors', 'request_cache_body', 'global_scope',
    'read_only_attributes', 'handler_events', 'cloudflare_global',
  ],
});
