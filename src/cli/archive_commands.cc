#include "cli/archive_commands.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <vector>

#include "cli/admin_client.h"
#include "cli/admin_endpoint.h"
#include "cli/flag_value.h"
#include "cli/json_text.h"
#include "control/archive_format.h"
#include "storage/alarm_index.h"
#include "storage/database_file.h"
#include "util/names.h"

namespace dorm::cli {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

const char kExportUsage[] = "usage: dorm export NAME [ID] -o FILE [--app APP]";
const char kImportUsage[] = "usage: dorm import FILE [--as NAME] [--app APP] [--force]";
const char kBackupUsage[] = "usage: dorm backup DIR [--incremental-from PREV]";
const char kRestoreUsage[] = "usage: dorm restore DIR --data NEWDIR";

int Usage(const char* usage) {
  std::cerr << usage << "\n";
  return 2;
}

int Failed(const std::string& message) {
  std::cerr << "dorm: " << message << "\n";
  return 1;
}

// A progress line on stderr, redrawn at most ten times a second, only on a terminal.
class Progress {
 public:
  explicit Progress(std::string label) : label_(std::move(label)), shown_(isatty(2) == 1) {}
  void Add(size_t n) {
    bytes_ += n;
    if (!shown_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    Draw();
  }
  void Done() {
    if (!shown_) return;
    Draw();
    std::fputc('\n', stderr);
  }

 private:
  void Draw() {
    const double mb = static_cast<double>(bytes_) / (1 << 20);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const int bar = static_cast<int>(seconds * 4) % 20;
    std::string marks(20, ' ');
    marks[static_cast<size_t>(bar)] = '=';
    std::fprintf(stderr, "\r%s [%s] %.1f MB, %.0f s", label_.c_str(), marks.c_str(), mb, seconds);
    std::fflush(stderr);
  }

  std::string label_;
  bool shown_;
  size_t bytes_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

std::optional<AdminEndpoint> Endpoint(const std::map<std::string, std::string>& flags) {
  std::string error;
  auto endpoint = ResolveAdminEndpoint(FlagValue(flags, "server"), FlagValue(flags, "token"),
                                       FlagValue(flags, "data"), &error);
  if (!endpoint) std::cerr << "dorm: " << error << "\n";
  return endpoint;
}

// The server's {"error"} message of a refusal, or the status.
std::string RefusalText(int status, const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    std::string message = JsonText(v.as_object(), "error");
    if (!message.empty()) return message;
  }
  return "server answered " + std::to_string(status);
}

void FlushFile(const std::string& path, bool folder) {
  int fd = ::open(path.c_str(), (folder ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Streams GET `target` into `file`; returns "" or why it failed.
std::string Download(const AdminEndpoint& endpoint, const std::string& target,
                     const std::string& file, Progress& progress) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) return "cannot write " + file;
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    SendAdminGet(stream, endpoint.server, endpoint.token, target);
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    http::read_header(stream, buffer, parser);
    const int status = static_cast<int>(parser.get().result_int());
    std::string refusal;
    std::vector<char> chunk(64u << 10);
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      beast::error_code ec;
      http::read(stream, buffer, parser, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return "the server broke off the archive: " + ec.message();
      const size_t n = chunk.size() - parser.get().body().size;
      if (status == 200) {
        out.write(chunk.data(), static_cast<std::streamsize>(n));
        if (!out) return "cannot write " + file;
        progress.Add(n);
      } else if (refusal.size() < (64u << 10)) {
        refusal.append(chunk.data(), n);
      }
    }
    if (status != 200) return RefusalText(status, refusal);
  } catch (const std::exception& e) {
    return "cannot reach the Dorm server at " + endpoint.server + ": " + e.what();
  }
  out.close();
  if (!out) return "cannot write " + file;
  FlushFile(file, false);
  return "";
}

// Reads the archive at `path` whole, checking every file; `on_file` sees each file's header and
// bytes (it may be empty). Returns the manifest, or nullopt with `*error` set.
// `on_ref` sees each reference of an incremental backup (none when null).
std::optional<json::object> CheckArchive(
    const std::string& path, std::string* error,
    const std::function<bool(const control::ArchiveReader::File&, std::string_view)>& on_bytes =
        nullptr,
    const std::function<bool(const control::ArchiveReader::File&)>& on_done = nullptr,
    const std::function<bool(const control::ArchiveReader::File&)>& on_ref = nullptr) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  control::ArchiveReader reader(
      [&in](char* out, size_t n) {
        in.read(out, static_cast<std::streamsize>(n));
        return static_cast<size_t>(in.gcount());
      },
      control::ArchiveLimits{});
  auto manifest = reader.ReadManifest(error);
  if (!manifest) return std::nullopt;
  for (;;) {
    control::ArchiveReader::File file;
    auto next = reader.ReadNext(&file, error);
    if (next == control::ArchiveReader::Next::kError) return std::nullopt;
    if (next == control::ArchiveReader::Next::kEnd) break;
    if (next == control::ArchiveReader::Next::kReference) {
      if (on_ref && !on_ref(file)) return std::nullopt;
      continue;
    }
    bool ok = reader.ReadFileBytes(
        file, [&](std::string_view bytes) { return !on_bytes || on_bytes(file, bytes); }, error);
    if (!ok) return std::nullopt;
    if (on_done && !on_done(file)) return std::nullopt;
  }
  return manifest;
}

// Indexes the alarm each restored object database holds. The backup copied the alarm index
// before the objects, each object at its own moment after: an alarm set in between is in the
// object's file only, and one deleted in between is still in the copied index. The files are the
// truth, as they are for the running server. Names (shown as ctx.id.name when the alarm fires)
// come from the restored objects index, else the copied alarm index keeps its own. A file whose
// alarm cannot be read is left to the copied index (with a warning). Returns "" or what failed.
std::string IndexRestoredAlarms(const std::string& data, const std::vector<std::string>& paths) {
  std::map<std::string, std::string> names;  // "app/class/id" -> name
  sqlite3* db = nullptr;
  const std::string registry = "file:" + data + "/registry.sqlite?mode=ro";
  if (sqlite3_open_v2(registry.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT app, class, id, name FROM object_index WHERE name IS NOT NULL",
                           -1, &st, nullptr) == SQLITE_OK) {
      auto text = [&](int i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        return std::string(t ? reinterpret_cast<const char*>(t) : "",
                           static_cast<size_t>(sqlite3_column_bytes(st, i)));
      };
      while (sqlite3_step(st) == SQLITE_ROW) {
        names[text(0) + "/" + text(1) + "/" + text(2)] = text(3);
      }
    }
    sqlite3_finalize(st);
  }
  sqlite3_close_v2(db);
  try {
    std::vector<storage::AlarmChange> changes;
    for (const std::string& path : paths) {
      // objects/<app>/<class>/<xx>/<id>.sqlite, as ArchivePathProblem checked.
      std::vector<std::string> parts;
      size_t start = 0;
      for (size_t slash; (slash = path.find('/', start)) != std::string::npos; start = slash + 1) {
        parts.push_back(path.substr(start, slash - start));
      }
      parts.push_back(path.substr(start));
      if (parts.size() != 5 || parts[4].size() <= 7) continue;
      const std::string id = parts[4].substr(0, parts[4].size() - 7);  // less ".sqlite"
      std::optional<long long> alarm;
      try {
        alarm = storage::StoredAlarm(data + "/" + path);
      } catch (const storage::StorageError& e) {
        // The file is restored as it was backed up; the server reports it when the object is
        // used. One unreadable database does not stop the others' alarms.
        std::cerr << "dorm: warning: " << e.what() << "\n";
        continue;
      }
      auto name = names.find(parts[1] + "/" + parts[2] + "/" + id);
      changes.push_back(storage::AlarmChange{
          storage::AlarmEntry{parts[1], parts[2], name == names.end() ? "" : name->second,
                              alarm.value_or(0), id},
          !alarm});
    }
    // The index is flushed when it closes.
    storage::AlarmIndex index(data);
    index.Apply(changes);
  } catch (const storage::StorageError& e) {
    return e.what();
  }
  return std::string();
}

}  // namespace

std::string SaveArchive(const AdminEndpoint& endpoint, const std::string& target,
                        const std::string& output, const std::string& label, size_t* files) {
  const std::string partial = output + ".partial";
  Progress progress(label);
  std::string error = Download(endpoint, target, partial, progress);
  progress.Done();
  *files = 0;
  if (error.empty()) {
    auto manifest = CheckArchive(partial, &error, nullptr, [files](const auto&) {
      ++*files;
      return true;
    });
    if (!manifest) error = "the archive received is invalid: " + error;
  }
  if (error.empty() && std::rename(partial.c_str(), output.c_str()) != 0) {
    error = "cannot write " + output;
  }
  if (!error.empty()) {
    std::remove(partial.c_str());
    return error;
  }
  FlushFile(std::filesystem::path(output).parent_path().string(), true);
  return "";
}

int ExportCommand(const std::vector<std::string>& positional,
                  const std::map<std::string, std::string>& flags) {
  std::vector<std::string> args;
  std::string output = FlagValue(flags, "output");
  for (size_t i = 0; i < positional.size(); ++i) {
    if (positional[i] == "-o") {
      if (i + 1 >= positional.size()) return Usage(kExportUsage);
      output = positional[++i];
    } else {
      args.push_back(positional[i]);
    }
  }
  if (args.empty() || args.size() > 2 || output.empty()) return Usage(kExportUsage);
  std::string app = FlagValue(flags, "app");
  if (app.empty()) app = "default";
  std::string target = "/_admin/v1/apps/" + PercentEncodeSegment(app) + "/classes/" +
                       PercentEncodeSegment(args[0]) + "/export";
  if (args.size() == 2) target += "?object=" + PercentEncodeSegment(args[1]);
  auto endpoint = Endpoint(flags);
  if (!endpoint) return 1;
  size_t files = 0;
  const std::string error = SaveArchive(*endpoint, target, output, "exporting " + args[0], &files);
  if (!error.empty()) return Failed(error);
  std::cout << "exported " << files << " object" << (files == 1 ? "" : "s") << " of " << app << "/"
            << args[0] << " to " << output << "\n";
  return 0;
}

int ImportCommand(const std::vector<std::string>& positional,
                  const std::map<std::string, std::string>& flags) {
  if (positional.size() != 1) return Usage(kImportUsage);
  const std::string& file = positional[0];
  std::string error;
  auto manifest = CheckArchive(file, &error);
  if (!manifest) return Failed(file + ": " + error);
  if (JsonText(*manifest, "kind") != "export") {
    return Failed(file + " is not an export (restore a backup with dorm restore)");
  }
  std::string name = FlagValue(flags, "as");
  if (name.empty()) name = JsonText(*manifest, "class");
  std::string app = FlagValue(flags, "app");
  if (app.empty()) app = JsonText(*manifest, "app");
  if (app.empty() || name.empty()) return Failed(file + ": the manifest names no app or class");
  std::ifstream in(file, std::ios::binary);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto endpoint = Endpoint(flags);
  if (!endpoint) return 1;
  std::string target = "/_admin/v1/apps/" + PercentEncodeSegment(app) + "/classes/" +
                       PercentEncodeSegment(name) + "/import";
  if (FlagValue(flags, "force") == "true") target += "?force=true";
  if (isatty(2)) {
    std::fprintf(stderr, "importing %.1f MB into %s/%s...\n",
                 static_cast<double>(body.size()) / (1 << 20), app.c_str(), name.c_str());
  }
  AdminResponse r;
  try {
    r = AdminRequest(endpoint->server, endpoint->token, "POST", target, body);
  } catch (const std::exception& e) {
    return Failed(e.what());
  }
  if (r.status != 200) return Failed(RefusalText(r.status, r.body));
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  auto number = [&](const char* key) -> std::string {
    const json::value* n = !ec && v.is_object() ? v.as_object().if_contains(key) : nullptr;
    return n && n->is_number() ? json::serialize(*n) : "?";
  };
  const std::string count = number("imported");
  const std::string replaced = number("replaced");
  std::cout << "imported " << count << " objects into " << app << "/" << name << " (" << replaced
            << " replaced)\n";
  return 0;
}

namespace {

// Where an earlier backup holds an object's bytes: `archive` is relative to that backup's folder
// (empty: its own backup.dorm).
struct HeldObject {
  std::string archive;
  uint64_t size = 0;
  std::string sha256;
};

bool IsBackupId(const std::string& id) {
  return control::IsBaseArchivePath("base/" + id + ".dorm");
}

// Removes what a failed backup left in its folder.
void RemoveBackupParts(const std::string& dir, const std::vector<std::string>& parts) {
  for (const std::string& part : parts) std::remove(part.c_str());
  std::error_code ec;
  std::filesystem::remove_all(dir + "/base", ec);
}

// Turns the incremental archive the server sent (`partial`) into the one kept (`output`): its
// "unchanged" frames become "ref" frames naming the archive, in DIR/base, that holds each
// object's bytes, and those archives are linked there from `prev` (copied if they cannot be
// linked, as across file systems). Returns "" or why it failed.
std::string KeepIncremental(const std::string& dir, const std::string& prev,
                            const std::string& prev_id,
                            const std::map<std::string, HeldObject>& held,
                            const std::string& partial, const std::string& output,
                            BackupSummary* summary) {
  std::ifstream in(partial, std::ios::binary);
  if (!in) return "cannot read " + partial;
  control::ArchiveReader reader(
      [&in](char* out, size_t n) {
        in.read(out, static_cast<std::streamsize>(n));
        return static_cast<size_t>(in.gcount());
      },
      control::ArchiveLimits{});
  std::string error;
  auto manifest = reader.ReadManifest(&error);
  if (!manifest) return "the archive received is invalid: " + error;
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  if (!out) return "cannot write " + output;
  (*manifest)["base"] = prev_id;
  out.write(control::kArchiveMagic, control::kArchiveMagicBytes);
  out << control::ArchiveFrame(*manifest);
  std::map<std::string, std::string> sources;  // "base/<id>.dorm" -> the file linked there
  for (;;) {
    control::ArchiveReader::File file;
    auto next = reader.ReadNext(&file, &error);
    if (next == control::ArchiveReader::Next::kError) {
      return "the archive received is invalid: " + error;
    }
    if (next == control::ArchiveReader::Next::kEnd) break;
    if (next == control::ArchiveReader::Next::kReference) {
      auto it = held.find(file.path);
      if (JsonText(file.header, "type") != "unchanged" || it == held.end()) {
        return "the server counts " + file.path + " as unchanged but " + prev +
               " does not hold it: take a full backup (without --incremental-from)";
      }
      const HeldObject& h = it->second;
      const std::string archive = h.archive.empty() ? "base/" + prev_id + ".dorm" : h.archive;
      sources[archive] = prev + "/" + (h.archive.empty() ? "backup.dorm" : h.archive);
      out << control::ArchiveFrame(json::object{{"type", "ref"},
                                                {"path", file.path},
                                                {"size", h.size},
                                                {"sha256", h.sha256},
                                                {"archive", archive}});
      ++summary->unchanged;
      continue;
    }
    out << control::ArchiveFrame(file.header);
    bool ok = reader.ReadFileBytes(
        file,
        [&out](std::string_view bytes) {
          out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
          return static_cast<bool>(out);
        },
        &error);
    if (!ok) return error.empty() ? "cannot write " + output : error;
    ++summary->files;
    if (file.path.compare(0, 8, "objects/") == 0) ++summary->copied;
  }
  json::object end{{"type", "end"}, {"files", summary->files}};
  if (summary->unchanged > 0) end["refs"] = summary->unchanged;
  out << control::ArchiveFrame(end);
  out.close();
  if (!out) return "cannot write " + output;
  FlushFile(output, false);
  std::error_code ec;
  if (!sources.empty()) std::filesystem::create_directory(dir + "/base", ec);
  for (const auto& [archive, source] : sources) {
    const std::string target = dir + "/" + archive;
    if (::link(source.c_str(), target.c_str()) == 0) {
      ++summary->linked;
      continue;
    }
    std::filesystem::copy_file(source, target, ec);
    if (ec) return "cannot link or copy " + source + " to " + target + ": " + ec.message();
    FlushFile(target, false);
    ++summary->base_copies;
  }
  if (!sources.empty()) FlushFile(dir + "/base", true);
  return "";
}

}  // namespace

std::string SaveBackup(const AdminEndpoint& endpoint, const std::string& dir,
                       const std::string& prev, BackupSummary* summary) {
  *summary = BackupSummary{};
  const std::string archive = dir + "/backup.dorm";
  std::string target = "/_admin/v1/backup";
  std::map<std::string, HeldObject> held;
  std::string prev_id;
  std::string error;
  if (!prev.empty()) {
    // The earlier backup, checked whole: where each of its objects' bytes are.
    const std::string prev_archive = prev + "/backup.dorm";
    auto manifest = CheckArchive(
        prev_archive, &error, nullptr,
        [&held](const control::ArchiveReader::File& file) {
          if (file.path.compare(0, 8, "objects/") == 0) {
            held[file.path] = HeldObject{"", file.size, file.sha256};
          }
          return true;
        },
        [&held](const control::ArchiveReader::File& file) {
          if (file.archive.empty()) return true;  // "unchanged": not a kept backup's frame
          held[file.path] = HeldObject{file.archive, file.size, file.sha256};
          return true;
        });
    if (!manifest) return prev_archive + ": " + error;
    prev_id = JsonText(*manifest, "backup_id");
    const std::string changes = JsonText(*manifest, "changes");
    if (JsonText(*manifest, "kind") != "backup" || !IsBackupId(prev_id) || changes.empty()) {
      return prev_archive +
             " cannot be built on (not a backup, or made by a server without incremental "
             "backups): take a full backup";
    }
    for (const auto& [path, h] : held) {
      std::error_code ec;
      if (!h.archive.empty() && !std::filesystem::is_regular_file(prev + "/" + h.archive, ec)) {
        return prev + "/" + h.archive + " is missing: take a full backup";
      }
    }
    target += "?since=" + PercentEncodeSegment(changes);
  }
  const std::string partial = archive + ".partial";
  Progress progress(prev.empty() ? "backing up" : "backing up what changed");
  error = Download(endpoint, target, partial, progress);
  progress.Done();
  std::optional<json::object> manifest;
  if (error.empty()) {
    manifest = CheckArchive(
        partial, &error, nullptr,
        [summary](const control::ArchiveReader::File& file) {
          ++summary->files;
          if (file.path.compare(0, 8, "objects/") == 0) ++summary->copied;
          return true;
        },
        [&prev, &error](const control::ArchiveReader::File&) {
          if (prev.empty()) error = "a full backup lists unchanged objects";
          return !prev.empty();
        });
    if (!manifest) error = "the archive received is invalid: " + error;
  }
  if (error.empty()) {
    summary->incremental = manifest->if_contains("incremental") &&
                           manifest->at("incremental").is_bool() &&
                           manifest->at("incremental").as_bool();
    summary->full_reason = JsonText(*manifest, "full_reason");
    if (summary->incremental && prev.empty()) error = "the server sent an incremental backup";
  }
  if (error.empty()) {
    if (summary->incremental) {
      const std::string kept = archive + ".kept";
      BackupSummary counts;
      counts.incremental = true;
      error = KeepIncremental(dir, prev, prev_id, held, partial, kept, &counts);
      if (error.empty() && std::rename(kept.c_str(), archive.c_str()) != 0) {
        error = "cannot write " + archive;
      }
      if (!error.empty()) RemoveBackupParts(dir, {kept});
      *summary = counts;
    } else if (std::rename(partial.c_str(), archive.c_str()) != 0) {
      error = "cannot write " + archive;
    }
  }
  std::remove(partial.c_str());
  if (!error.empty()) {
    RemoveBackupParts(dir, {partial});
    return error;
  }
  FlushFile(dir, true);
  return "";
}

int BackupCommand(const std::vector<std::string>& positional,
                  const std::map<std::string, std::string>& flags) {
  if (positional.size() != 1) return Usage(kBackupUsage);
  const std::string& dir = positional[0];
  const std::string prev = FlagValue(flags, "incremental-from");
  std::error_code ec;
  if (!prev.empty() && std::filesystem::equivalent(dir, prev, ec)) {
    return Failed("back up into another folder than " + prev);
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return Failed("cannot create " + dir + ": " + ec.message());
  const std::string archive = dir + "/backup.dorm";
  if (std::filesystem::exists(archive, ec) || std::filesystem::exists(dir + "/base", ec)) {
    return Failed(archive + " exists: back up into another folder");
  }
  auto endpoint = Endpoint(flags);
  if (!endpoint) return 1;
  BackupSummary summary;
  const std::string error = SaveBackup(*endpoint, dir, prev, &summary);
  if (!error.empty()) return Failed(error);
  std::cout << "backed up " << summary.files << " files to " << archive;
  if (summary.incremental) {
    std::cout << ": " << summary.copied << " objects copied, " << summary.unchanged
              << " unchanged objects kept from " << prev << " (" << summary.linked
              << " archives linked";
    if (summary.base_copies > 0) std::cout << ", " << summary.base_copies << " copied";
    std::cout << " into " << dir << "/base)";
  } else if (!prev.empty()) {
    std::cout << ": a full backup, as " << summary.full_reason;
  }
  std::cout << "\n";
  return 0;
}

int RestoreCommand(const std::vector<std::string>& positional,
                   const std::map<std::string, std::string>& flags) {
  const std::string data = FlagValue(flags, "data");
  if (positional.size() != 1 || data.empty()) return Usage(kRestoreUsage);
  const std::string archive = positional[0] + "/backup.dorm";
  std::error_code ec;
  if (std::filesystem::exists(data, ec) && !std::filesystem::is_empty(data, ec)) {
    return Failed(data + " is not empty: restore into a new folder");
  }
  std::filesystem::create_directories(data, ec);
  if (ec) return Failed("cannot create " + data + ": " + ec.message());
  // Each file is written next to its place and renamed once its checksum is verified.
  std::ofstream out;
  std::string error;
  std::string write_error;
  size_t files = 0;
  std::vector<std::string> object_paths;
  auto write_bytes = [&](const control::ArchiveReader::File& file, std::string_view bytes) {
    if (!out.is_open()) {
      const std::string part = data + "/" + file.path + ".partial";
      std::filesystem::create_directories(std::filesystem::path(part).parent_path(), ec);
      out.open(part, std::ios::binary | std::ios::trunc);
      if (!out) {
        write_error = "cannot write " + part;
        return false;
      }
    }
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(out);
  };
  auto finish_file = [&](const control::ArchiveReader::File& file) {
    const std::string path = data + "/" + file.path;
    if (!out.is_open()) {  // an empty file
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
      out.open(path + ".partial", std::ios::binary | std::ios::trunc);
    }
    out.close();
    if (!out) {
      write_error = "cannot write " + path;
      return false;
    }
    FlushFile(path + ".partial", false);
    if (file.path == "secrets.key" || file.path == "admin-token") {
      ::chmod((path + ".partial").c_str(), 0600);
    }
    if (std::rename((path + ".partial").c_str(), path.c_str()) != 0) {
      write_error = "cannot write " + path;
      return false;
    }
    FlushFile(std::filesystem::path(path).parent_path().string(), true);
    if (file.path.compare(0, 8, "objects/") == 0) object_paths.push_back(file.path);
    ++files;
    return true;
  };
  // An incremental backup's unchanged objects, by the base archive holding them, then path.
  std::map<std::string, std::map<std::string, control::ArchiveReader::File>> refs;
  size_t ref_count = 0;
  auto manifest = CheckArchive(archive, &error, write_bytes, finish_file,
                               [&](const control::ArchiveReader::File& file) {
                                 if (file.archive.empty()) {
                                   error = "an unchanged object without its base archive";
                                   return false;
                                 }
                                 refs[file.archive][file.path] = file;
                                 ++ref_count;
                                 return true;
                               });
  if (!manifest) {
    if (!write_error.empty()) error = write_error;
    return Failed(archive + ": " + error + " (" + data + " is incomplete: remove it)");
  }
  if (JsonText(*manifest, "kind") != "backup") {
    return Failed(archive + " is not a backup (" + data + " is incomplete: remove it)");
  }
  // Then each base archive, for the files referred to (checked against the SHA-256 the reference
  // names as well as the base's own).
  for (auto& entry : refs) {
    // Named, not structured bindings: lambdas capture them.
    const std::string& base = entry.first;
    std::map<std::string, control::ArchiveReader::File>& wanted = entry.second;
    const std::string base_path = positional[0] + "/" + base;
    auto wants = [&wanted](const control::ArchiveReader::File& file) {
      auto it = wanted.find(file.path);
      return it != wanted.end() && it->second.sha256 == file.sha256 && it->second.size == file.size;
    };
    auto base_manifest = CheckArchive(
        base_path, &error,
        [&](const control::ArchiveReader::File& file, std::string_view bytes) {
          return !wants(file) || write_bytes(file, bytes);
        },
        [&](const control::ArchiveReader::File& file) {
          if (!wants(file)) return true;
          wanted.erase(file.path);
          return finish_file(file);
        });
    if (!base_manifest || JsonText(*base_manifest, "kind") != "backup") {
      if (!write_error.empty()) error = write_error;
      if (base_manifest) error = "not a backup";
      return Failed(base_path + ": " + error + " (" + data + " is incomplete: remove it)");
    }
    if (!wanted.empty()) {
      return Failed(base_path + " does not hold " + wanted.begin()->first + " as " + archive +
                    " refers to it (" + data + " is incomplete: remove it)");
    }
  }
  // The objects list is rebuilt from the restored files at the first start: objects created in
  // the seconds before the backup may not have reached the index it holds.
  sqlite3* db = nullptr;
  const std::string registry = data + "/registry.sqlite";
  if (std::filesystem::exists(registry, ec) &&
      sqlite3_open_v2(registry.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_exec(db, "DELETE FROM object_index_meta", nullptr, nullptr, nullptr);
  }
  sqlite3_close_v2(db);
  const std::string alarm_error = IndexRestoredAlarms(data, object_paths);
  if (!alarm_error.empty()) {
    return Failed("cannot index the restored alarms: " + alarm_error + " (" + data +
                  " is incomplete: remove it)");
  }
  FlushFile(data, true);
  std::cout << "restored " << files << " files into " << data;
  if (ref_count > 0) {
    std::cout << " (" << ref_count << " unchanged objects from " << refs.size()
              << " base archives)";
  }
  std::cout << ": start it with dorm serve --data " << data << "\n";
  return 0;
}

}  // namespace dorm::cli
