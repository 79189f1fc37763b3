// `dorm dev [DIR]`: the local development loop of a Wrangler project, as `wrangler dev` gives it.
//
// Reuses the server of `--server`, or the one whose data folder (`--data`, default DIR/.dorm)
// names a live address; otherwise starts `dorm serve` on that folder (`--listen`, default
// 127.0.0.1:8787) as a child whose log, with the objects' console output and uncaught errors,
// goes to the terminal. Deploys the project, then watches its files (everything under DIR but
// node_modules, .git and the data folder) and deploys again after each change; a failed deploy is
// printed and the loop goes on with the code deployed before. SIGINT or SIGTERM stops the loop
// and the server it started.
#pragma once

#include <map>
#include <string>

namespace dorm::cli {

struct DevOptions {
  std::string target = ".";  // the project folder or configuration file
  std::string server;        // --server: reuse this server
  std::string token;         // --token
  std::string data;          // --data; empty: <project folder>/.dorm
  std::string listen = "127.0.0.1:8787";
  std::string app;     // --app
  std::string access;  // --access
  std::string self;    // this executable, to start `dorm serve`
};

// Runs the loop until a signal; returns the exit status.
int RunDev(const DevOptions& options);

}  // namespace dorm::cli
