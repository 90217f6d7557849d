#include "cli/sealed_files.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace ferry {
namespace {
namespace fs = std::filesystem;
using FilePtr = std::unique_ptr<FILE, int (*)(FILE*)>;
}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> FilesToSeal(
    const std::vector<std::string>& paths, bool inside) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      const fs::path dir = fs::path(p).lexically_normal();
      const fs::path base = inside ? dir : dir.parent_path();
      std::vector<fs::path> found;
      for (const auto& e : fs::recursive_directory_iterator(p, ec)) {
        if (e.is_regular_file()) found.push_back(e.path());
      }
      std::sort(found.begin(), found.end());
      for (const fs::path& f : found)
        files.emplace_back(f.lexically_relative(base).string(), f.string());
    } else if (fs::is_regular_file(p, ec)) {
      files.emplace_back(fs::path(p).filename().string(), p);
    } else {
      return Err(InvalidArgument("{}: no such file or directory to seal", p));
    }
  }
  return files;
}

Result<int64_t> SealFiles(const std::vector<std::pair<std::string, std::string>>& files,
                          const std::vector<crypto::PublicIdentity>& recipients,
                          const crypto::Identity& signer, const std::string& out,
                          std::string_view extra_json) {
  const std::string partial = out + ".partial";
  FilePtr file(std::fopen(partial.c_str(), "wbx"), std::fclose);
  if (!file)
    return Err(InvalidArgument("{}: cannot create {}: {}", out, partial, std::strerror(errno)));
  auto fail = [&](Status st) -> Result<int64_t> {
    file.reset();
    std::remove(partial.c_str());
    return Err(std::move(st));
  };
  Result<std::unique_ptr<crypto::ExportWriter>> writer = crypto::ExportWriter::Create(
      [&](crypto::ByteView b) {
        return std::fwrite(b.data(), 1, b.size(), file.get()) == b.size()
                   ? OkStatus()
                   : Internal("writing {}: {}", partial, std::strerror(errno));
      },
      recipients, signer);
  if (!writer.has_value()) return fail(writer.error());
  std::vector<uint8_t> buffer(1 << 20);
  for (const auto& [name, path] : files) {
    FilePtr in(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!in) return fail(InvalidArgument("{}: {}", path, std::strerror(errno)));
    if (Status st = (*writer)->BeginEntry(name); !st.ok()) return fail(st);
    size_t n;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), in.get())) > 0) {
      if (Status st = (*writer)->Write({buffer.data(), n}); !st.ok()) return fail(st);
    }
    if (std::ferror(in.get())) return fail(Internal("reading {}: {}", path, std::strerror(errno)));
    if (Status st = (*writer)->EndEntry(); !st.ok()) return fail(st);
  }
  if (Status st = (*writer)->Finish(extra_json); !st.ok()) return fail(st);
  if (std::fflush(file.get()) != 0 || ::fsync(::fileno(file.get())) != 0)
    return fail(Internal("writing {}", partial));
  file.reset();
  if (std::rename(partial.c_str(), out.c_str()) != 0) {
    return fail(Internal("renaming {} to {}: {}", partial, out, std::strerror(errno)));
  }
  return (*writer)->bytes_written();
}

Result<crypto::ExportManifest> OpenExportInto(const std::string& in_path,
                                              const crypto::Identity& id, const std::string& out,
                                              std::string_view expected_signer) {
  FilePtr in(std::fopen(in_path.c_str(), "rb"), std::fclose);
  if (!in) return Err(InvalidArgument("{}: {}", in_path, std::strerror(errno)));
  std::error_code ec;
  if (fs::exists(out, ec))
    return Err(AlreadyExists("{} exists; ferry opens an export into a new directory only", out));
  const std::string staging = out + ".partial";
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) return Err(InvalidArgument("{}: cannot create {}: {}", out, staging, ec.message()));
  fs::permissions(staging, fs::perms::owner_all, ec);
  FilePtr file(nullptr, std::fclose);
  crypto::ExportCallbacks cb{
      [&](std::string_view name) -> Status {
        const fs::path rel = fs::path(name).lexically_normal();
        if (rel.is_absolute() || rel.empty() || *rel.begin() == "..") {
          return DataLoss("entry \"{}\" would be written outside {}; refused", name, out);
        }
        const fs::path target = fs::path(staging) / rel;
        std::error_code e;
        fs::create_directories(target.parent_path(), e);
        file.reset(std::fopen(target.c_str(), "wb"));
        return file ? OkStatus() : Internal("{}: {}", target.string(), std::strerror(errno));
      },
      [&](crypto::ByteView data) -> Status {
        return std::fwrite(data.data(), 1, data.size(), file.get()) == data.size()
                   ? OkStatus()
                   : Internal("writing: {}", std::strerror(errno));
      },
      [&]() -> Status {
        file.reset();
        return OkStatus();
      }};
  Result<crypto::ExportManifest> manifest = crypto::ReadExport(
      [&](std::span<uint8_t> buf) -> Result<size_t> {
        const size_t n = std::fread(buf.data(), 1, buf.size(), in.get());
        if (n == 0 && std::ferror(in.get()))
          return Err(Internal("reading {}: {}", in_path, std::strerror(errno)));
        return n;
      },
      id, cb, expected_signer);
  file.reset();
  if (!manifest.has_value()) {
    fs::remove_all(staging, ec);
    return Err(manifest.error().WithContext(in_path));
  }
  fs::rename(staging, out, ec);
  if (ec) return Err(Internal("renaming {} to {}: {}", staging, out, ec.message()));
  return manifest;
}

Result<crypto::Identity> LoadIdentityFile(Env* env, const std::string& path) {
  Result<std::string> text = env->ReadFile(path);
  if (!text.has_value()) {
    return Err(InvalidArgument("--identity {}: {}; make one with `ferry crypto keygen --out {}`",
                               path, text.error().message(), path));
  }
  return crypto::Identity::FromJson(*text, path);
}

Result<crypto::PublicIdentity> ReadRecipient(Env* env, const std::string& arg) {
  std::string text = arg;
  if (!arg.starts_with("ferry-recipient-v1:") && env->FileExists(arg)) {
    FERRY_ASSIGN_OR_RETURN(text, env->ReadFile(arg));
    if (text.find("\"ferry-identity\"") != std::string::npos) {
      FERRY_ASSIGN_OR_RETURN(crypto::Identity id, crypto::Identity::FromJson(text, arg));
      return id.pub;
    }
  }
  return crypto::PublicIdentity::FromText(text);
}

Result<crypto::PublicIdentity> LoadRecipient(Env* env, const std::string& arg) {
  Result<crypto::PublicIdentity> r = ReadRecipient(env, arg);
  if (!r.has_value())
    return Err(InvalidArgument("--to {}: {}", arg.substr(0, 40), r.error().message()));
  return r;
}

}  // namespace ferry
