// The keyring's speed on a SQLite store with a file KEK (docs/crypto.md "Keys and secrets";
// figures in BENCHMARKS.md): secrets put and get per second, a cold get (a new Keyring: the KEK
// file read and the data key unwrapped), and rotations: a data key over N secrets, the KEK over N
// data keys.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "keyring/keyring.h"
#include "store/store.h"

namespace ferry::keyring {
namespace {

struct Bench {
  Bench() {
    char pattern[] = "/tmp/ferry-keyring-bench-XXXXXX";
    dir = mkdtemp(pattern);
    store = Store::Open(SqliteStoreUrl(dir + "/ferry.db")).value();
    files = NewFileKekProvider(Env::Default(), dir + "/keys");
    keyring = Open();
    // Retired data keys stay (no destruction) so that a KEK rotation has N of them to re-wrap.
    if (!keyring
             ->SetPolicies(
                 {{"dek:*",
                   {.rotate_after_days = 0, .expire_after_days = 0, .destroy_after_days = 3650}}})
             .ok()) {
      std::abort();
    }
  }
  ~Bench() { std::filesystem::remove_all(dir); }
  std::unique_ptr<Keyring> Open() {
    return Keyring::Open({.store = store.get(), .providers = {files.get()}, .actor = "bench"})
        .value();
  }
  void Put(int n) {
    for (int i = 0; i < n; ++i) {
      if (!keyring
               ->PutSecret(fmt::format("secret-{:06}", i),
                           crypto::AsBytes("a 32-byte database password...."))
               .has_value()) {
        std::abort();
      }
    }
  }
  std::string dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<KekProvider> files;
  std::unique_ptr<Keyring> keyring;
};

void BM_SecretPut(benchmark::State& state) {
  Bench b;
  int64_t i = 0;
  for (auto _ : state) {
    auto v =
        b.keyring->PutSecret(fmt::format("s{}", i++ % 1000), crypto::AsBytes("hunter2-hunter2"));
    if (!v.has_value()) state.SkipWithError(v.error().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SecretPut)->Unit(benchmark::kMicrosecond);

void BM_SecretGet(benchmark::State& state) {
  Bench b;
  b.Put(1000);
  int64_t i = 0;
  for (auto _ : state) {
    auto v = b.keyring->GetSecret(fmt::format("secret-{:06}", i++ % 1000));
    if (!v.has_value()) state.SkipWithError(v.error().ToString().c_str());
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SecretGet)->Unit(benchmark::kMicrosecond);

// A new Keyring per get, as one `ferry secrets get` process does: the KEK file read, the data
// key unwrapped.
void BM_SecretGetCold(benchmark::State& state) {
  Bench b;
  b.Put(10);
  for (auto _ : state) {
    auto v = b.Open()->GetSecret("secret-000003");
    if (!v.has_value()) state.SkipWithError(v.error().ToString().c_str());
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SecretGetCold)->Unit(benchmark::kMicrosecond);

// One data-key rotation re-encrypting N secrets.
void BM_RotateDek(benchmark::State& state) {
  Bench b;
  b.Put(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto r = b.keyring->RotateDek("secrets");
    if (!r.has_value()) state.SkipWithError(r.error().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RotateDek)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

// One KEK rotation re-wrapping N live data keys.
void BM_RotateKek(benchmark::State& state) {
  Bench b;
  b.Put(1);
  for (int64_t i = 1; i < state.range(0); ++i) {
    if (!b.keyring->RotateDek("secrets").has_value()) std::abort();
  }
  for (auto _ : state) {
    auto r = b.keyring->RotateKek();
    if (!r.has_value()) state.SkipWithError(r.error().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RotateKek)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ferry::keyring

BENCHMARK_MAIN();
