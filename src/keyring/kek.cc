#include "keyring/kek.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "base/json.h"
#include "crypto/classical.h"
#include "crypto/pkcs11.h"
#include "crypto/random.h"

namespace ferry::keyring {
namespace {

using crypto::Bytes;
using crypto::ByteView;
using crypto::SecretBytes;

constexpr size_t kKeySize = 32;
constexpr size_t kIvSize = 12;

Status Posix(std::string_view what, const std::string& path, int err) {
  return Unavailable("{} {}: {}", what, path, std::strerror(err));
}

// Writes `bytes` to `path` with mode 0600 through a temporary file renamed over it, fsyncing the
// file and its directory: the key is either whole on disk or not there.
Status WritePrivateFile(const std::string& path, ByteView bytes) {
  const std::string temp = path + ".tmp";
  ::unlink(temp.c_str());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Posix("create key file", temp, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return Posix("write key file", temp, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return Posix("sync key file", temp, err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return Posix("rename key file into", path, err);
  }
  const std::string dir =
      path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
  const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return OkStatus();
}

class FileKekProvider final : public KekProvider {
 public:
  FileKekProvider(Env* env, std::string directory) : env_(env), directory_(std::move(directory)) {}

  std::string backend() const override { return "file"; }
  std::string where() const override { return fmt::format("directory {}", directory_); }
  bool Holds(const KekRecord& kek) const override { return kek.backend == "file"; }

  Result<std::string> Create(int64_t version) override {
    if (directory_.empty()) {
      return Err(InvalidArgument(
          "no KEK directory: give --kek-dir DIR (or FERRY_KEK_DIR) for the key files, or "
          "--kek-token LABEL for a PKCS#11 token"));
    }
    if (::mkdir(directory_.c_str(), 0700) != 0 && errno != EEXIST) {
      return Err(Posix("create KEK directory", directory_, errno));
    }
    FERRY_ASSIGN_OR_RETURN(SecretBytes key, crypto::RandomSecret(kKeySize));
    const std::string path = fmt::format("{}/{}", directory_, KekFileName(version));
    FERRY_RETURN_IF_ERROR(WritePrivateFile(path, key.view()));
    return CanonicalJson(Json{{"path", path}});
  }

  Result<Bytes> Wrap(const KekRecord& kek, ByteView aad, ByteView plaintext) override {
    FERRY_ASSIGN_OR_RETURN(SecretBytes key, Load(kek));
    Bytes iv(kIvSize);
    FERRY_RETURN_IF_ERROR(crypto::FillRandom(iv));
    FERRY_ASSIGN_OR_RETURN(Bytes sealed, crypto::AesGcmSeal(key.view(), iv, aad, plaintext));
    return crypto::Concat({iv, sealed});
  }

  Result<SecretBytes> Unwrap(const KekRecord& kek, ByteView aad, ByteView wrapped) override {
    FERRY_ASSIGN_OR_RETURN(SecretBytes key, Load(kek));
    if (wrapped.size() < kIvSize + 16) {
      return Err(Unauthenticated("KEK v{} (file {}): a wrapping of {} bytes is too short",
                                 kek.version, PathOf(kek), wrapped.size()));
    }
    Result<Bytes> opened =
        crypto::AesGcmOpen(key.view(), wrapped.first(kIvSize), aad, wrapped.subspan(kIvSize));
    if (!opened.has_value()) {
      return Err(Unauthenticated(
          "KEK v{} (file {}) does not open this wrapping: the file holds another key than the "
          "one that wrapped it, or the store's row was altered",
          kek.version, PathOf(kek)));
    }
    return SecretBytes(std::move(*opened));
  }

  Status Destroy(const KekRecord& kek) override {
    const std::string path = ResolvePath(kek);
    if (path.empty()) return InvalidArgument("KEK v{}: its locator names no file", kek.version);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return OkStatus();  // destroyed already
      return Posix("open KEK file to destroy it", path, errno);
    }
    // Overwrite before unlinking, so the key does not stay in the freed blocks of a plain file
    // system (a copy-on-write or journaling one may still keep old blocks: docs/crypto.md).
    struct stat st{};
    const size_t size = ::fstat(fd, &st) == 0 ? static_cast<size_t>(st.st_size) : kKeySize;
    const Bytes zeros(std::max(size, kKeySize), 0);
    const bool written =
        ::pwrite(fd, zeros.data(), zeros.size(), 0) == static_cast<ssize_t>(zeros.size()) &&
        ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!written) return Posix("overwrite KEK file", path, err);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Posix("remove KEK file", path, errno);
    }
    return OkStatus();
  }

 private:
  static std::string PathOf(const KekRecord& kek) {
    const Json locator = Json::parse(kek.locator, nullptr, false);
    if (!locator.is_object() || !locator.contains("path") || !locator["path"].is_string()) {
      return "";
    }
    return locator["path"].get<std::string>();
  }

  // The file the store's locator names; when it is gone and this provider has a directory, the
  // file of that version there (a key directory that was moved or restored elsewhere).
  std::string ResolvePath(const KekRecord& kek) const {
    std::string path = PathOf(kek);
    if (!path.empty() && env_->FileExists(path)) return path;
    if (!directory_.empty()) {
      const std::string moved = fmt::format("{}/{}", directory_, KekFileName(kek.version));
      if (env_->FileExists(moved)) return moved;
    }
    return path;
  }

  Result<SecretBytes> Load(const KekRecord& kek) {
    const std::string path = ResolvePath(kek);
    if (path.empty()) {
      return Err(DataLoss("KEK v{}: the store's locator `{}` names no key file", kek.version,
                          kek.locator));
    }
    if (!env_->FileExists(path)) {
      return Err(NotFound(
          "KEK v{}: key file {} is missing: restore it from its backup (what it wraps cannot be "
          "read without it), or point --kek-dir (FERRY_KEK_DIR) at the directory it was moved to",
          kek.version, path));
    }
    FERRY_ASSIGN_OR_RETURN(std::string bytes, env_->ReadFile(path));
    if (bytes.size() != kKeySize) {
      const size_t n = bytes.size();
      crypto::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()));
      return Err(DataLoss("KEK v{}: key file {} holds {} bytes, not the {} of a ferry KEK",
                          kek.version, path, n, kKeySize));
    }
    SecretBytes key(crypto::AsBytes(bytes));
    crypto::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()));
    return key;
  }

  Env* env_;
  std::string directory_;
};

class Pkcs11KekProvider final : public KekProvider {
 public:
  Pkcs11KekProvider(std::string module_path, std::string token, std::string pin)
      : module_path_(std::move(module_path)), token_(std::move(token)), pin_(std::move(pin)) {}

  std::string backend() const override { return "pkcs11"; }
  std::string where() const override { return fmt::format("token {}", token_); }
  bool Holds(const KekRecord& kek) const override {
    if (kek.backend != "pkcs11") return false;
    const Json locator = Json::parse(kek.locator, nullptr, false);
    return locator.is_object() && locator.value("token", "") == token_;
  }

  Result<std::string> Create(int64_t version) override {
    FERRY_RETURN_IF_ERROR(Connect());
    const std::string label = fmt::format("ferry-kek-v{}", version);
    const std::string id = fmt::format("ferry-kek-v{}", version);
    // A key left by an attempt that stopped before the store named it is replaced.
    FERRY_ASSIGN_OR_RETURN(std::vector<crypto::TokenKey> old,
                           session_->Find(label, crypto::Hex(crypto::AsBytes(id))));
    for (const crypto::TokenKey& key : old) FERRY_RETURN_IF_ERROR(session_->Destroy(key.handle));
    FERRY_ASSIGN_OR_RETURN(uint64_t handle, session_->GenerateAes(label, crypto::AsBytes(id), 256,
                                                                  /*extractable=*/false,
                                                                  /*token=*/true));
    (void)handle;
    return CanonicalJson(Json{{"module", module_path_}, {"token", token_}, {"label", label}});
  }

  Result<Bytes> Wrap(const KekRecord& kek, ByteView aad, ByteView plaintext) override {
    FERRY_ASSIGN_OR_RETURN(uint64_t handle, Handle(kek));
    Bytes iv(kIvSize);
    FERRY_RETURN_IF_ERROR(crypto::FillRandom(iv));
    FERRY_ASSIGN_OR_RETURN(Bytes sealed, session_->SealGcm(handle, iv, aad, plaintext));
    return crypto::Concat({iv, sealed});
  }

  Result<SecretBytes> Unwrap(const KekRecord& kek, ByteView aad, ByteView wrapped) override {
    FERRY_ASSIGN_OR_RETURN(uint64_t handle, Handle(kek));
    if (wrapped.size() < kIvSize + 16) {
      return Err(Unauthenticated("KEK v{} (token {}): a wrapping of {} bytes is too short",
                                 kek.version, token_, wrapped.size()));
    }
    Result<Bytes> opened =
        session_->OpenGcm(handle, wrapped.first(kIvSize), aad, wrapped.subspan(kIvSize));
    if (!opened.has_value()) {
      if (opened.error().code() != StatusCode::kUnauthenticated) return Err(opened.error());
      return Err(Unauthenticated(
          "KEK v{} (token {}, key {}) does not open this wrapping: the token holds another key "
          "under that label than the one that wrapped it, or the store's row was altered",
          kek.version, token_, LabelOf(kek)));
    }
    return SecretBytes(std::move(*opened));
  }

  Status Destroy(const KekRecord& kek) override {
    FERRY_RETURN_IF_ERROR(Connect());
    const std::string label = LabelOf(kek);
    FERRY_ASSIGN_OR_RETURN(std::vector<crypto::TokenKey> keys,
                           session_->Find(label, crypto::Hex(crypto::AsBytes(label))));
    for (const crypto::TokenKey& key : keys) FERRY_RETURN_IF_ERROR(session_->Destroy(key.handle));
    return OkStatus();
  }

 private:
  static std::string LabelOf(const KekRecord& kek) {
    const Json locator = Json::parse(kek.locator, nullptr, false);
    return locator.is_object() ? locator.value("label", "") : "";
  }

  Status Connect() {
    if (session_ != nullptr) return OkStatus();
    if (pin_.empty()) {
      return InvalidArgument(
          "token {}: no PIN: set the variable named by --pin-env (default FERRY_PIN) to the "
          "token's user PIN",
          token_);
    }
    FERRY_ASSIGN_OR_RETURN(module_, SharedPkcs11Module(module_path_));
    FERRY_ASSIGN_OR_RETURN(session_, module_->Open(token_, pin_));
    return OkStatus();
  }

  Result<uint64_t> Handle(const KekRecord& kek) {
    FERRY_RETURN_IF_ERROR(Connect());
    const std::string label = LabelOf(kek);
    FERRY_ASSIGN_OR_RETURN(std::vector<crypto::TokenKey> keys,
                           session_->Find(label, crypto::Hex(crypto::AsBytes(label))));
    for (const crypto::TokenKey& key : keys) {
      if (key.object_class == "secret") return key.handle;
    }
    return Err(
        NotFound("KEK v{}: token {} has no key labelled {}: it was destroyed or the token was "
                 "re-initialised; what it wraps cannot be read without it",
                 kek.version, token_, label));
  }

  std::string module_path_, token_, pin_;
  std::shared_ptr<crypto::Pkcs11Module> module_;
  std::unique_ptr<crypto::Pkcs11Session> session_;
};

}  // namespace

Result<std::shared_ptr<crypto::Pkcs11Module>> SharedPkcs11Module(const std::string& module_path) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<crypto::Pkcs11Module>>* loaded =
      new std::map<std::string, std::weak_ptr<crypto::Pkcs11Module>>();
  std::lock_guard lock(mu);
  if (std::shared_ptr<crypto::Pkcs11Module> module = (*loaded)[module_path].lock()) return module;
  FERRY_ASSIGN_OR_RETURN(std::shared_ptr<crypto::Pkcs11Module> module,
                         crypto::Pkcs11Module::Load(module_path));
  (*loaded)[module_path] = module;
  return module;
}

std::string KekFileName(int64_t version) { return fmt::format("kek-v{}.key", version); }

std::unique_ptr<KekProvider> NewFileKekProvider(Env* env, std::string directory) {
  return std::make_unique<FileKekProvider>(env, std::move(directory));
}

std::unique_ptr<KekProvider> NewPkcs11KekProvider(std::string module_path, std::string token,
                                                  std::string pin) {
  return std::make_unique<Pkcs11KekProvider>(std::move(module_path), std::move(token),
                                             std::move(pin));
}

}  // namespace ferry::keyring
