#include "crypto/pkcs11.h"

#include <dlfcn.h>

#include <cstring>

#include <fmt/format.h>
#include <p11-kit/pkcs11.h>

#include "crypto/classical.h"

namespace ferry::crypto {
namespace {

CK_FUNCTION_LIST* Fn(void* f) { return static_cast<CK_FUNCTION_LIST*>(f); }

std::string RvName(CK_RV rv) {
  switch (rv) {
    case CKR_OK: return "CKR_OK";
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_KEY_UNEXTRACTABLE: return "CKR_KEY_UNEXTRACTABLE";
    case CKR_KEY_NOT_WRAPPABLE: return "CKR_KEY_NOT_WRAPPABLE";
    case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_MECHANISM_PARAM_INVALID: return "CKR_MECHANISM_PARAM_INVALID";
    case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
    case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_ENCRYPTED_DATA_INVALID: return "CKR_ENCRYPTED_DATA_INVALID";
    case CKR_SIGNATURE_INVALID: return "CKR_SIGNATURE_INVALID";
    case CKR_WRAPPED_KEY_INVALID: return "CKR_WRAPPED_KEY_INVALID";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_SLOT_ID_INVALID: return "CKR_SLOT_ID_INVALID";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
    case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
    default: return fmt::format("CKR 0x{:x}", rv);
  }
}

Status Check(CK_RV rv, std::string_view what) {
  if (rv == CKR_OK) return OkStatus();
  if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED) {
    return PermissionDenied("{}: {}: check the PIN (a token locks after repeated wrong PINs)", what,
                            RvName(rv));
  }
  if (rv == CKR_SIGNATURE_INVALID || rv == CKR_ENCRYPTED_DATA_INVALID ||
      rv == CKR_WRAPPED_KEY_INVALID) {
    return Unauthenticated("{}: {}", what, RvName(rv));
  }
  if (rv == CKR_KEY_UNEXTRACTABLE || rv == CKR_KEY_NOT_WRAPPABLE ||
      rv == CKR_KEY_FUNCTION_NOT_PERMITTED) {
    return FailedPrecondition("{}: {}", what, RvName(rv));
  }
  return Internal("{}: {}", what, RvName(rv));
}

std::string Trimmed(const unsigned char* p, size_t n) {
  std::string s(reinterpret_cast<const char*>(p), n);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

const char* ClassName(CK_OBJECT_CLASS c) {
  return c == CKO_SECRET_KEY    ? "secret"
         : c == CKO_PRIVATE_KEY ? "private"
         : c == CKO_PUBLIC_KEY  ? "public"
                                : "other";
}
const char* KeyTypeName(CK_KEY_TYPE t) {
  switch (t) {
    case CKK_AES: return "AES";
    case CKK_RSA: return "RSA";
    case CKK_EC: return "EC";
    case CKK_GENERIC_SECRET: return "GENERIC_SECRET";
    case CKK_DES3: return "DES3";
    default: return "other";
  }
}

// DER of the P-256 OID, the CKA_EC_PARAMS of the EC keys ferry generates.
const uint8_t kP256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

struct Attr {
  CK_ATTRIBUTE_TYPE type;
  Bytes value;
};
CK_BBOOL kTrue = CK_TRUE, kFalse = CK_FALSE;

}  // namespace

Result<std::shared_ptr<Pkcs11Module>> Pkcs11Module::Load(const std::string& path) {
  void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    return Err(NotFound(
        "PKCS#11 module {} cannot be loaded: {}; give the path of the HSM's PKCS#11 library "
        "(SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)",
        path, ::dlerror()));
  }
  auto get =
      reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(::dlsym(lib, "C_GetFunctionList"));
  if (get == nullptr) {
    ::dlclose(lib);
    return Err(InvalidArgument("{} is not a PKCS#11 module (no C_GetFunctionList)", path));
  }
  std::shared_ptr<Pkcs11Module> m(new Pkcs11Module());
  m->path_ = path;
  m->library_ = lib;
  CK_FUNCTION_LIST_PTR list = nullptr;
  FERRY_RETURN_IF_ERROR(Check(get(&list), path + ": C_GetFunctionList"));
  m->functions_ = list;
  const CK_RV rv = list->C_Initialize(nullptr);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    m->functions_ = nullptr;
    return Err(Check(rv, path + ": C_Initialize"));
  }
  return m;
}

Pkcs11Module::~Pkcs11Module() {
  if (functions_ != nullptr) Fn(functions_)->C_Finalize(nullptr);
  // The library stays loaded: some modules register atexit handlers that must still find it.
}

Result<std::vector<Pkcs11Module::Token>> Pkcs11Module::Tokens() {
  CK_ULONG n = 0;
  FERRY_RETURN_IF_ERROR(
      Check(Fn(functions_)->C_GetSlotList(CK_TRUE, nullptr, &n), "C_GetSlotList"));
  std::vector<CK_SLOT_ID> slots(n);
  FERRY_RETURN_IF_ERROR(
      Check(Fn(functions_)->C_GetSlotList(CK_TRUE, slots.data(), &n), "C_GetSlotList"));
  std::vector<Token> tokens;
  for (CK_ULONG i = 0; i < n; ++i) {
    CK_TOKEN_INFO info;
    if (Fn(functions_)->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
    if (!(info.flags & CKF_TOKEN_INITIALIZED)) continue;
    tokens.push_back({slots[i], Trimmed(info.label, 32), Trimmed(info.manufacturerID, 32),
                      Trimmed(info.model, 16), Trimmed(info.serialNumber, 16)});
  }
  return tokens;
}

Result<std::unique_ptr<Pkcs11Session>> Pkcs11Module::Open(const std::string& label,
                                                          const std::string& pin) {
  FERRY_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokens());
  std::vector<std::string> labels;
  for (const Token& t : tokens) {
    labels.push_back(t.label);
    if (t.label != label) continue;
    CK_SESSION_HANDLE h = 0;
    FERRY_RETURN_IF_ERROR(Check(
        Fn(functions_)
            ->C_OpenSession(t.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &h),
        fmt::format("token \"{}\": C_OpenSession", label)));
    std::unique_ptr<Pkcs11Session> s(new Pkcs11Session(shared_from_this(), h, label));
    const CK_RV rv =
        Fn(functions_)
            ->C_Login(h, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())),
                      pin.size());
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
      return Err(Check(rv, fmt::format("token \"{}\": login", label)));
    s->logged_in_ = rv == CKR_OK;
    return s;
  }
  return Err(NotFound(
      "no token labelled \"{}\" in {} (tokens: {}): check the label, or initialise the token",
      label, path_, labels.empty() ? "none" : fmt::format("\"{}\"", fmt::join(labels, "\", \""))));
}

Pkcs11Session::Pkcs11Session(std::shared_ptr<Pkcs11Module> module, unsigned long session,
                             std::string label)
    : module_(std::move(module)), session_(session), label_(std::move(label)) {}

Pkcs11Session::~Pkcs11Session() {
  // The login is the application's, shared by all its sessions on the token: only the session
  // that logged in logs out, so closing a second session does not log the first one out.
  if (logged_in_) Fn(module_->functions())->C_Logout(session_);
  Fn(module_->functions())->C_CloseSession(session_);
}

namespace {

// Reads attributes one at a time (a missing or sensitive one is left empty).
Bytes GetAttr(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
              CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE a = {type, nullptr, 0};
  if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
    return {};
  Bytes v(a.ulValueLen);
  a.pValue = v.data();
  if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK) return {};
  v.resize(a.ulValueLen);
  return v;
}
bool GetBool(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t) {
  Bytes v = GetAttr(f, s, o, t);
  return v.size() == sizeof(CK_BBOOL) && v[0] != 0;
}
CK_ULONG GetUlong(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                  CK_ATTRIBUTE_TYPE t) {
  Bytes v = GetAttr(f, s, o, t);
  CK_ULONG x = 0;
  if (v.size() == sizeof(x)) std::memcpy(&x, v.data(), sizeof(x));
  return x;
}

// A template built up attribute by attribute; owns its values.
class Template {
 public:
  Template& Bool(CK_ATTRIBUTE_TYPE t, bool v) {
    return Raw(t, &(v ? kTrue : kFalse), sizeof(CK_BBOOL));
  }
  Template& Ulong(CK_ATTRIBUTE_TYPE t, CK_ULONG v) { return Raw(t, &v, sizeof(v)); }
  Template& Bytes_(CK_ATTRIBUTE_TYPE t, ByteView v) { return Raw(t, v.data(), v.size()); }
  Template& Text(CK_ATTRIBUTE_TYPE t, const std::string& v) { return Raw(t, v.data(), v.size()); }
  CK_ATTRIBUTE* data() {
    attrs_.clear();
    for (Attr& a : values_)
      attrs_.push_back({a.type, a.value.empty() ? nullptr : a.value.data(), a.value.size()});
    return attrs_.data();
  }
  CK_ULONG size() const { return values_.size(); }

 private:
  Template& Raw(CK_ATTRIBUTE_TYPE t, const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    values_.push_back({t, Bytes(b, b + n)});
    return *this;
  }
  std::vector<Attr> values_;
  std::vector<CK_ATTRIBUTE> attrs_;
};

}  // namespace

Result<TokenKey> Pkcs11Session::Describe(uint64_t handle) {
  CK_FUNCTION_LIST* f = Fn(module_->functions());
  const CK_OBJECT_HANDLE o = handle;
  TokenKey k;
  k.handle = handle;
  const CK_OBJECT_CLASS cls = GetUlong(f, session_, o, CKA_CLASS);
  k.object_class = ClassName(cls);
  const CK_KEY_TYPE type = GetUlong(f, session_, o, CKA_KEY_TYPE);
  k.key_type = KeyTypeName(type);
  const Bytes label = GetAttr(f, session_, o, CKA_LABEL);
  k.label.assign(label.begin(), label.end());
  k.id = Hex(GetAttr(f, session_, o, CKA_ID));
  k.token = GetBool(f, session_, o, CKA_TOKEN);
  k.sensitive = GetBool(f, session_, o, CKA_SENSITIVE);
  k.extractable = GetBool(f, session_, o, CKA_EXTRACTABLE);
  k.encrypt = GetBool(f, session_, o, CKA_ENCRYPT);
  k.decrypt = GetBool(f, session_, o, CKA_DECRYPT);
  k.sign = GetBool(f, session_, o, CKA_SIGN);
  k.verify = GetBool(f, session_, o, CKA_VERIFY);
  k.wrap = GetBool(f, session_, o, CKA_WRAP);
  k.unwrap = GetBool(f, session_, o, CKA_UNWRAP);
  if (type == CKK_AES || type == CKK_GENERIC_SECRET) {
    k.bits = static_cast<int64_t>(GetUlong(f, session_, o, CKA_VALUE_LEN)) * 8;
  } else if (type == CKK_RSA) {
    k.bits = static_cast<int64_t>(GetAttr(f, session_, o, CKA_MODULUS).size()) * 8;
    if (k.bits == 0) k.bits = static_cast<int64_t>(GetUlong(f, session_, o, CKA_MODULUS_BITS));
  } else if (type == CKK_EC) {
    const Bytes params = GetAttr(f, session_, o, CKA_EC_PARAMS);
    k.bits = params == Bytes(std::begin(kP256), std::end(kP256)) ? 256 : 0;
  }
  return k;
}

Result<std::vector<TokenKey>> Pkcs11Session::Keys() { return Find("", ""); }

Result<std::vector<TokenKey>> Pkcs11Session::Find(const std::string& label,
                                                  const std::string& id_hex) {
  CK_FUNCTION_LIST* f = Fn(module_->functions());
  Template t;
  if (!label.empty()) t.Text(CKA_LABEL, label);
  Bytes id;
  if (!id_hex.empty()) {
    FERRY_ASSIGN_OR_RETURN(id, FromHex(id_hex));
    t.Bytes_(CKA_ID, id);
  }
  FERRY_RETURN_IF_ERROR(
      Check(f->C_FindObjectsInit(session_, t.size() ? t.data() : nullptr, t.size()),
            "C_FindObjectsInit"));
  std::vector<CK_OBJECT_HANDLE> handles;
  CK_OBJECT_HANDLE batch[64];
  CK_ULONG n = 0;
  do {
    if (Status st = Check(f->C_FindObjects(session_, batch, 64, &n), "C_FindObjects"); !st.ok()) {
      f->C_FindObjectsFinal(session_);
      return Err(st);
    }
    handles.insert(handles.end(), batch, batch + n);
  } while (n > 0);
  f->C_FindObjectsFinal(session_);
  std::vector<TokenKey> keys;
  for (CK_OBJECT_HANDLE h : handles) {
    FERRY_ASSIGN_OR_RETURN(TokenKey k, Describe(h));
    if (k.object_class != "other") keys.push_back(std::move(k));
  }
  return keys;
}

Result<uint64_t> Pkcs11Session::GenerateAes(const std::string& label, ByteView id, int bits,
                                            bool extractable, bool token) {
  CK_MECHANISM mech = {CKM_AES_KEY_GEN, nullptr, 0};
  Template t;
  t.Ulong(CKA_CLASS, CKO_SECRET_KEY)
      .Ulong(CKA_KEY_TYPE, CKK_AES)
      .Ulong(CKA_VALUE_LEN, static_cast<CK_ULONG>(bits / 8));
  t.Text(CKA_LABEL, label)
      .Bytes_(CKA_ID, id)
      .Bool(CKA_TOKEN, token)
      .Bool(CKA_PRIVATE, true)
      .Bool(CKA_SENSITIVE, true);
  t.Bool(CKA_EXTRACTABLE, extractable)
      .Bool(CKA_ENCRYPT, true)
      .Bool(CKA_DECRYPT, true)
      .Bool(CKA_WRAP, true)
      .Bool(CKA_UNWRAP, true);
  CK_OBJECT_HANDLE h = 0;
  FERRY_RETURN_IF_ERROR(
      Check(Fn(module_->functions())->C_GenerateKey(session_, &mech, t.data(), t.size(), &h),
            fmt::format("token \"{}\": generate AES key \"{}\"", label_, label)));
  return h;
}

Result<std::pair<uint64_t, uint64_t>> Pkcs11Session::GenerateRsa(const std::string& label,
                                                                 ByteView id, int bits,
                                                                 bool extractable, bool token) {
  CK_MECHANISM mech = {CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
  const uint8_t exponent[] = {0x01, 0x00, 0x01};
  Template pub, priv;
  pub.Ulong(CKA_MODULUS_BITS, static_cast<CK_ULONG>(bits)).Bytes_(CKA_PUBLIC_EXPONENT, exponent);
  pub.Text(CKA_LABEL, label)
      .Bytes_(CKA_ID, id)
      .Bool(CKA_TOKEN, token)
      .Bool(CKA_ENCRYPT, true)
      .Bool(CKA_VERIFY, true)
      .Bool(CKA_WRAP, true);
  priv.Text(CKA_LABEL, label)
      .Bytes_(CKA_ID, id)
      .Bool(CKA_TOKEN, token)
      .Bool(CKA_PRIVATE, true)
      .Bool(CKA_SENSITIVE, true);
  priv.Bool(CKA_EXTRACTABLE, extractable)
      .Bool(CKA_DECRYPT, true)
      .Bool(CKA_SIGN, true)
      .Bool(CKA_UNWRAP, true);
  CK_OBJECT_HANDLE hp = 0, hs = 0;
  FERRY_RETURN_IF_ERROR(Check(Fn(module_->functions())
                                  ->C_GenerateKeyPair(session_, &mech, pub.data(), pub.size(),
                                                      priv.data(), priv.size(), &hp, &hs),
                              fmt::format("token \"{}\": generate RSA key \"{}\"", label_, label)));
  return std::pair<uint64_t, uint64_t>{hp, hs};
}

Result<std::pair<uint64_t, uint64_t>> Pkcs11Session::GenerateEc(const std::string& label,
                                                                ByteView id, bool extractable,
                                                                bool token) {
  CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  Template pub, priv;
  pub.Bytes_(CKA_EC_PARAMS, kP256)
      .Text(CKA_LABEL, label)
      .Bytes_(CKA_ID, id)
      .Bool(CKA_TOKEN, token)
      .Bool(CKA_VERIFY, true);
  priv.Text(CKA_LABEL, label)
      .Bytes_(CKA_ID, id)
      .Bool(CKA_TOKEN, token)
      .Bool(CKA_PRIVATE, true)
      .Bool(CKA_SENSITIVE, true);
  priv.Bool(CKA_EXTRACTABLE, extractable).Bool(CKA_SIGN, true);
  CK_OBJECT_HANDLE hp = 0, hs = 0;
  FERRY_RETURN_IF_ERROR(Check(Fn(module_->functions())
                                  ->C_GenerateKeyPair(session_, &mech, pub.data(), pub.size(),
                                                      priv.data(), priv.size(), &hp, &hs),
                              fmt::format("token \"{}\": generate EC key \"{}\"", label_, label)));
  return std::pair<uint64_t, uint64_t>{hp, hs};
}

Result<uint64_t> Pkcs11Session::CopyPublicKey(Pkcs11Session& from, uint64_t handle, bool token,
                                              bool for_wrapping) {
  CK_FUNCTION_LIST* src = Fn(from.module_->functions());
  FERRY_ASSIGN_OR_RETURN(TokenKey k, from.Describe(handle));
  Template t;
  t.Ulong(CKA_CLASS, CKO_PUBLIC_KEY).Text(CKA_LABEL, k.label).Bool(CKA_TOKEN, token);
  Bytes id;
  if (!k.id.empty()) {
    FERRY_ASSIGN_OR_RETURN(id, FromHex(k.id));
  }
  t.Bytes_(CKA_ID, id);
  if (k.key_type == "RSA") {
    t.Ulong(CKA_KEY_TYPE, CKK_RSA);
    t.Bytes_(CKA_MODULUS, GetAttr(src, from.session_, handle, CKA_MODULUS));
    t.Bytes_(CKA_PUBLIC_EXPONENT, GetAttr(src, from.session_, handle, CKA_PUBLIC_EXPONENT));
    t.Bool(CKA_ENCRYPT, k.encrypt || for_wrapping)
        .Bool(CKA_WRAP, k.wrap || for_wrapping)
        .Bool(CKA_VERIFY, k.verify);
  } else if (k.key_type == "EC") {
    t.Ulong(CKA_KEY_TYPE, CKK_EC);
    t.Bytes_(CKA_EC_PARAMS, GetAttr(src, from.session_, handle, CKA_EC_PARAMS));
    t.Bytes_(CKA_EC_POINT, GetAttr(src, from.session_, handle, CKA_EC_POINT));
    t.Bool(CKA_VERIFY, k.verify);
  } else {
    return Err(
        Unimplemented("copying a {} public key is not supported (RSA and EC are)", k.key_type));
  }
  CK_OBJECT_HANDLE h = 0;
  FERRY_RETURN_IF_ERROR(
      Check(Fn(module_->functions())->C_CreateObject(session_, t.data(), t.size(), &h),
            fmt::format("token \"{}\": create public key \"{}\"", label_, k.label)));
  return h;
}

namespace {
// RSA-OAEP with SHA-1 and MGF1-SHA-1: the parameters every PKCS#11 token wraps with (SoftHSM2
// refuses others for C_WrapKey). OAEP's security does not rest on SHA-1's collision resistance.
CK_RSA_PKCS_OAEP_PARAMS kOaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, nullptr, 0};
}  // namespace

Result<Bytes> Pkcs11Session::Wrap(uint64_t wrapping_key, uint64_t key) {
  FERRY_ASSIGN_OR_RETURN(TokenKey w, Describe(wrapping_key));
  CK_MECHANISM mech = w.key_type == "RSA" ? CK_MECHANISM{CKM_RSA_PKCS_OAEP, &kOaep, sizeof(kOaep)}
                                          : CK_MECHANISM{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  CK_FUNCTION_LIST* f = Fn(module_->functions());
  CK_ULONG n = 0;
  FERRY_RETURN_IF_ERROR(Check(f->C_WrapKey(session_, &mech, wrapping_key, key, nullptr, &n),
                              fmt::format("token \"{}\": wrap", label_)));
  Bytes out(n);
  FERRY_RETURN_IF_ERROR(Check(f->C_WrapKey(session_, &mech, wrapping_key, key, out.data(), &n),
                              fmt::format("token \"{}\": wrap", label_)));
  out.resize(n);
  return out;
}

Result<uint64_t> Pkcs11Session::Unwrap(uint64_t unwrapping_key, ByteView wrapped,
                                       const TokenKey& like, bool token) {
  FERRY_ASSIGN_OR_RETURN(TokenKey w, Describe(unwrapping_key));
  CK_MECHANISM mech = w.key_type == "RSA" ? CK_MECHANISM{CKM_RSA_PKCS_OAEP, &kOaep, sizeof(kOaep)}
                                          : CK_MECHANISM{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  Template t;
  const bool secret = like.object_class == "secret";
  t.Ulong(CKA_CLASS, secret ? CKO_SECRET_KEY : CKO_PRIVATE_KEY);
  t.Ulong(CKA_KEY_TYPE, like.key_type == "AES"   ? CKK_AES
                        : like.key_type == "RSA" ? CKK_RSA
                        : like.key_type == "EC"  ? CKK_EC
                                                 : CKK_GENERIC_SECRET);
  Bytes id;
  if (!like.id.empty()) {
    FERRY_ASSIGN_OR_RETURN(id, FromHex(like.id));
  }
  t.Text(CKA_LABEL, like.label).Bytes_(CKA_ID, id).Bool(CKA_TOKEN, token).Bool(CKA_PRIVATE, true);
  t.Bool(CKA_SENSITIVE, true).Bool(CKA_EXTRACTABLE, like.extractable);
  t.Bool(CKA_DECRYPT, like.decrypt).Bool(CKA_SIGN, like.sign).Bool(CKA_UNWRAP, like.unwrap);
  if (secret)
    t.Bool(CKA_ENCRYPT, like.encrypt).Bool(CKA_WRAP, like.wrap).Bool(CKA_VERIFY, like.verify);
  CK_OBJECT_HANDLE h = 0;
  FERRY_RETURN_IF_ERROR(
      Check(Fn(module_->functions())
                ->C_UnwrapKey(session_, &mech, unwrapping_key, const_cast<uint8_t*>(wrapped.data()),
                              wrapped.size(), t.data(), t.size(), &h),
            fmt::format("token \"{}\": unwrap \"{}\"", label_, like.label)));
  return h;
}

Result<Bytes> Pkcs11Session::Encrypt(uint64_t key, ByteView iv, ByteView data) {
  CK_MECHANISM mech = {CKM_AES_CBC_PAD, const_cast<uint8_t*>(iv.data()), iv.size()};
  CK_FUNCTION_LIST* f = Fn(module_->functions());
  FERRY_RETURN_IF_ERROR(Check(f->C_EncryptInit(session_, &mech, key), "C_EncryptInit"));
  Bytes out(data.size() + 32);
  CK_ULONG n = out.size();
  FERRY_RETURN_IF_ERROR(
      Check(f->C_Encrypt(session_, const_cast<uint8_t*>(data.data()), data.size(), out.data(), &n),
            "C_Encrypt"));
  out.resize(n);
  return out;
}

Result<Bytes> Pkcs11Session::Decrypt(uint64_t key, ByteView iv, ByteView data) {
  CK_MECHANISM mech = {CKM_AES_CBC_PAD, const_cast<uint8_t*>(iv.data()), iv.size()};
  CK_FUNCTION_LIST* f = Fn(module_->functions());
  FERRY_RETURN_IF_ERROR(Check(f->C_DecryptInit(session_, &mech, key), "C_DecryptInit"));
  Bytes out(data.size());
  CK_ULONG n = out.size();
  FERRY_RETURN_IF_ERROR(
      Check(f->C_Decrypt(session_, const_cast<uint8_t*>(data.data()), data.size(), out.data(), &n),
            "C_Decrypt"));
  out.resize(n);
  return out;
}

namespace {

// PKCS#11 v2.40 §2.13.3 CK_GCM_PARAMS: the IV, its length in bytes and in bits (tokens read
// one or the other), the AAD and the tag length in bits.
CK_GCM_PARAMS GcmParams(ByteView iv, ByteView aad) {
  CK_GCM_PARAMS params{};
  params.iv_ptr = const_cast<uint8_t*>(iv.data());
  params.iv_len = iv.size();
  params.iv_bits = iv.size() * 8;
  params.aad_ptr = const_cast<uint8_t*>(aad.data());
  params.aad_len = aad.size();
  params.tag_bits = 128;
  return params;
}

}  // namespace

Result<Bytes> Pkcs11Session::SealGcm(uint64_t key, ByteView iv, ByteView aad, ByteView data) {
  CK_GCM_PARAMS params = GcmParams(iv, aad);
  CK_MECHANISM mech = {CKM_AES_GCM, &params, sizeof(params)};
  CK_FUNCTION_LIST* f = Fn(module_->functions());
  FERRY_RETURN_IF_ERROR(Check(f->C_EncryptInit(session_, &mech, key), "C_EncryptInit (AES-GCM)"));
  Bytes out(data.size() + 16);
  CK_ULONG n = out.size();
  FERRY_RETURN_IF_ERROR(
      Check(f->C_Encrypt(session_, const_cast<uint8_t*>(data.data()), data.size(), out.data(), &n),
            "C_Encrypt (AES-GCM)"));
  out.resize(n);
  return out;
}

Result<Bytes> Pkcs11Session::OpenGcm(uint64_t key, ByteView iv, ByteView aad, ByteView sealed) {
  if (sealed.size() < 16) {
    return Err(Unauthenticated("AES-GCM in token \"{}\": {} bytes is shorter than the tag", label_,
                               sealed.size()));
  }
  CK_GCM_PARAMS params = GcmParams(iv, aad);
  CK_MECHANISM mech = {CKM_AES_GCM, &params, sizeof(params)};
  CK_FUNCTION_LIST* f = Fn(module_->functions());
  FERRY_RETURN_IF_ERROR(Check(f->C_DecryptInit(session_, &mech, key), "C_DecryptInit (AES-GCM)"));
  Bytes out(sealed.size());
  CK_ULONG n = out.size();
  const CK_RV rv =
      f->C_Decrypt(session_, const_cast<uint8_t*>(sealed.data()), sealed.size(), out.data(), &n);
  // Tokens report a tag that does not verify as CKR_ENCRYPTED_DATA_INVALID (SoftHSM2) or
  // CKR_AAD/..._INVALID; either way nothing of the plaintext is returned.
  if (rv != CKR_OK) {
    if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
        rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED) {
      return Err(Unauthenticated("AES-GCM in token \"{}\": the tag does not verify ({})", label_,
                                 RvName(rv)));
    }
    return Err(Check(rv, "C_Decrypt (AES-GCM)"));
  }
  out.resize(n);
  return out;
}

Result<Bytes> Pkcs11Session::Sign(uint64_t key, const std::string& key_type, ByteView data) {
  // EC: raw ECDSA over a SHA-256 computed here (tokens differ in which combined ECDSA-with-hash
  // mechanisms they offer; SoftHSM2 has none).
  const Bytes digest = key_type == "EC" ? Hash(Digest::kSha256, data) : Bytes{};
  if (key_type == "EC") data = digest;
  CK_MECHANISM mech = {key_type == "EC" ? CKM_ECDSA : CKM_SHA256_RSA_PKCS, nullptr, 0};
  CK_FUNCTION_LIST* f = Fn(module_->functions());
  FERRY_RETURN_IF_ERROR(Check(f->C_SignInit(session_, &mech, key), "C_SignInit"));
  CK_ULONG n = 0;
  FERRY_RETURN_IF_ERROR(Check(
      f->C_Sign(session_, const_cast<uint8_t*>(data.data()), data.size(), nullptr, &n), "C_Sign"));
  Bytes out(n);
  FERRY_RETURN_IF_ERROR(
      Check(f->C_Sign(session_, const_cast<uint8_t*>(data.data()), data.size(), out.data(), &n),
            "C_Sign"));
  out.resize(n);
  return out;
}

Status Pkcs11Session::Verify(uint64_t key, const std::string& key_type, ByteView data,
                             ByteView signature) {
  // EC: raw ECDSA over a SHA-256 computed here (tokens differ in which combined ECDSA-with-hash
  // mechanisms they offer; SoftHSM2 has none).
  const Bytes digest = key_type == "EC" ? Hash(Digest::kSha256, data) : Bytes{};
  if (key_type == "EC") data = digest;
  CK_MECHANISM mech = {key_type == "EC" ? CKM_ECDSA : CKM_SHA256_RSA_PKCS, nullptr, 0};
  CK_FUNCTION_LIST* f = Fn(module_->functions());
  FERRY_RETURN_IF_ERROR(Check(f->C_VerifyInit(session_, &mech, key), "C_VerifyInit"));
  return Check(f->C_Verify(session_, const_cast<uint8_t*>(data.data()), data.size(),
                           const_cast<uint8_t*>(signature.data()), signature.size()),
               "C_Verify");
}

Status Pkcs11Session::Destroy(uint64_t handle) {
  return Check(Fn(module_->functions())->C_DestroyObject(session_, handle), "C_DestroyObject");
}

}  // namespace ferry::crypto
