#pragma once
// Helpers shared by the commands that read resource files or the stored configuration, and by
// the commands that write a version (apply, delete, rollback, restore): they all read the
// active version, build a new set, validate it whole, show the diff, and commit it with an
// audit entry under optimistic concurrency. The steps they share live here so that every change
// path reports conflicts, validation problems and results the same way.

#include <memory>
#include <string>
#include <vector>

#include "cmd/gatehouse/cli.h"
#include "core/config/diff.h"
#include "core/config/model.h"
#include "core/store/store.h"

namespace gh::cli {

// Decodes files (every resource must be well-formed on its own); prints every diagnostic.
// Cross-resource validation is the caller's: `apply` validates the merged set, because a file
// may name resources that only the stored configuration holds.
bool decodeFiles(const std::vector<std::string>& paths, std::vector<config::Resource>* out);

// Opens DATA_DIR/config.db (creating the directory and database when `create`).
// Prints the error and returns nullptr on failure.
std::unique_ptr<store::Store> openStore(const std::string& dataDirFlag, bool create);

// Whether DATA_DIR/config.db exists.
bool storeExists(const std::string& dataDirFlag);

// The active version's resources, decoded. False (printed) on failure.
bool loadActive(store::Store& store, int64_t* version, std::vector<config::Resource>* out);

// Version `id`'s resources, decoded. False (printed) on failure, e.g. a version that history
// no longer holds.
bool loadVersion(store::Store& store, int64_t id, std::vector<config::Resource>* out);

// Stored resources decoded, with "version N:Kind/ns/name" as the file of their diagnostics.
bool decodeStored(int64_t version, const std::vector<store::StoredResource>& stored,
                  std::vector<config::Resource>* out);

// Cross-resource validation of a whole set; prints every problem. `what` leads the message
// ("delete Service default/app") when not empty.
bool validateSet(const std::vector<const config::Resource*>& set, const std::string& what = "");

// --- writing a version ---------------------------------------------------------------------

// The flags every command that writes a version takes, and what they say.
//   --base-version N  the version the change was decided on (default: the active version the
//                     command reads); the write is refused when another is active by then
//   --force           write even so (the change replaces whatever is active)
//   --message TEXT    kept with the version
inline const std::vector<Flags::Spec> kWriteFlags = {
    {"base-version"}, {"force", 0, false}, {"message", 'm'}};

struct WriteOptions {
  int64_t base = -1;  // -1: the active version read
  bool force = false;
  std::string message;
};

// Reads the write flags; prints and returns false on a usage error.
bool parseWriteOptions(const Flags& f, const std::string& command, WriteOptions* out);

// Refuses early (before any work) a change based on a version that is no longer active.
// Returns kOk, or kProblem after printing the conflict.
int checkBase(const std::string& command, const WriteOptions& opts, int64_t active);

// Commits `set` as a new version and prints the outcome ("applied version 7: ..." and the
// diff). `verb` names the result ("applied", "rolled back to", ...), `action` and `summary`
// go to the audit log. `activeRead` is the version the set was built from. Returns the exit
// code: kOk (also for no change), kProblem for a conflict, kUnavailable otherwise.
struct Outcome {
  std::string command;  // "apply", for messages
  std::string verb;     // "applied version N" is printed as verb + " version N"
  std::string action;   // audit action
  std::string summary;  // audit summary (the counts and the diff's keys are added)
  std::string defaultMessage;
};
int commitSet(store::Store& store, const std::vector<const config::Resource*>& set,
              const config::ConfigDiff& diff, int64_t activeRead, const WriteOptions& opts,
              const Outcome& outcome);

// --- reporting ------------------------------------------------------------------------------

// "cli pid 4242 on host edge-1": the audit log's `source` for the CLI.
std::string cliSource();
std::string hostName();

// "2024-11-26 16:50:01Z" from Unix milliseconds (UTC: an audit log is read across zones).
std::string formatTime(int64_t unixMs);

// A JSON string literal.
std::string quoteJson(std::string_view s);

}  // namespace gh::cli
