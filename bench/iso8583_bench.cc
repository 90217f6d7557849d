// ISO 8583 pack and unpack throughput, single-threaded (so the figures are per core), on a
// typical 0200 purchase authorization: 21 data elements (PAN, processing code, amount, dates,
// STAN, POS data, track 2, RRN, terminal and merchant ids, name/location, currency, PIN block)
// and 90 bytes of EMV data in field 55. Measured in the binary layout (1987-binary: BCD numbers
// and prefixes, binary bitmap) and the ASCII one (1987). Also: the message to JSON and back
// (not the hot path). Each benchmark counts the heap allocations per message in its loop: the
// pack/unpack paths reuse a Message and an output buffer and should allocate nothing.
// Figures and commands: BENCHMARKS.md, "ISO 8583"; docs/iso8583.md, "Speed".
// The counting operator new below pairs malloc with free; GCC cannot see that through the
// inlined standard allocators and warns at every delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <atomic>
#include <cstdlib>
#include <new>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "legacy/iso8583.h"

namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace

// Counts every allocation of the process, to show that the loops make none.
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace ferry::legacy::iso8583 {
namespace {

std::string Unhex(std::string_view hex) { return *FromHex(hex); }

Message Authorization(bool binary) {
  Message m;
  m.SetMti("0200");
  m.Set(2, "4761739001010119");
  m.Set(3, "000000");
  m.Set(4, "000000001500");
  m.Set(7, "1207113015");
  m.Set(11, "123456");
  m.Set(12, "113015");
  m.Set(13, "1207");
  m.Set(14, "2712");
  m.Set(18, "5411");
  m.Set(22, "051");
  m.Set(23, "001");
  m.Set(25, "00");
  m.Set(32, "12345678901");
  m.Set(35, "4761739001010119=27122011143804400000");
  m.Set(37, "734112345678");
  m.Set(41, "TERM0001");
  m.Set(42, "MERCHANT0000001");
  m.Set(43, fmt::format("{:<25}{:<13}GB", "FERRY STORE", "LONDON"));
  m.Set(49, "826");
  m.Set(52, Unhex("0123456789ABCDEF"));
  const std::string emv = Unhex(
      "5F2A0208269F02060000000015009F1A0208269F2608A1B2C3D4E5F601029F2701809F360200159F3704123456"
      "78950500000080009A032512079C0100820219008407A00000000310105A0847617390010101195F340101");
  m.Set(55, binary ? emv : ToHex(emv));
  return m;
}

struct Fixture {
  explicit Fixture(std::string_view name)
      : spec(*Spec::BuiltIn(name)), message(Authorization(name == "1987-binary")) {
    if (name == "1987") message.Set(52, "01234567");
    if (!Pack(*spec, message, &bytes).ok()) std::abort();
  }
  std::shared_ptr<const Spec> spec;
  Message message;
  std::string bytes;
};

void Report(benchmark::State& state, int64_t allocations, size_t bytes) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.counters["allocs_per_msg"] =
      static_cast<double>(allocations) / static_cast<double>(state.iterations());
  state.counters["msg_bytes"] = static_cast<double>(bytes);
}

void BM_Pack(benchmark::State& state, const char* name) {
  Fixture f(name);
  std::string out;
  out.reserve(1024);
  const int64_t before = g_allocations.load();
  for (auto _ : state) {
    out.clear();
    if (!Pack(*f.spec, f.message, &out).ok()) state.SkipWithError("pack failed");
    benchmark::DoNotOptimize(out.data());
  }
  Report(state, g_allocations.load() - before, f.bytes.size());
}

void BM_Unpack(benchmark::State& state, const char* name) {
  Fixture f(name);
  Message m;
  if (!Unpack(*f.spec, f.bytes, &m).ok()) std::abort();  // grows the message's storage once
  const int64_t before = g_allocations.load();
  for (auto _ : state) {
    if (!Unpack(*f.spec, f.bytes, &m).ok()) state.SkipWithError("unpack failed");
    benchmark::DoNotOptimize(m.Get(55).data());
  }
  Report(state, g_allocations.load() - before, f.bytes.size());
}

// Bytes to a JSON line (PANs masked, TLV expanded), as `ferry iso8583 decode` writes it.
void BM_UnpackToJsonLine(benchmark::State& state, const char* name) {
  Fixture f(name);
  Message m;
  std::string line;
  const int64_t before = g_allocations.load();
  for (auto _ : state) {
    line.clear();
    if (!Unpack(*f.spec, f.bytes, &m).ok()) state.SkipWithError("unpack failed");
    if (!AppendMessageJson(*f.spec, m, {}, &line).ok()) state.SkipWithError("json failed");
    benchmark::DoNotOptimize(line.data());
  }
  Report(state, g_allocations.load() - before, f.bytes.size());
}

// The same through a JSON document (MessageToJson, then its text).
void BM_UnpackToJsonDocument(benchmark::State& state, const char* name) {
  Fixture f(name);
  Message m;
  const int64_t before = g_allocations.load();
  for (auto _ : state) {
    if (!Unpack(*f.spec, f.bytes, &m).ok()) state.SkipWithError("unpack failed");
    Result<OrderedJson> json = MessageToJson(*f.spec, m);
    benchmark::DoNotOptimize(json->dump());
  }
  Report(state, g_allocations.load() - before, f.bytes.size());
}

BENCHMARK_CAPTURE(BM_Pack, binary, "1987-binary");
BENCHMARK_CAPTURE(BM_Unpack, binary, "1987-binary");
BENCHMARK_CAPTURE(BM_Pack, ascii, "1987");
BENCHMARK_CAPTURE(BM_Unpack, ascii, "1987");
BENCHMARK_CAPTURE(BM_UnpackToJsonLine, binary, "1987-binary");
BENCHMARK_CAPTURE(BM_UnpackToJsonLine, ascii, "1987");
BENCHMARK_CAPTURE(BM_UnpackToJsonDocument, binary, "1987-binary");

}  // namespace
}  // namespace ferry::legacy::iso8583

BENCHMARK_MAIN();
