#include "server/http_server.h"

#include <httplib.h>

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/log.h"

namespace ferry::server {

Status ParseListen(std::string_view listen, ServerOptions* options) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument("--listen {}: expected HOST:PORT, e.g. 127.0.0.1:8080", listen);
  }
  std::string_view host = listen.substr(0, colon);
  std::string_view port_text = listen.substr(colon + 1);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return InvalidArgument("--listen {}: port `{}` is not a port number (0-65535)", listen,
                           port_text);
  }
  options->host = host.empty() ? "0.0.0.0" : std::string(host);
  options->port = port;
  return OkStatus();
}

class HttpServer::Impl {
 public:
  Impl(Api* api, const ServerOptions& options, std::unique_ptr<httplib::Server> server)
      : api_(api), options_(options), server_(std::move(server)) {}

  Status Bind() {
    httplib::Server& s = *server_;
    const int threads = std::max(4, options_.threads);
    s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    s.set_payload_max_length(static_cast<size_t>(options_.max_body_bytes));
    s.set_keep_alive_max_count(10'000);
    s.set_keep_alive_timeout(options_.keep_alive_seconds);
    s.set_read_timeout(30, 0);
    s.set_write_timeout(10, 0);
    s.set_tcp_nodelay(true);
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); };
    s.Get(".*", handler);
    s.Post(".*", handler);
    s.Put(".*", handler);
    s.Patch(".*", handler);
    s.Delete(".*", handler);
    s.Options(".*", handler);
    // What httplib answers itself (413 for a body over the limit, 400 for a request it cannot
    // parse) gets the API's error shape; responses made by Api::Handle are left alone.
    s.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                    httplib::Response& res) {
      if (!res.body.empty() || res.has_header("X-Content-Type-Options")) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      ApiResponse error =
          res.status == 413
              ? api_->ErrorResponse(
                    413, "payload_too_large",
                    fmt::format("{} {}: the body is larger than the limit of {} bytes; send less "
                                "(or start the server with a larger --max-body)",
                                req.method, req.path, options_.max_body_bytes),
                    req.path)
              : api_->ErrorResponse(res.status, res.status == 400 ? "invalid_argument" : "error",
                                    fmt::format("{} {}: the request could not be read (HTTP {})",
                                                req.method, req.path, res.status),
                                    req.path);
      Apply(error, res);
      return httplib::Server::HandlerResponse::Handled;
    }));
    s.set_exception_handler(
        [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown exception";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          LogError("API handler threw", {{"path", req.path}, {"error", what}});
          Apply(api_->ErrorResponse(500, "internal", "internal error: " + what, req.path), res);
        });
    if (options_.port == 0) {
      port_ = s.bind_to_any_port(options_.host);
      if (port_ <= 0) return CannotBind();
    } else {
      if (!s.bind_to_port(options_.host, options_.port)) return CannotBind();
      port_ = options_.port;
    }
    thread_ = std::thread([this] {
      server_->listen_after_bind();
      std::lock_guard lock(mu_);
      stopped_ = true;
      stopped_cv_.notify_all();
    });
    // httplib's stop() does nothing until the serving thread is running: wait for it, so that
    // a Stop() right after Start() is not lost.
    for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return OkStatus();
  }

  void Stop() {
    api_->Stop();  // event streams end, so their threads come back to the pool
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  void Wait() {
    std::unique_lock lock(mu_);
    stopped_cv_.wait(lock, [&] { return stopped_; });
  }

  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert.empty(); }
  const std::string& host() const { return options_.host; }

 private:
  Status CannotBind() const {
    return Unavailable(
        "--listen {}:{}: cannot listen there (in use, or not an address of this host); choose "
        "another port or address",
        options_.host, options_.port);
  }

  static void Apply(const ApiResponse& response, httplib::Response& res) {
    res.status = response.status;
    for (const auto& [name, value] : response.headers) res.set_header(name, value);
    res.set_content(response.body, response.content_type);
  }

  void Serve(const httplib::Request& req, httplib::Response& res) {
    ApiRequest request;
    request.method = req.method;
    request.path = req.path;
    for (const auto& [name, value] : req.params) request.query.emplace(name, value);
    request.authorization = req.get_header_value("Authorization");
    request.content_type = req.get_header_value("Content-Type");
    request.accept = req.get_header_value("Accept");
    request.last_event_id = req.get_header_value("Last-Event-ID");
    request.body = req.body;
    request.remote_address = req.remote_addr;
    ApiResponse response = api_->Handle(request);
    if (response.stream == nullptr) {
      Apply(response, res);
      return;
    }
    res.status = response.status;
    for (const auto& [name, value] : response.headers) res.set_header(name, value);
    std::shared_ptr<ResponseStream> stream = std::move(response.stream);
    res.set_chunked_content_provider(
        response.content_type, [stream](size_t /*offset*/, httplib::DataSink& sink) {
          std::string chunk;
          if (!stream->Next(&chunk, [&sink] { return sink.is_writable(); })) return false;
          return sink.write(chunk.data(), chunk.size());
        });
  }

  Api* const api_;
  const ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable stopped_cv_;
  bool stopped_ = false;
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(Api* api, const ServerOptions& options) {
  std::unique_ptr<httplib::Server> server;
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    if (options.tls_cert.empty() || options.tls_key.empty()) {
      return Err(InvalidArgument(
          "--tls-cert and --tls-key go together: give both (PEM files), or neither for plain "
          "HTTP"));
    }
    auto tls =
        std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
    if (!tls->is_valid()) {
      return Err(InvalidArgument(
          "--tls-cert {} / --tls-key {}: cannot load them as a PEM certificate and its private "
          "key; check the paths, that they are readable, and that the key matches the "
          "certificate",
          options.tls_cert, options.tls_key));
    }
    server = std::move(tls);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  auto impl = std::make_unique<Impl>(api, options, std::move(server));
  FERRY_RETURN_IF_ERROR(impl->Bind());
  const bool loopback =
      options.host == "127.0.0.1" || options.host == "::1" || options.host == "localhost";
  if (!loopback && options.tls_cert.empty()) {
    LogWarn(
        "serving the API without TLS on an address other hosts can reach; keys and tokens "
        "cross the network in clear; give --tls-cert and --tls-key",
        {{"host", options.host}});
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }
int HttpServer::port() const { return impl_->port(); }
std::string HttpServer::url() const {
  const std::string& host = impl_->host();
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", impl_->tls() ? "https" : "http", v6 ? "[" : "",
                     host == "0.0.0.0" ? "127.0.0.1" : host, v6 ? "]" : "", impl_->port());
}
void HttpServer::Stop() { impl_->Stop(); }
void HttpServer::Wait() { impl_->Wait(); }

}  // namespace ferry::server
