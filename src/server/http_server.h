// The API over HTTP/1.1 (and HTTPS): cpp-httplib carries requests to Api::Handle. Only this
// file's .cc and client.cc include httplib.
//
// Each connection is served by one thread of a fixed pool (ServerOptions::threads), for as long
// as it lasts: an event stream holds its thread, so the pool bounds the clients served at once.
//
// Thread-safety: Stop() may be called from any thread.
#ifndef FERRY_SERVER_HTTP_SERVER_H_
#define FERRY_SERVER_HTTP_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "server/api.h"

namespace ferry::server {

struct ServerOptions {
  // Loopback by default: reaching the API from elsewhere is a choice (and wants TLS).
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see HttpServer::port)
  // PEM files; both set: HTTPS only.
  std::string tls_cert;
  std::string tls_key;
  // Connections served at once; each event stream holds one. About 20 KB of memory each while
  // idle, so generous is cheap.
  int threads = 512;
  int64_t max_body_bytes = 1 << 20;  // larger bodies get 413
  int keep_alive_seconds = 5;
};

// "HOST:PORT" ("127.0.0.1:8080", "[::1]:8080", ":8080" for every address) into the options.
Status ParseListen(std::string_view listen, ServerOptions* options);

class HttpServer {
 public:
  // Binds and starts serving in a thread of its own. kUnavailable when the address cannot be
  // bound (naming it and the way out), kInvalidArgument for unreadable TLS files.
  static Result<std::unique_ptr<HttpServer>> Start(Api* api, const ServerOptions& options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  // "http://127.0.0.1:8080"
  std::string url() const;
  // Ends the event streams, stops accepting, and waits for the serving thread.
  void Stop();
  // Blocks until Stop() is called (from another thread or a signal handler's thread).
  void Wait();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::server

#endif  // FERRY_SERVER_HTTP_SERVER_H_
