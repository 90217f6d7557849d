// SWIFT MT -> ISO 20022: messages per second on one core for parsing an MT103, parsing and
// validating it, translating it to pacs.008 (parse, validate, build the XML with pugixml and
// write it) and pacs.008 back to MT103; with an anchor measured in the same run, xmllint
// --noout (libxml2) over as many pacs.008 documents as files, for the cost of XML handling
// alone. The messages are the hand-written MT103s of the tests (src/legacy/
// swift_test_messages.h), taken in turn. BENCHMARKS.md has the figures and the commands.
//
//   swift_bench [benchmark flags]
//   swift_bench --write-mt DIR --count N    writes N MT103 files for `ferry swift translate`
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "legacy/swift_mt.h"
#include "legacy/swift_mx.h"
#include "legacy/swift_test_messages.h"

namespace ferry::legacy {
namespace {

const std::vector<std::string>& Messages() {
  static const std::vector<std::string> messages = {testing::Crlf(testing::kMt103Full),
                                                    testing::Crlf(testing::kMt103Input),
                                                    testing::Crlf(testing::kMt103Third)};
  return messages;
}

const std::vector<std::string>& Documents() {
  static const std::vector<std::string> documents = [] {
    std::vector<std::string> out;
    for (const std::string& m : Messages()) {
      out.push_back(TranslateMtTextToMx(m, {.creation_time = 1767268800}).value().xml);
    }
    return out;
  }();
  return documents;
}

size_t Bytes(const std::vector<std::string>& texts) {
  size_t n = 0;
  for (const std::string& t : texts) n += t.size();
  return n;
}

void BM_ParseMt(benchmark::State& state) {
  const auto& messages = Messages();
  size_t i = 0;
  for (auto _ : state) {
    Result<MtMessage> m = ParseMt(messages[i++ % messages.size()]);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * Bytes(messages) / messages.size());
}
BENCHMARK(BM_ParseMt);

void BM_ParseAndValidateMt(benchmark::State& state) {
  const auto& messages = Messages();
  size_t i = 0;
  for (auto _ : state) {
    Result<MtMessage> m = ParseMt(messages[i++ % messages.size()]);
    Status s = ValidateMt(*m);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAndValidateMt);

void BM_Mt103ToPacs008(benchmark::State& state) {
  const auto& messages = Messages();
  const MtToMxOptions options{.creation_time = 1767268800, .indent = state.range(0) == 1};
  size_t i = 0;
  for (auto _ : state) {
    Result<MxDocument> mx = TranslateMtTextToMx(messages[i++ % messages.size()], options);
    benchmark::DoNotOptimize(mx);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Mt103ToPacs008)->ArgName("indent")->Arg(1)->Arg(0);

void BM_Pacs008ToMt103(benchmark::State& state) {
  const auto& documents = Documents();
  size_t i = 0;
  for (auto _ : state) {
    Result<std::string> mt = TranslatePacs008ToMt103(documents[i++ % documents.size()]);
    benchmark::DoNotOptimize(mt);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * Bytes(documents) / documents.size());
}
BENCHMARK(BM_Pacs008ToMt103);

// The anchor: `xmllint --noout` over `range(0)` pacs.008 files, one process for all of them
// (the process start is paid once, as ferry's CLI pays it once for a directory).
void BM_XmllintNoout(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const std::string dir = fmt::format("/tmp/ferry-swift-bench-{}", getpid());
  std::filesystem::create_directories(dir);
  const auto& documents = Documents();
  for (int i = 0; i < count; ++i) {
    std::ofstream(fmt::format("{}/{:05}.xml", dir, i)) << documents[i % documents.size()];
  }
  if (std::system("xmllint --version > /dev/null 2>&1") != 0) {
    state.SkipWithError("xmllint not found (Debian package libxml2-utils)");
    return;
  }
  const std::string command = fmt::format("cd {} && xmllint --noout *.xml", dir);
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    if (std::system(command.c_str()) != 0) state.SkipWithError("xmllint failed");
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.SetItemsProcessed(state.iterations() * count);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_XmllintNoout)->Arg(2000)->UseManualTime()->Unit(benchmark::kMillisecond);

int WriteMt(const std::string& dir, int count) {
  std::filesystem::create_directories(dir);
  for (int i = 0; i < count; ++i) {
    std::ofstream(fmt::format("{}/{:06}.mt", dir, i)) << Messages()[i % Messages().size()];
  }
  return 0;
}

}  // namespace
}  // namespace ferry::legacy

int main(int argc, char** argv) {
  if (argc == 5 && std::string_view(argv[1]) == "--write-mt" &&
      std::string_view(argv[3]) == "--count") {
    return ferry::legacy::WriteMt(argv[2], std::atoi(argv[4]));
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
