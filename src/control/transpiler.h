// Turns a deployed source file (TypeScript or JavaScript) into a plain ES module with esbuild,
// which strips types without bundling. As with Cloudflare's own bundling, TypeScript imports that
// are only used as types disappear (e.g. `import { DurableObjectState } from
// 'cloudflare:workers'`); every import left is checked against the rules afterwards.
//
// Thread-safe; blocks while esbuild runs.
#pragma once

#include <string>

namespace dorm::control {

struct TranspileResult {
  bool ok = false;
  std::string module_js;  // when ok
  std::string error;      // when not: e.g. "Syntax error at chat.ts:3:5: Expected ..."
};

TranspileResult Transpile(const std::string& source, const std::string& filename);

// Bundles a project's `main` (a path relative to `project_dir`, or absolute) and everything it
// imports, npm packages from the project's node_modules included, into one ES module, as Wrangler
// does for workerd: TypeScript is stripped, and `cloudflare:*` imports and the modules the runtime
// provides for Cloudwerk stay imports. With `entry_source`, that text (TypeScript) is the entry,
// named `main` and resolved from `project_dir`. `node:*` imports stay imports (the server refuses
// them without the nodejs_compat flag, with workerd's message); with `nodejs_compat`, so do the
// bare names of the Node.js modules the runtime provides (`buffer`), as Wrangler leaves them.
TranspileResult BundleProject(const std::string& main, const std::string& project_dir,
                              const std::string& entry_source = {}, bool nodejs_compat = false);

}  // namespace dorm::control
