// GnuCOBOL as an independent oracle: COBOL programs, generated here, write records of every
// USAGE (with random values) through the very copybook the decoder parses, and DISPLAY each
// field as GnuCOBOL reads it back. The decoder must read from the file exactly the values the
// program wrote: the literals it moved, and what GnuCOBOL displays.
//
// cobc runs with -std=ibm: binary items take 2, 4 or 8 bytes as on z/OS. It displays COMP-1
// with 8 significant digits, which is compared to that precision. GnuCOBOL writes ASCII
// (zoned negative digits as p-y), COMP-5 and COMP-1/COMP-2 in the machine's (little-endian)
// order, and a variable-length sequential file with 4-byte big-endian headers holding the
// payload length. cobc is in the Debian package gnucobol3 (setup.sh installs it); without it
// these tests fail, naming the package.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/env.h"
#include "harness/process.h"
#include "legacy/number_text.h"
#include "legacy/record_decoder.h"
#include "legacy/record_encoder.h"

namespace ferry::legacy {
namespace {

std::string FindCobc() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = dir + "/cobc";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// The fields of the fixed-length record: every USAGE, sign form, SYNC, edited pictures, text,
// and a fixed OCCURS.
constexpr const char* kFixedCopybook =
    "       01  REC.\n"
    "           05  D-U      PIC 9(7).\n"
    "           05  D-S      PIC S9(7)V99.\n"
    "           05  D-SLE    PIC S9(5) SIGN LEADING.\n"
    "           05  D-SLS    PIC S9(5)V9 SIGN LEADING SEPARATE.\n"
    "           05  D-STS    PIC S9(4) SIGN TRAILING SEPARATE.\n"
    "           05  D-TP     PIC S9(3)PP.\n"
    "           05  B-S2     PIC S9(4) COMP.\n"
    "           05  B-U2     PIC 9(4) COMP.\n"
    "           05  B-S4     PIC S9(9) BINARY.\n"
    "           05  B-U4     PIC 9(8) COMP-4.\n"
    "           05  B-S8     PIC S9(15)V99 COMP.\n"
    "           05  B-U8     PIC 9(18) COMP.\n"
    "           05  N-S2     PIC S9(4) COMP-5.\n"
    "           05  N-S4     PIC S9(9) COMP-5.\n"
    "           05  N-U8     PIC 9(18) COMP-5.\n"
    "           05  P-S      PIC S9(7)V99 COMP-3.\n"
    "           05  P-U      PIC 9(6) COMP-3.\n"
    "           05  P-E      PIC S9(4) PACKED-DECIMAL.\n"
    "           05  P-L      PIC S9(18) COMP-3.\n"
    "           05  F-1      COMP-1.\n"
    "           05  F-2      COMP-2.\n"
    "           05  S-X      PIC X.\n"
    "           05  S-B      PIC S9(9) COMP SYNC.\n"
    "           05  S-D      COMP-2 SYNC.\n"
    "           05  E-1      PIC $$,$$9.99CR.\n"
    "           05  E-2      PIC -ZZZ9.\n"
    "           05  E-3      PIC ZZZ,ZZ9.99-.\n"
    "           05  E-4      PIC +9(5).\n"
    "           05  T-X      PIC X(10).\n"
    "           05  T-A      PIC A(6).\n"
    "           05  G        OCCURS 3.\n"
    "               10  G-N  PIC S9(3) COMP-3.\n"
    "               10  G-T  PIC X(2).\n";

// A variable-length record whose last item is an OCCURS DEPENDING ON.
constexpr const char* kVariableCopybook =
    "       01  VREC.\n"
    "           05  V-ID     PIC 9(4) COMP.\n"
    "           05  V-N      PIC 9.\n"
    "           05  V-ITEM   OCCURS 0 TO 5 DEPENDING ON V-N.\n"
    "               10  V-Q  PIC S9(5)V9 COMP-3.\n"
    "               10  V-C  PIC X(3).\n";

// One elementary item of the record, at one occurrence: what the program moves and displays.
struct Slot {
  int32_t field;
  std::string cobol;  // its name in COBOL, subscripted: G-N(2)
  std::string path;   // where the decoder's JSON has it: G/1/G_N
};

class GnuCobolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cobc_ = FindCobc();
    ASSERT_FALSE(cobc_.empty())
        << "cobc (GnuCOBOL) is not installed: apt-get install gnucobol3 (setup.sh installs it)";
    char pattern[] = "/tmp/ferry-gnucobol-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (!dir_.empty()) {
      ASSERT_TRUE(Env::Default()->RemoveAll(dir_).ok());
    }
  }

  void Write(const std::string& name, const std::string& text) {
    ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir_ + "/" + name, text).ok());
  }

  // Compiles and runs `program`; returns its stdout.
  std::string CompileAndRun(const std::string& program) {
    Write("prog.cob", program);
    Result<testing::ExitStatus> compiled = testing::RunToCompletion(
        {.argv = {cobc_, "-x", "-std=ibm", "-I", dir_, "-o", dir_ + "/prog", dir_ + "/prog.cob"},
         .stdout_path = dir_ + "/cobc.log",
         .stderr_path = dir_ + "/cobc.log",
         .working_dir = dir_},
        std::chrono::minutes(5));
    EXPECT_TRUE(compiled.has_value() && compiled->success())
        << "cobc failed: " << testing::ReadFileTail(dir_ + "/cobc.log");
    Result<testing::ExitStatus> ran = testing::RunToCompletion({.argv = {dir_ + "/prog"},
                                                                .stdout_path = dir_ + "/prog.out",
                                                                .stderr_path = dir_ + "/prog.err",
                                                                .working_dir = dir_},
                                                               std::chrono::minutes(2));
    EXPECT_TRUE(ran.has_value() && ran->success())
        << "the program failed: " << testing::ReadFileTail(dir_ + "/prog.err");
    return Env::Default()->ReadFile(dir_ + "/prog.out").value_or("");
  }

  std::string cobc_;
  std::string dir_;
};

// Every elementary item at every occurrence, in record order.
std::vector<Slot> Slots(const Copybook& cb, int32_t index, const std::string& path,
                        const std::string& subscript, int32_t occurs_limit) {
  std::vector<Slot> slots;
  for (int32_t child : cb.fields[index].children) {
    const Field& f = cb.fields[child];
    const int32_t count = f.has_occurs ? std::min(f.occurs_max, occurs_limit) : 1;
    for (int32_t k = 1; k <= count; ++k) {
      const std::string sub = f.has_occurs ? std::to_string(k) : "";
      std::string here = path;
      here += "/" + f.json_name;
      if (f.has_occurs) here += "/" + std::to_string(k - 1);
      std::string next = subscript;
      if (!sub.empty()) next += (next.empty() ? "" : ", ") + sub;
      if (f.is_group) {
        for (Slot& s : Slots(cb, child, here, next, occurs_limit)) slots.push_back(std::move(s));
      } else {
        slots.push_back({child, next.empty() ? f.name : f.name + "(" + next + ")", here});
      }
    }
  }
  return slots;
}

// A random value of a field: the COBOL literal that moves it, and the decoder's text for it.
class Values {
 public:
  explicit Values(uint32_t seed) : rng_(seed) {}

  std::pair<std::string, std::string> Of(const Field& f) {
    if (f.type == ValueType::kString) {
      const bool alphabetic = f.picture.category == PictureCategory::kAlphabetic;
      const char* chars = alphabetic ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ" : "ABCXYZ0123456789-./&";
      std::string text;
      const int length = Uniform(0, f.size);
      for (int i = 0; i < length; ++i) {
        text.push_back(Uniform(0, 5) == 0 ? ' ' : chars[Uniform(0, alphabetic ? 25 : 19)]);
      }
      const size_t last = text.find_last_not_of(' ');
      text = last == std::string::npos ? "" : text.substr(0, last + 1);
      const size_t first = text.find_first_not_of(' ');
      const std::string trimmed = first == std::string::npos ? "" : text.substr(first);
      return {text.empty() ? "SPACES" : "\"" + text + "\"", trimmed};
    }
    if (f.type == ValueType::kFloat || f.type == ValueType::kDouble) {
      // Binary fractions with few decimal digits: the literal is exactly the value.
      const bool single = f.type == ValueType::kFloat;
      const double v = static_cast<double>(Uniform(-999999, 999999)) / (single ? 8.0 : 1024.0);
      std::string literal = fmt::format("{:.10f}", v);
      literal.erase(literal.find_last_not_of('0') + 1);
      if (literal.back() == '.') literal += "0";
      std::string text;
      if (single) {
        AppendJavaFloat(static_cast<float>(v), &text);
      } else {
        AppendJavaDouble(v, &text);
      }
      return {literal, text};
    }
    std::string digits;
    const int length = Uniform(0, f.picture.digits);
    for (int i = 0; i < length; ++i) digits.push_back(static_cast<char>('0' + Uniform(0, 9)));
    if (digits.empty()) digits = "0";
    const bool negative = f.picture.is_signed && Uniform(0, 1) == 1;
    std::string text;
    AppendDecimal(negative, digits, f.scale, &text);
    return {text, text};
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::mt19937 rng_;
};

std::string Program(const std::string& file, const std::string& copybook, bool variable,
                    const std::string& statements) {
  std::string p =
      "       IDENTIFICATION DIVISION.\n"
      "       PROGRAM-ID. ORACLE.\n"
      "       ENVIRONMENT DIVISION.\n"
      "       INPUT-OUTPUT SECTION.\n"
      "       FILE-CONTROL.\n"
      "           SELECT OUT-FILE ASSIGN TO \"" +
      file +
      "\"\n"
      "               ORGANIZATION IS SEQUENTIAL.\n"
      "       DATA DIVISION.\n"
      "       FILE SECTION.\n";
  p += variable ? "       FD  OUT-FILE RECORD VARYING FROM 1 TO 4000.\n" : "       FD  OUT-FILE.\n";
  p += "       COPY \"" + copybook + "\".\n";
  p += "       PROCEDURE DIVISION.\n"
       "           OPEN OUTPUT OUT-FILE\n";
  p += statements;
  p += "           CLOSE OUT-FILE\n"
       "           STOP RUN.\n";
  return p;
}

// GnuCOBOL's DISPLAY of a number: digits with a sign before or after them, and the point only
// where the picture has an explicit one (an implied V is not shown). As decimal text.
std::string DisplayedNumber(const Field& f, const std::string& shown) {
  if (f.type == ValueType::kFloat || f.type == ValueType::kDouble) {
    std::string text;
    if (f.type == ValueType::kFloat) {
      AppendJavaFloat(std::strtof(shown.c_str(), nullptr), &text);
    } else {
      AppendJavaDouble(std::strtod(shown.c_str(), nullptr), &text);
    }
    return text;
  }
  bool negative = false;
  std::string digits;
  int32_t fraction = -1;
  for (char c : shown) {
    if (c == '-') negative = true;
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
      if (fraction >= 0) ++fraction;
    }
    if (c == '.') fraction = 0;
  }
  std::string text;
  AppendDecimal(negative, digits, fraction >= 0 ? fraction : f.scale, &text);
  return text;
}

// The JSON value at a slot's path, as the decoder prints it ("" for a missing value).
std::string At(const OrderedJson& record, const std::string& path, const Field& f) {
  const OrderedJson* j = &record;
  std::stringstream parts(path.substr(1));
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (j->is_array()) {
      j = &(*j)[std::stoul(part)];
    } else if (j->contains(part)) {
      j = &(*j)[part];
    } else {
      return "";
    }
  }
  if (j->is_string()) return j->get<std::string>();
  if (j->is_number_float()) {
    std::string text;
    if (f.type == ValueType::kFloat) {
      AppendJavaFloat(static_cast<float>(j->get<double>()), &text);
    } else {
      AppendJavaDouble(j->get<double>(), &text);
    }
    return text;
  }
  return j->dump();
}

TEST_F(GnuCobolTest, FixedRecordsOfEveryUsage) {
  constexpr int kRecords = 60;
  Write("rec.cpy", kFixedCopybook);
  Copybook cb = ParseCopybook(kFixedCopybook, "rec.cpy").value();
  const std::vector<Slot> slots = Slots(cb, cb.records.front(), "", "", 1000);
  Values values(20250601);
  std::vector<std::vector<std::pair<std::string, std::string>>> expected(kRecords);
  std::string statements;
  for (int r = 0; r < kRecords; ++r) {
    statements += "           MOVE ALL \"?\" TO REC\n";
    for (const Slot& s : slots) {
      auto [literal, text] = values.Of(cb.fields[s.field]);
      expected[r].emplace_back(literal, text);
      statements += fmt::format("           MOVE {}\n             TO {}\n", literal, s.cobol);
    }
    statements += "           WRITE REC\n";
    for (const Slot& s : slots) statements += fmt::format("           DISPLAY \"=\" {}\n", s.cobol);
  }
  const std::string out = CompileAndRun(Program("fixed.dat", "rec.cpy", false, statements));
  std::vector<std::string> shown;
  std::stringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] == '=') shown.push_back(line.substr(1));
  }
  ASSERT_EQ(shown.size(), slots.size() * kRecords);

  DecodeOptions options;
  options.codec.encoding = Encoding::kAscii;
  options.codec.code_page = CodePage::Get("ascii").value();
  options.codec.comp5_little_endian = true;
  options.codec.floating_point = FloatFormat::kIeeeLittleEndian;
  const std::string data = Env::Default()->ReadFile(dir_ + "/fixed.dat").value_or("");
  ASSERT_EQ(data.size(), static_cast<size_t>(kRecords * cb.record_size()));
  std::unique_ptr<RecordDecoder> decoder = RecordDecoder::Create(cb, options).value();
  int mismatches = 0;
  for (int r = 0; r < kRecords && mismatches < 10; ++r) {
    const auto* bytes =
        reinterpret_cast<const uint8_t*>(data.data()) + int64_t{r} * cb.record_size();
    Result<OrderedJson> record =
        decoder->ToJson(std::span<const uint8_t>(bytes, static_cast<size_t>(cb.record_size())));
    ASSERT_TRUE(record.has_value()) << "record " << r << ": " << record.error().ToString();
    for (size_t i = 0; i < slots.size(); ++i) {
      const Field& f = cb.fields[slots[i].field];
      const std::string decoded = At(*record, slots[i].path, f);
      const std::string& wrote = expected[r][i].second;
      const std::string& display = shown[r * slots.size() + i];
      // What GnuCOBOL shows: the number it holds, or the text (edited items show their text).
      const bool number =
          f.type != ValueType::kString && f.picture.category != PictureCategory::kNumericEdited;
      std::string displayed = number ? DisplayedNumber(f, display) : "";
      if (f.type == ValueType::kFloat) {
        // GnuCOBOL displays COMP-1 with 8 significant digits: equal to that precision.
        const double a = std::strtod(display.c_str(), nullptr);
        const double b = std::strtod(decoded.c_str(), nullptr);
        if (std::fabs(a - b) <= 1e-7 * std::fabs(b)) displayed = decoded;
      }
      if (decoded != wrote || (number && decoded != displayed)) {
        ++mismatches;
        ADD_FAILURE() << "record " << r << " " << slots[i].cobol << " (" << f.picture.text << " "
                      << UsageName(f.usage) << "): moved " << expected[r][i].first
                      << ", GnuCOBOL displays `" << display << "`, decoded `" << decoded << "`";
      }
    }
  }
}

TEST_F(GnuCobolTest, VariableLengthRecordsWithOccursDependingOn) {
  constexpr int kRecords = 80;
  Write("vrec.cpy", kVariableCopybook);
  Copybook cb = ParseCopybook(kVariableCopybook, "vrec.cpy").value();
  const std::vector<int32_t> q = cb.Find("V-Q"), c = cb.Find("V-C");
  Values values(42);
  std::mt19937 rng(42);
  std::vector<std::string> expected;
  std::string statements;
  for (int r = 0; r < kRecords; ++r) {
    const int n = static_cast<int>(rng() % 6);
    statements += fmt::format("           MOVE {} TO V-ID\n           MOVE {} TO V-N\n", r, n);
    OrderedJson record = {{"V_ID", r}, {"V_N", n}, {"V_ITEM", OrderedJson::array()}};
    for (int k = 1; k <= n; ++k) {
      auto [q_literal, q_text] = values.Of(cb.fields[q[0]]);
      auto [c_literal, c_text] = values.Of(cb.fields[c[0]]);
      statements += fmt::format("           MOVE {} TO V-Q({})\n           MOVE {} TO V-C({})\n",
                                q_literal, k, c_literal, k);
      record["V_ITEM"].push_back({{"V_Q", q_text}, {"V_C", c_text}});
    }
    statements += "           WRITE VREC\n";
    expected.push_back(record.dump());
  }
  CompileAndRun(Program("variable.dat", "vrec.cpy", true, statements));
  const std::string data = Env::Default()->ReadFile(dir_ + "/variable.dat").value_or("");
  StreamOptions options;
  options.decode.codec.encoding = Encoding::kAscii;
  options.decode.variable_size_occurs = true;
  FramingOptions framing{.format = RecordFormat::kVariable, .rdw_adjustment = 0};
  std::unique_ptr<ByteSource> source = ByteSource::FromMemory(data);
  std::vector<std::string> decoded;
  ASSERT_TRUE(DecodeStream(
                  source.get(), cb, framing, options,
                  [&](std::string_view line) {
                    // The same record as a value, to compare decimals as text.
                    OrderedJson j = ParseRecordJson(line, "decoded").value();
                    decoded.push_back(j.dump());
                    return OkStatus();
                  },
                  [](const Reject& r) {
                    ADD_FAILURE() << RejectJson(r);
                    return OkStatus();
                  })
                  .has_value());
  ASSERT_EQ(decoded.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(decoded[i], expected[i]) << "record " << i;
}

}  // namespace
}  // namespace ferry::legacy
