// Cluster mode: the control state of a node as one value, to compact the control plane's log
// (cluster/control_log.h). The control state is what the log's changes build in
// DATA/registry.sqlite: the deployed classes with their code, the projects' applied migrations,
// service callers and allowed transfers (Registry), the env vars (EnvStore, values sealed as
// stored), the JWT configurations and service keys (CredentialsStore, secrets sealed as stored).
// What is a node's own there is left out: the deletions and moves of local files still to finish,
// the last errors of classes.
//
// The encoding: every table of kControlTables, each as its name, its columns (the row id first,
// so that the order of rows, which the keys list follows, is kept) and its rows, every value with
// its SQLite type; all fields length-prefixed. The caller seals it (the secrets key), so the bytes
// are trusted only as far as a node of the cluster wrote them: Decode still checks every length,
// table and column, and refuses what it does not know (a newer Dorm's columns) rather than guess.
//
// Threading: none of its own; `db` is used by the calling thread only for the call.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>

namespace dorm::control {

// Reads the control tables of `db` (a connection to registry.sqlite whose tables exist), in one
// read transaction. Throws std::runtime_error on a storage failure.
std::string EncodeControlSnapshot(sqlite3* db);

// Replaces the control tables of `db` with what `snapshot` holds, in one transaction (nothing
// changes when it throws). Throws std::runtime_error when `snapshot` is not what
// EncodeControlSnapshot makes for this Dorm's tables, or on a storage failure.
void LoadControlSnapshot(sqlite3* db, std::string_view snapshot);

}  // namespace dorm::control
