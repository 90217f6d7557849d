// Copybook decoding throughput on wide records of mixed types: a generated copybook like
// Cobrix's test6 (text, zoned decimals of 1 to 18 digits signed and unsigned, explicit points,
// separate signs, binary of 2, 4 and 8 bytes, packed decimals, COMP-1 and COMP-2, edited
// pictures: 202 fields, 1,502 bytes a record) and 20,000 random EBCDIC records of it (30 MB),
// decoded single-threaded, so the figures are per core. Figures and commands: docs/legacy.md,
// "Performance".
//
//   copybook_bench                                    # the benchmarks
//   copybook_bench --write-copybook FILE.cob --write-data FILE.dat [--records N] [--seed S]
//
// The written files are what `ferry copybook decode` reads, so the CLI can be timed on the
// same data.
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "legacy/copybook.h"
#include "legacy/number_text.h"
#include "legacy/record_decoder.h"
#include "legacy/record_encoder.h"

namespace ferry::legacy {
namespace {

// The copybook: every kind of field test6 has, in the proportions it has them.
std::string WideCopybook() {
  std::string cb = "       01  WIDE-RECORD.\n           05  ID              PIC 9(9) COMP.\n";
  auto add = [&](const std::string& name, const std::string& clause) {
    cb += fmt::format("           05  {:<15} {}.\n", name, clause);
  };
  for (int i = 1; i <= 8; ++i) add(fmt::format("TEXT-{}", i), fmt::format("PIC X({})", 5 + 5 * i));
  const int digits[] = {1, 2, 3, 4, 5, 8, 9, 10, 11, 15, 17, 18};
  for (int d : digits) add(fmt::format("UINT-{}", d), fmt::format("PIC 9({})", d));
  for (int d : digits) add(fmt::format("SINT-{}", d), fmt::format("PIC S9({})", d));
  for (int d : digits) add(fmt::format("UDEC-{}", d), fmt::format("PIC 9({})V99", d));
  for (int d : digits) {
    add(fmt::format("SDEC-{}", d), fmt::format("PIC S9({})V9(4)", std::min(d, 14)));
  }
  for (int d : {3, 5, 9, 12}) add(fmt::format("EDEC-{}", d), fmt::format("PIC S9({}).99", d));
  for (int d : digits) add(fmt::format("UBIN-{}", d), fmt::format("PIC 9({}) COMP", d));
  for (int d : digits) add(fmt::format("SBIN-{}", d), fmt::format("PIC S9({}) BINARY", d));
  for (int d : digits) {
    add(fmt::format("DBIN-{}", d), fmt::format("PIC S9({})V99 COMP", std::min(d, 16)));
  }
  for (int d : digits) add(fmt::format("UPCK-{}", d), fmt::format("PIC 9({}) COMP-3", d));
  for (int d : digits) add(fmt::format("SPCK-{}", d), fmt::format("PIC S9({}) COMP-3", d));
  for (int d : digits) {
    add(fmt::format("DPCK-{}", d), fmt::format("PIC S9({})V99 COMP-3", std::min(d, 16)));
  }
  for (int d : digits) add(fmt::format("NBIN-{}", d), fmt::format("PIC S9({}) COMP-5", d));
  add("SL-INT", "PIC S9(9) SIGN LEADING SEPARATE");
  add("ST-DEC", "PIC S9(7)V99 SIGN TRAILING SEPARATE");
  add("SLI-DEC", "PIC SV9(7) SIGN LEADING");
  for (int i = 1; i <= 4; ++i) add(fmt::format("FLOAT-{}", i), "COMP-1");
  for (int i = 1; i <= 4; ++i) add(fmt::format("DOUBLE-{}", i), "COMP-2");
  add("EX-1", "PIC +9(8)");
  add("EX-2", "PIC Z(6)VZZ-");
  add("EX-3", "PIC 9(6).99-");
  add("EX-4", "PIC $$,$$9.99CR");
  for (int i = 1; i <= 30; ++i) add(fmt::format("CODE-{}", i), "PIC X(4)");
  for (int i = 1; i <= 12; ++i) add(fmt::format("AMT-{}", i), "PIC S9(11)V99 COMP-3");
  return cb;
}

const Copybook& WideLayout() {
  static const Copybook* cb = new Copybook(ParseCopybook(WideCopybook(), "wide.cob").value());
  return *cb;
}

// `records` random records, encoded through RecordEncoder (EBCDIC CCSID 37, IBM floats).
std::string WideData(int64_t records, uint32_t seed) {
  const Copybook& cb = WideLayout();
  std::unique_ptr<RecordEncoder> encoder = RecordEncoder::Create(cb, {}).value();
  std::mt19937_64 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::string data;
  data.reserve(static_cast<size_t>(records * cb.record_size()));
  for (int64_t r = 0; r < records; ++r) {
    OrderedJson record = OrderedJson::object();
    for (int32_t index : cb.fields[cb.records.front()].children) {
      const Field& f = cb.fields[index];
      if (f.name == "ID") {
        record[f.json_name] = r;
      } else if (f.type == ValueType::kString) {
        std::string text;
        const int length = uniform(f.size / 2, f.size);
        for (int i = 0; i < length; ++i) text.push_back("ABCDEFGHIJ KLMNOP.0123-"[uniform(0, 22)]);
        record[f.json_name] = text;
      } else if (f.type == ValueType::kFloat || f.type == ValueType::kDouble) {
        record[f.json_name] = static_cast<double>(uniform(-9999999, 9999999)) / 128.0;
      } else {
        std::string digits;
        const int length = uniform(1, f.picture.digits);
        for (int i = 0; i < length; ++i) digits.push_back(static_cast<char>('0' + uniform(0, 9)));
        std::string text;
        AppendDecimal(f.picture.is_signed && uniform(0, 1) == 1, digits, f.scale, &text);
        record[f.json_name] = text;
      }
    }
    std::vector<uint8_t> bytes = encoder->Encode(record).value();
    data.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  return data;
}

const std::string& BenchData() {
  static const std::string* data = new std::string(WideData(20000, 1));
  return *data;
}

// The whole path `ferry copybook decode` takes, to JSON Lines in memory.
void BM_DecodeToJsonLines(benchmark::State& state) {
  const Copybook& cb = WideLayout();
  const std::string& data = BenchData();
  int64_t records = 0, json_bytes = 0;
  for (auto _ : state) {
    std::unique_ptr<ByteSource> source = ByteSource::FromMemory(data);
    json_bytes = 0;
    Result<StreamStats> stats = DecodeStream(
        source.get(), cb, {}, {},
        [&](std::string_view line) {
          json_bytes += static_cast<int64_t>(line.size()) + 1;
          benchmark::DoNotOptimize(line.data());
          return OkStatus();
        },
        [](const Reject&) { return OkStatus(); });
    if (!stats.has_value() || stats->rejected != 0) {
      state.SkipWithError("the data did not decode");
      return;
    }
    records = stats->records;
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.size()));
  state.SetItemsProcessed(state.iterations() * records);
  state.counters["record_bytes"] = cb.record_size();
  state.counters["fields"] = static_cast<double>(cb.fields.size() - 1);
  state.counters["json_bytes_per_record"] =
      static_cast<double>(json_bytes) / static_cast<double>(records);
}
BENCHMARK(BM_DecodeToJsonLines)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Every field decoded and checked, no output: what decoding itself costs.
void BM_DecodeOnly(benchmark::State& state) {
  const Copybook& cb = WideLayout();
  const std::string& data = BenchData();
  std::unique_ptr<RecordDecoder> decoder = RecordDecoder::Create(cb, {}).value();
  const auto size = static_cast<size_t>(cb.record_size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  const size_t records = data.size() / size;
  for (auto _ : state) {
    RecordError error;
    for (size_t r = 0; r < records; ++r) {
      if (!decoder->Validate(std::span<const uint8_t>(bytes + r * size, size), &error)) {
        state.SkipWithError(error.reason.c_str());
        return;
      }
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(records * size));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(records));
}
BENCHMARK(BM_DecodeOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// `ferry copybook encode`'s path: JSON Lines (decoded untrimmed, so they come back byte for
// byte) parsed and written as records again.
void BM_EncodeFromJsonLines(benchmark::State& state) {
  const Copybook& cb = WideLayout();
  const std::string& data = BenchData();
  StreamOptions options;
  options.decode.codec.trimming = Trimming::kNone;
  std::vector<std::string> lines;
  std::unique_ptr<ByteSource> source = ByteSource::FromMemory(data);
  Result<StreamStats> decoded = DecodeStream(
      source.get(), cb, {}, options,
      [&](std::string_view line) {
        lines.emplace_back(line);
        return OkStatus();
      },
      [](const Reject&) { return OkStatus(); });
  if (!decoded.has_value()) {
    state.SkipWithError("the data did not decode");
    return;
  }
  std::unique_ptr<RecordEncoder> encoder = RecordEncoder::Create(cb, options.decode).value();
  int64_t json_bytes = 0;
  for (const std::string& line : lines) json_bytes += static_cast<int64_t>(line.size()) + 1;
  for (auto _ : state) {
    for (const std::string& line : lines) {
      Result<OrderedJson> record = ParseRecordJson(line, "line");
      Result<std::vector<uint8_t>> bytes =
          record.has_value() ? encoder->Encode(*record) : Err(record.error());
      if (!bytes.has_value() || bytes->size() != static_cast<size_t>(cb.record_size())) {
        state.SkipWithError("a line did not encode");
        return;
      }
      benchmark::DoNotOptimize(bytes->data());
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.size()));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
  state.counters["json_MB_per_s"] = benchmark::Counter(
      static_cast<double>(json_bytes) * static_cast<double>(state.iterations()) / 1e6,
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EncodeFromJsonLines)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_ParseCopybook(benchmark::State& state) {
  const std::string text = WideCopybook();
  for (auto _ : state) {
    Result<Copybook> cb = ParseCopybook(text, "wide.cob");
    benchmark::DoNotOptimize(cb);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParseCopybook);

int WriteAndExit(int argc, char** argv) {
  std::string copybook_path, data_path;
  int64_t records = 100000;
  uint32_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (std::strcmp(argv[i], "--write-copybook") == 0) {
      copybook_path = value();
    } else if (std::strcmp(argv[i], "--write-data") == 0) {
      data_path = value();
    } else if (std::strcmp(argv[i], "--records") == 0) {
      records = std::stoll(value());
    } else if (std::strcmp(argv[i], "--seed") == 0) {
      seed = static_cast<uint32_t>(std::stoul(value()));
    } else {
      std::cerr << "copybook_bench: unknown argument " << argv[i]
                << " (--write-copybook FILE --write-data FILE [--records N] [--seed S])\n";
      return 2;
    }
  }
  if (!copybook_path.empty()) std::ofstream(copybook_path) << WideCopybook();
  if (!data_path.empty()) std::ofstream(data_path, std::ios::binary) << WideData(records, seed);
  std::cerr << "copybook_bench: " << WideLayout().fields.size() - 1 << " fields, "
            << WideLayout().record_size() << " bytes a record, " << records << " records\n";
  return 0;
}

}  // namespace
}  // namespace ferry::legacy

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--write-", 8) == 0) return ferry::legacy::WriteAndExit(argc, argv);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
