#include "server/client.h"

#include <httplib.h>
#include <strings.h>

namespace ferry::server {
namespace {

StatusCode CodeFromName(std::string_view name, int http_status) {
  static constexpr std::pair<std::string_view, StatusCode> kCodes[] = {
      {"cancelled", StatusCode::kCancelled},
      {"invalid_argument", StatusCode::kInvalidArgument},
      {"deadline_exceeded", StatusCode::kDeadlineExceeded},
      {"not_found", StatusCode::kNotFound},
      {"already_exists", StatusCode::kAlreadyExists},
      {"permission_denied", StatusCode::kPermissionDenied},
      {"resource_exhausted", StatusCode::kResourceExhausted},
      {"failed_precondition", StatusCode::kFailedPrecondition},
      {"aborted", StatusCode::kAborted},
      {"out_of_range", StatusCode::kOutOfRange},
      {"unimplemented", StatusCode::kUnimplemented},
      {"internal", StatusCode::kInternal},
      {"unavailable", StatusCode::kUnavailable},
      {"data_loss", StatusCode::kDataLoss},
      {"unauthenticated", StatusCode::kUnauthenticated},
      {"payload_too_large", StatusCode::kInvalidArgument},
      {"method_not_allowed", StatusCode::kInvalidArgument},
  };
  for (const auto& [n, code] : kCodes) {
    if (n == name) return code;
  }
  if (http_status == 401) return StatusCode::kUnauthenticated;
  if (http_status == 403) return StatusCode::kPermissionDenied;
  if (http_status == 404) return StatusCode::kNotFound;
  if (http_status == 429) return StatusCode::kResourceExhausted;
  if (http_status >= 500) return StatusCode::kUnavailable;
  return StatusCode::kInvalidArgument;
}

}  // namespace

std::string HttpReply::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && strncasecmp(n.data(), name.data(), n.size()) == 0) return v;
  }
  return "";
}

struct ApiClient::Impl {
  explicit Impl(const std::string& url) : client(url) {}
  httplib::Client client;
  ClientOptions options;
  httplib::Headers Headers(const HeaderList& extra) const {
    httplib::Headers headers;
    if (!options.api_key.empty()) headers.emplace("Authorization", "Bearer " + options.api_key);
    for (const auto& [n, v] : extra) headers.emplace(n, v);
    return headers;
  }
};

Result<std::unique_ptr<ApiClient>> ApiClient::Create(std::string_view base_url,
                                                     ClientOptions options) {
  std::string url(base_url);
  while (url.ends_with('/')) url.pop_back();
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return Err(InvalidArgument(
        "--server {}: expected http://HOST:PORT or https://HOST:PORT, e.g. --server "
        "http://127.0.0.1:8080",
        base_url));
  }
  auto impl = std::make_unique<Impl>(url);
  if (!impl->client.is_valid()) {
    return Err(InvalidArgument("--server {}: not a URL the client can use", base_url));
  }
  impl->client.set_connection_timeout(std::chrono::seconds(5));
  impl->client.set_read_timeout(std::chrono::seconds(options.timeout_seconds));
  impl->client.set_write_timeout(std::chrono::seconds(options.timeout_seconds));
  impl->client.set_keep_alive(true);
  if (!options.ca_file.empty()) impl->client.set_ca_cert_path(options.ca_file);
  impl->client.enable_server_certificate_verification(true);
  impl->options = std::move(options);
  return std::unique_ptr<ApiClient>(new ApiClient(url, std::move(impl)));
}

ApiClient::ApiClient(std::string base_url, std::unique_ptr<Impl> impl)
    : base_url_(std::move(base_url)), impl_(std::move(impl)) {}
ApiClient::~ApiClient() = default;

Result<HttpReply> ApiClient::Send(std::string_view method, std::string_view path,
                                  std::string_view body, std::string_view content_type,
                                  const HeaderList& headers) {
  httplib::Request request;
  request.method = std::string(method);
  request.path = std::string(path);
  request.headers = impl_->Headers(headers);
  if (!body.empty() || method == "POST" || method == "PUT") {
    request.body = std::string(body);
    request.set_header("Content-Type",
                       content_type.empty() ? "application/json" : std::string(content_type));
  }
  httplib::Result result = impl_->client.send(request);
  if (!result) {
    return Err(Unavailable(
        "server {}: {} {} failed: {}; check --server, and that `ferry serve` runs there", base_url_,
        method, path, httplib::to_string(result.error())));
  }
  HttpReply reply;
  reply.status = result->status;
  reply.body = std::move(result->body);
  for (const auto& [n, v] : result->headers) reply.headers.emplace_back(n, v);
  return reply;
}

Result<int> ApiClient::Stream(std::string_view path, const HeaderList& headers,
                              const std::function<bool(std::string_view)>& on_data) {
  httplib::Result result = impl_->client.Get(
      std::string(path), impl_->Headers(headers),
      [&](const char* data, size_t length) { return on_data(std::string_view(data, length)); });
  if (!result) {
    if (result.error() == httplib::Error::Canceled) return 200;  // the reader stopped
    return Err(Unavailable("server {}: GET {} failed: {}", base_url_, path,
                           httplib::to_string(result.error())));
  }
  return result->status;
}

Result<Json> ApiClient::Call(std::string_view method, std::string_view path, const Json* body) {
  FERRY_ASSIGN_OR_RETURN(HttpReply reply,
                         Send(method, path, body != nullptr ? body->dump() : std::string()));
  Json parsed = Json::parse(reply.body, nullptr, false);
  if (reply.status >= 400) {
    std::string code, message = reply.body;
    if (!parsed.is_discarded() && parsed.contains("error") && parsed["error"].is_object()) {
      code = parsed["error"].value("code", "");
      message = parsed["error"].value("message", reply.body);
    }
    return Err(
        Status(CodeFromName(code, reply.status), fmt::format("server {}: {}", base_url_, message)));
  }
  if (parsed.is_discarded()) {
    return Err(DataLoss("server {}: {} {} answered {} with a body that is not JSON", base_url_,
                        method, path, reply.status));
  }
  return parsed;
}

}  // namespace ferry::server
