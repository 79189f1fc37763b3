// What `dorm deploy DIR|wrangler.*` sends for a Wrangler project, decided from its configuration
// before anything is bundled (PlanProjectDeploy, pure): the classes to bind, the vars, the
// migrations, and the warnings (or, with --strict, the refusals) for what Dorm leaves unbound;
// and the deploy itself (DeployProject), shared by `dorm deploy` and `dorm dev`.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "cli/wrangler_config.h"

namespace dorm::cli {

struct ProjectDeployPlan {
  std::string main;  // the entry module, relative to the configuration's folder
  // The body of POST /_admin/v1/apps/<app>/project, without "module" (the bundle).
  boost::json::object body;
  std::vector<std::string> warnings;
};

// Throws WranglerConfigError for a configuration Dorm cannot deploy (a missing `main`, a binding
// whose class no migration created), and with `strict` for
// anything it would leave unbound. The server checks the migrations again against the ones it
// applied before.
ProjectDeployPlan PlanProjectDeploy(const WranglerConfig& config, bool strict);

struct ProjectDeployOptions {
  std::string app;     // empty: the configuration's name (or "default")
  std::string access;  // empty: the server's default (or the class's mode so far)
  bool strict = false;
};

struct ProjectDeployOutcome {
  bool ok = false;
  std::string error;                  // when not ok
  std::vector<std::string> warnings;  // ok or not
  std::string app;
  std::vector<std::string> lines;  // what was deployed and where, to print
};

// A Cloudwerk `app/objects/` folder as a project: each object file (`chat-room.ts`, not `.d.ts`)
// is class ChatRoom with binding CHAT_ROOM, as Cloudwerk names them. `file_names` are the folder's
// file names; returns the entry module that exports each file's default export under its class
// name, and sets `body` (without "module") for the project deploy, whose classes the server
// creates when they are new. Throws WranglerConfigError for a file name that is not kebab-case or
// a folder with no object file.
std::string PlanCloudwerkObjects(const std::vector<std::string>& file_names,
                                 boost::json::object* body);

// Deploys a Cloudwerk objects folder (see PlanCloudwerkObjects) as app `options.app` ("default"
// when empty). As DeployProject otherwise.
ProjectDeployOutcome DeployCloudwerkObjects(const std::string& folder,
                                            const ProjectDeployOptions& options,
                                            const std::string& server, const std::string& token);

// Deploys the project of `config_path` to the server at `server` with `token`: reads and plans
// it, bundles `main` with esbuild, sends it. Never exits; blocks while esbuild and the server work.
ProjectDeployOutcome DeployProject(const std::string& config_path,
                                   const ProjectDeployOptions& options, const std::string& server,
                                   const std::string& token);

}  // namespace dorm::cli
