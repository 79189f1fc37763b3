// Differential check of HTMLRewriter: every scenario of tests/e2e/fixtures/html_rewriter_probe.js
// runs in an HtmlRewriterProbe object on workerd and on Dorm (probe_diff.mjs), allow-list
// known-differences-htmlrewriter.json.
//
//   node tests/diff/htmlrewriter.mjs [--keep] [--only scenario,...] [--dorm PATH] [--workerd-only]
import { runProbeDiff } from './probe_diff.mjs';

runProbeDiff({
  file: 'html_rewriter_probe.js',
  className: 'HtmlRewriterProbe',
  name: 'html-rewriter-probe',
  known: 'known-differences-htmlrewriter.json',
  tmpPrefix: 'dorm-diff-htmlrewriter-',
  scenarios: [
    'element_props', 'attributes', 'tag_name', 'content_ops', 'chaining', 'end_tag', 'text_chunks',
    'text_mutations', 'comments', 'document_handlers', 'doctype_plain', 'async_handlers', 'handler_order',
    'selectors', 'bad_selectors', 'element_after_handler', 'used_body', 'handler_throws', 'misc_api',
    'set_inner_with_handlers', 'void_and_self_closing', 'raw_text_elements', 'entities_and_charset',
    'malformed', 'nested_descendants', 'multiple_on_same', 'insert_order', 'foreign_and_case',
    'deep_nesting', 'length_header', 'argument_errors',
  ],
});
