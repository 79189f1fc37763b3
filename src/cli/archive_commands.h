// `dorm export`, `dorm import`, `dorm backup` and `dorm restore` (README "Export, import, backup
// and restore"): the archives of control/archive_format.h, streamed from and to the admin API
// (/_admin/v1/apps/<app>/classes/<class>/export|import, /_admin/v1/backup), and a backup
// unpacked offline into a new data folder.
//
// Each returns the exit status: 0, 1 with "dorm: <message>" on stderr on failure, 2 with the
// usage for a bad command line. A progress line is shown on stderr while an archive streams, only
// when stderr is a terminal.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/admin_endpoint.h"

namespace dorm::cli {

// Streams the archive that GET `target` answers (an export or /_admin/v1/backup) into `output`:
// written to `output`.partial, checked frame by frame and checksum by checksum, then renamed and
// flushed; `label` names it on the progress line. Returns "" (and sets `*files` to the number of
// files it holds) or why it failed, with nothing left at `output` or `output`.partial. Blocks
// until done.
std::string SaveArchive(const AdminEndpoint& endpoint, const std::string& target,
                        const std::string& output, const std::string& label, size_t* files);

// `dorm export NAME [ID] -o FILE [--app APP]`: one object (by name or id) or every object of
// the class into FILE, written to FILE.partial and renamed once the archive is whole and checked.
int ExportCommand(const std::vector<std::string>& positional,
                  const std::map<std::string, std::string>& flags);

// `dorm import FILE [--as NAME] [--app APP] [--force]`: into the class the archive was exported
// from (or NAME), in the archive's app (or APP).
int ImportCommand(const std::vector<std::string>& positional,
                  const std::map<std::string, std::string>& flags);

// What SaveBackup kept.
struct BackupSummary {
  bool incremental = false;  // false: a full backup (`full_reason` says why, when one was asked)
  std::string full_reason;
  size_t files = 0;        // files in DIR/backup.dorm
  size_t copied = 0;       // of which object databases
  size_t unchanged = 0;    // objects referred to in DIR/base
  size_t linked = 0;       // archives hard-linked into DIR/base
  size_t base_copies = 0;  // archives copied there (no hard link possible)
};

// Backs the server up into `dir`/backup.dorm (`dir` exists; nothing is there yet). With `prev`
// (an earlier backup's folder), incrementally: the server sends only the objects whose databases
// changed since `prev` was taken, and the others are referred to in the archives that hold them,
// hard-linked from `prev` into `dir`/base, so that `dir` restores on its own, even once `prev`
// is deleted (README "Incremental backups"). The server may answer with a full backup instead
// (summary->full_reason). Returns "" or why it failed, leaving nothing in `dir`. Blocks.
std::string SaveBackup(const AdminEndpoint& endpoint, const std::string& dir,
                       const std::string& prev, BackupSummary* summary);

// `dorm backup DIR [--incremental-from PREV]`: the whole server into DIR/backup.dorm (DIR is
// created; an existing backup there is refused); see SaveBackup.
int BackupCommand(const std::vector<std::string>& positional,
                  const std::map<std::string, std::string>& flags);

// `dorm restore DIR --data NEWDIR`: unpacks DIR/backup.dorm, checked file by file, into NEWDIR
// (which must not exist or be empty), for `dorm serve --data NEWDIR`. Needs no server.
int RestoreCommand(const std::vector<std::string>& positional,
                   const std::map<std::string, std::string>& flags);

}  // namespace dorm::cli
