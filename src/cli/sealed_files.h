// Files in and out of encrypted exports (crypto/sealed_export.h), shared by `ferry crypto
// seal|open` and by `ferry copy` from a `.ferry` file (an export `ferry copy` writes is written
// by the copy engine directly: cli/export_target.h).
#ifndef FERRY_CLI_SEALED_FILES_H_
#define FERRY_CLI_SEALED_FILES_H_

#include <string>
#include <utility>
#include <vector>

#include "base/env.h"
#include "crypto/sealed_export.h"

namespace ferry {

// (entry name, path) of every regular file under `paths`: a file under its own name, a
// directory's files under names relative to the directory's parent (or to the directory itself
// with `inside`), in name order.
[[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> FilesToSeal(
    const std::vector<std::string>& paths, bool inside = false);

// Seals `files` into `out` (written as OUT.partial, renamed when complete; removed on failure).
// Returns the export's size in bytes.
[[nodiscard]] Result<int64_t> SealFiles(
    const std::vector<std::pair<std::string, std::string>>& files,
    const std::vector<crypto::PublicIdentity>& recipients, const crypto::Identity& signer,
    const std::string& out, std::string_view extra_json = {});

// Verifies and decrypts `in` into the new directory `out` (via OUT.partial, renamed only once
// every chunk, checksum and signature verified; nothing is left when any fails).
[[nodiscard]] Result<crypto::ExportManifest> OpenExportInto(const std::string& in,
                                                            const crypto::Identity& identity,
                                                            const std::string& out,
                                                            std::string_view expected_signer = {});

// An identity file, or a recipient given as text or as a file holding it or an identity.
[[nodiscard]] Result<crypto::Identity> LoadIdentityFile(Env* env, const std::string& path);
// ReadRecipient's errors are the parser's; LoadRecipient names the --to argument in them.
[[nodiscard]] Result<crypto::PublicIdentity> ReadRecipient(Env* env, const std::string& arg);
[[nodiscard]] Result<crypto::PublicIdentity> LoadRecipient(Env* env, const std::string& arg);

}  // namespace ferry

#endif  // FERRY_CLI_SEALED_FILES_H_
