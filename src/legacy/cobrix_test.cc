// The Cobrix test cases (../shared/data/cobol/cobrix; TESTS.md there explains each one): every
// case's copybook, data and reader options, decoded and compared with Cobrix's expected output
// exactly (each line as Spark printed it). Skips when the shared data is not beside the clone.
//
// Reader options map to ours as docs/legacy.md, "Cobrix options", lists them. Cases that need
// something else are said so where they are; test 11's record-header parser is a Scala class,
// so its header format (as TESTS.md describes it) is turned into RDWs here.
#include <algorithm>

#include <gtest/gtest.h>

#include "base/env.h"
#include "legacy/copybook.h"
#include "legacy/layout.h"
#include "legacy/number_text.h"
#include "legacy/record_decoder.h"

namespace ferry::legacy {
namespace {

std::string CobrixDir() { return std::string(FERRY_SOURCE_DIR) + "/../shared/data/cobol/cobrix"; }

// Java's readAllLines: split on \n, \r\n or \r; no empty last line.
std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') {
      lines.push_back(line);
      line.clear();
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      line.push_back(c);
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// Jackson's default pretty printer over our compact JSON text: objects break lines and indent
// two blanks per object level, `"key" : value`; arrays stay on the line (`[ {`, `}, {`, `} ]`);
// empty ones are `{ }` and `[ ]`. Strings are copied as they are. Cobrix's test parsed the
// records back into Jackson trees before printing them, so a number with a point went through a
// Java double (17.40 prints as 17.4): with `doubles`, such numbers are printed that way.
class JacksonPretty {
 public:
  static std::string Format(std::string_view json, bool doubles = false) {
    JacksonPretty p(json);
    p.doubles_ = doubles;
    p.Value(0);
    return p.out_;
  }

 private:
  explicit JacksonPretty(std::string_view json) : in_(json) {}

  void Value(int nesting) {
    const char c = in_[pos_];
    if (c == '{') {
      ++pos_;
      if (in_[pos_] == '}') {
        ++pos_;
        out_ += "{ }";
        return;
      }
      out_ += "{";
      bool first = true;
      while (in_[pos_] != '}') {
        if (!first) ++pos_;  // the comma
        out_ += first ? "\n" : ",\n";
        first = false;
        out_.append(2 * static_cast<size_t>(nesting + 1), ' ');
        String();
        ++pos_;  // the colon
        out_ += " : ";
        Value(nesting + 1);
        if (in_[pos_] == ',') continue;
      }
      ++pos_;
      out_ += "\n";
      out_.append(2 * static_cast<size_t>(nesting), ' ');
      out_ += "}";
    } else if (c == '[') {
      ++pos_;
      if (in_[pos_] == ']') {
        ++pos_;
        out_ += "[ ]";
        return;
      }
      out_ += "[ ";
      bool first = true;
      while (in_[pos_] != ']') {
        if (!first) {
          ++pos_;
          out_ += ", ";
        }
        first = false;
        Value(nesting);
      }
      ++pos_;
      out_ += " ]";
    } else if (c == '"') {
      String();
    } else {
      const size_t start = pos_;
      while (pos_ < in_.size() && in_[pos_] != ',' && in_[pos_] != '}' && in_[pos_] != ']') ++pos_;
      std::string_view number = in_.substr(start, pos_ - start);
      if (doubles_ && number.find_first_of(".eE") != std::string_view::npos) {
        AppendJavaDouble(std::stod(std::string(number)), &out_);
      } else {
        out_.append(number);
      }
    }
  }

  void String() {
    const size_t start = pos_++;
    while (in_[pos_] != '"') pos_ += in_[pos_] == '\\' ? 2 : 1;
    ++pos_;
    out_.append(in_.substr(start, pos_ - start));
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool doubles_ = false;
  std::string out_;
};

// Cobrix's defaults, as its tests run them: EBCDIC `common`, strings trimmed, all-zero fields
// null, invalid values null, fixed-length records, little-endian RDWs counting the payload.
struct CobrixRun {
  std::vector<std::string> copybooks;
  std::vector<std::string> data;
  FramingOptions framing = [] {
    FramingOptions f;
    f.rdw_big_endian = false;
    f.rdw_adjustment = 0;
    return f;
  }();
  StreamOptions options = [] {
    StreamOptions o;
    o.decode.codec.code_page = CodePage::Get("common").value();
    o.decode.codec.invalid = InvalidValues::kNull;
    return o;
  }();
  void Ascii(const char* charset = "ascii") {
    options.decode.codec.encoding = Encoding::kAscii;
    options.decode.codec.code_page = CodePage::Get(charset).value();
  }
  void CodePageNamed(const char* name) {
    options.decode.codec.code_page = CodePage::Get(name).value();
  }
};

class CobrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Env::Default()->FileExists(CobrixDir() + "/TESTS.md")) {
      GTEST_SKIP() << CobrixDir() << " not found: the shared datasets are not beside this clone";
    }
  }
  static std::string Read(const std::string& name) {
    Result<std::string> text = Env::Default()->ReadFile(CobrixDir() + "/" + name);
    EXPECT_TRUE(text.has_value()) << text.error().ToString();
    return text.value_or("");
  }
  static Copybook Parse(const std::string& name) {
    Result<Copybook> cb = ParseCopybook(Read(name), name);
    EXPECT_TRUE(cb.has_value()) << cb.error().ToString();
    return cb.value_or(Copybook{});
  }

  // Every record of every data file, as JSON lines; rejects fail the test.
  static std::vector<std::string> Decode(CobrixRun run) {
    std::vector<Copybook> copybooks;
    copybooks.reserve(run.copybooks.size());
    for (const std::string& name : run.copybooks) copybooks.push_back(Parse(name));
    Result<Copybook> copybook = MergeCopybooks(std::move(copybooks));
    EXPECT_TRUE(copybook.has_value()) << copybook.error().ToString();
    if (!copybook.has_value()) return {};
    std::vector<std::string> lines;
    for (size_t file = 0; file < run.data.size(); ++file) {
      const std::string bytes = Read(run.data[file]);
      std::unique_ptr<ByteSource> source = ByteSource::FromMemory(bytes);
      run.options.decode.file_id = static_cast<int32_t>(file);
      Result<StreamStats> stats = DecodeStream(
          source.get(), *copybook, run.framing, run.options,
          [&](std::string_view line) {
            lines.emplace_back(line);
            return OkStatus();
          },
          [&](const Reject& reject) {
            ADD_FAILURE() << run.data[file] << ": " << RejectJson(reject);
            return OkStatus();
          });
      EXPECT_TRUE(stats.has_value()) << stats.error().ToString();
    }
    return lines;
  }

  // The first lines of `actual` equal the expected file's lines.
  static void ExpectLines(const std::vector<std::string>& actual,
                          const std::string& expected_file) {
    const std::vector<std::string> expected = SplitLines(Read(expected_file));
    ASSERT_FALSE(expected.empty()) << expected_file;
    ASSERT_GE(actual.size(), expected.size()) << expected_file;
    int mismatches = 0;
    for (size_t i = 0; i < expected.size() && mismatches < 3; ++i) {
      if (actual[i] != expected[i]) {
        ++mismatches;
        ADD_FAILURE() << expected_file << " line " << i + 1 << "\nexpected: " << expected[i]
                      << "\nactual:   " << actual[i];
      }
    }
  }
};

// ---- Layouts (the parser's offsets and sizes, in Cobrix's layout report).

TEST_F(CobrixTest, Test6Layout) {
  EXPECT_EQ(FormatCobrixLayout(Parse("test6_copybook.cob")),
            Read("test6_expected/test6_layout.txt"));
}

// Test 7's runs: which fillers each drops and how it names the ones it keeps (TESTS.md, test 7).
struct Test7Run {
  const char* name;
  bool drop_value, drop_group;
  FillerNaming naming;
};
constexpr Test7Run kTest7Runs[] = {{"test7", true, true, FillerNaming::kSequenceNumbers},
                                   {"test7a", true, false, FillerNaming::kSequenceNumbers},
                                   {"test7b", false, true, FillerNaming::kSequenceNumbers},
                                   {"test7c", false, false, FillerNaming::kSequenceNumbers},
                                   {"test7d", false, false, FillerNaming::kPreviousFieldName}};

TEST_F(CobrixTest, Test7Layouts) {
  Copybook cb = Parse("test7_fillers.cob");
  // Each run's layout names the fillers its records keep (TESTS.md, test 7).
  for (const auto& run : kTest7Runs) {
    FillerPolicy policy{run.drop_group, run.drop_value, run.naming};
    EXPECT_EQ(FormatCobrixLayout(cb, &policy),
              Read(std::string("test7_expected/") + run.name + "_layout.txt"))
        << run.name;
  }
}

TEST_F(CobrixTest, Test11Layout) {
  EXPECT_EQ(FormatCobrixLayout(Parse("test11_copybook.cob")),
            Read("test11_expected/test11_layout.txt"));
}

TEST_F(CobrixTest, Test16Layout) {
  EXPECT_EQ(FormatCobrixLayout(Parse("test16_fix_len_segments.cob")),
            Read("test16_expected/test16_layout.txt"));
}

// ---- Records.

TEST_F(CobrixTest, Test1FixedLengthOccursDependingOnRedefines) {
  CobrixRun run{.copybooks = {"test1_copybook.cob"}, .data = {"test1_data/example.bin"}};
  ExpectLines(Decode(run), "test1_expected/test1.txt");
}

TEST_F(CobrixTest, Test1aRecordStartAndEndOffsets) {
  CobrixRun run{.copybooks = {"test1a_copybook.cob"}, .data = {"test1_data/example.bin"}};
  run.framing.record_start_offset = 2;
  run.framing.record_end_offset = 27;
  ExpectLines(Decode(run), "test1a_expected/test1a.txt");
}

TEST_F(CobrixTest, Test1bGeneratedRecordIds) {
  CobrixRun run{.copybooks = {"test1_copybook.cob"}, .data = {"test1_data/example.bin"}};
  run.options.decode.generate_record_id = true;
  ExpectLines(Decode(run), "test1b_expected/test1b.txt");
}

TEST_F(CobrixTest, Test2TwoFilesKnowTheirFileId) {
  CobrixRun run{.copybooks = {"test2_copybook.cob"},
                .data = {"test2_data/example.bin", "test2_data/example2.bin"}};
  run.options.decode.generate_record_id = true;
  std::vector<std::string> lines = Decode(run);
  ASSERT_EQ(lines.size(), 20u);
  EXPECT_EQ(lines.front().rfind("{\"File_Id\":0,\"Record_Id\":0,", 0), 0u) << lines.front();
  EXPECT_NE(lines.front().find("\"ID\":1,"), std::string::npos);
  EXPECT_EQ(lines.back().rfind("{\"File_Id\":1,\"Record_Id\":9,", 0), 0u) << lines.back();
  EXPECT_NE(lines.back().find("\"ID\":20,"), std::string::npos);
}

TEST_F(CobrixTest, Test3SegmentFilterAndTrimming) {
  const struct {
    const char* expected;
    Trimming trimming;
  } runs[] = {{"test3.txt", Trimming::kBoth},
              {"test3_trim_none.txt", Trimming::kNone},
              {"test3_trim_left.txt", Trimming::kLeft},
              {"test3_trim_right.txt", Trimming::kRight},
              {"test3_trim_both.txt", Trimming::kBoth}};
  for (const auto& r : runs) {
    CobrixRun run{.copybooks = {"test3_copybook.cob"}, .data = {"test3_data/TRAN2.AUG31.DATA.dat"}};
    run.options.decode.segment_field = "SIGNATURE";
    run.options.decode.segment_filter = {"S9276511"};
    run.options.decode.codec.trimming = r.trimming;
    ExpectLines(Decode(run), std::string("test3_expected/") + r.expected);
  }
}

CobrixRun Test4Run(const char* data) {
  CobrixRun run{.copybooks = {"test4_copybook.cob"}, .data = {data}};
  run.Ascii();
  run.framing.format = RecordFormat::kVariable;
  run.options.decode.segment_field = "SEGMENT_ID";
  run.options.decode.segment_id_levels = {"C", "P"};
  run.options.decode.segment_id_prefix = "A";
  run.options.decode.generate_record_id = true;
  return run;
}

TEST_F(CobrixTest, Test4AsciiVariableLengthMultisegment) {
  ExpectLines(Decode(Test4Run("test4_data/COMP.DETAILS.SEP30.DATA.dat")),
              "test4_expected/test4.txt");
}

TEST_F(CobrixTest, Test4aLatin1WithoutNullDetection) {
  CobrixRun run = Test4Run("test4a_data/COMP.DETAILS.SEP30.DATA.dat");
  run.Ascii("latin1");
  run.options.decode.codec.null_if_all_zero_bytes = false;
  ExpectLines(Decode(run), "test4_expected/test4a.txt");
}

CobrixRun Test5Run(const char* data) {
  CobrixRun run{.copybooks = {"test5_copybook.cob"}, .data = {data}};
  run.framing.format = RecordFormat::kVariable;
  run.options.decode.segment_field = "SEGMENT_ID";
  run.options.decode.generate_record_id = true;
  return run;
}

TEST_F(CobrixTest, Test5EbcdicVariableLengthMultisegment) {
  CobrixRun run = Test5Run("test5_data/COMP.DETAILS.SEP30.DATA.dat");
  run.options.decode.codec.null_if_all_zero_bytes = false;
  run.options.decode.segment_id_levels = {"C", "P"};
  run.options.decode.segment_id_prefix = "A";
  ExpectLines(Decode(run), "test5_expected/test5.txt");
}

TEST_F(CobrixTest, Test5aRootSegmentOnly) {
  CobrixRun run = Test5Run("test5_data/COMP.DETAILS.SEP30.DATA.dat");
  run.options.decode.codec.null_if_all_zero_bytes = false;
  run.options.decode.segment_id_levels = {"C"};
  run.options.decode.segment_id_prefix = "B";
  ExpectLines(Decode(run), "test5_expected/test5a.txt");
}

TEST_F(CobrixTest, Test5bBigEndianRdw) {
  CobrixRun run = Test5Run("test5b_data/COMP.DETAILS.FEB02.DATA.RDW.BE.dat");
  run.framing.rdw_big_endian = true;
  run.options.decode.codec.null_if_all_zero_bytes = false;
  run.options.decode.segment_id_levels = {"C", "P"};
  run.options.decode.segment_id_prefix = "A";
  ExpectLines(Decode(run), "test5_expected/test5b.txt");
}

TEST_F(CobrixTest, Test5cRedefinesPerSegment) {
  CobrixRun run = Test5Run("test5_data/COMP.DETAILS.SEP30.DATA.dat");
  run.options.decode.segment_id_levels = {"C"};
  run.options.decode.segment_id_prefix = "B";
  run.options.decode.segment_redefines = {{"STATIC-DETAILS", {"C", "D"}}, {"CONTACTS", {"P"}}};
  ExpectLines(Decode(run), "test5_expected/test5c.txt");
}

TEST_F(CobrixTest, Test5dRecordLengthField) {
  CobrixRun run{.copybooks = {"test5d_copybook.cob"},
                .data = {"test5b_data/COMP.DETAILS.FEB02.DATA.RDW.BE.dat"}};
  run.options.record_length_field = "RECORD-LENGTH";
  run.options.record_length_adjustment = 4;
  run.options.decode.codec.null_if_all_zero_bytes = false;
  run.options.decode.segment_field = "SEGMENT_ID";
  run.options.decode.generate_record_id = true;
  run.options.decode.segment_id_levels = {"C", "P"};
  run.options.decode.segment_id_prefix = "A";
  ExpectLines(Decode(run), "test5_expected/test5d.txt");
}

TEST_F(CobrixTest, Test6TypeVariety) {
  CobrixRun run{.copybooks = {"test6_copybook.cob"},
                .data = {"test6_data/INTEGR.TYPES.NOV28.DATA.dat"}};
  run.options.decode.codec.floating_point = FloatFormat::kIeee;
  ExpectLines(Decode(run), "test6_expected/test6.txt");
}

// Test 7's runs print the first 100 records sorted by AMOUNT as one pretty-printed array.
TEST_F(CobrixTest, Test7Fillers) {
  for (const auto& r : kTest7Runs) {
    CobrixRun run{.copybooks = {"test7_fillers.cob"},
                  .data = {"test7_data/TEST.FILLERS.DEC07.DATA.dat"}};
    run.options.decode.fillers = {r.drop_group, r.drop_value, r.naming};
    std::vector<std::string> lines = Decode(run);
    std::vector<std::pair<double, std::string>> sorted;
    sorted.reserve(lines.size());
    for (const std::string& line : lines) {
      sorted.emplace_back(OrderedJson::parse(line).value("AMOUNT", 0.0), line);
    }
    std::ranges::stable_sort(sorted,
                             [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string array = "[";
    for (size_t i = 0; i < sorted.size() && i < 100; ++i) {
      array += (i == 0 ? "" : ",") + sorted[i].second;
    }
    array += "]";
    EXPECT_EQ(JacksonPretty::Format(array, /*doubles=*/true),
              Read(std::string("test7_expected/") + r.name + ".txt"))
        << r.name;
  }
}

TEST_F(CobrixTest, Test8NonPrintableCharacters) {
  CobrixRun printable{.copybooks = {"test8_copybook.cob"},
                      .data = {"test8_data/TRAN2.MAR14.DATA.dat"}};
  ExpectLines(Decode(printable), "test8_expected/test8_printable.txt");
  CobrixRun extended = printable;
  extended.CodePageNamed("common_extended");
  extended.options.decode.codec.trimming = Trimming::kNone;
  ExpectLines(Decode(extended), "test8_expected/test8_non_printable.txt");
}

TEST_F(CobrixTest, Test9CodePages) {
  const struct {
    const char* page;
    const char* expected;
    Trimming trimming;
  } runs[] = {{"cp037", "test9_cp037.txt", Trimming::kBoth},
              {"cp037_extended", "test9_cp037_ext.txt", Trimming::kNone},
              {"cp273", "test9_cp273.txt", Trimming::kNone},
              {"cp500", "test9_cp500.txt", Trimming::kNone},
              {"cp1140", "test9_cp1140.txt", Trimming::kNone},
              {"cp1141", "test9_cp1141.txt", Trimming::kNone},
              {"cp1148", "test9_cp1148.txt", Trimming::kNone}};
  for (const auto& r : runs) {
    CobrixRun run{.copybooks = {"test9_copybook.cob"},
                  .data = {"test9_data/TRAN.APR14.NPT.DATA.dat"}};
    run.CodePageNamed(r.page);
    run.options.decode.codec.trimming = r.trimming;
    ExpectLines(Decode(run), std::string("test9_expected/") + r.expected);
  }
}

// The test-only class of test 9: `common` with the cases swapped, 0x6A as `|`, no `'`, `"`,
// `\` and no CR/LF (TESTS.md, section 3).
TEST_F(CobrixTest, Test9CustomCodePage) {
  const CodePage* common = CodePage::Get("common").value();
  std::array<char32_t, 256> table;
  for (int b = 0; b < 256; ++b) {
    char32_t c = common->CodePoint(static_cast<uint8_t>(b));
    if (c >= 'a' && c <= 'z') {
      c = c - 'a' + 'A';
    } else if (c >= 'A' && c <= 'Z') {
      c = c - 'A' + 'a';
    } else if (c == '\'' || c == '"' || c == '\\' || c == '\n' || c == '\r') {
      c = ' ';
    }
    table[b] = c;
  }
  table[0x6A] = '|';
  CodePage custom("custom", "", true, table);
  CobrixRun run{.copybooks = {"test9_copybook.cob"},
                .data = {"test9_data/TRAN.APR14.NPT.DATA.dat"}};
  run.options.decode.codec.code_page = &custom;
  run.options.decode.codec.trimming = Trimming::kNone;
  ExpectLines(Decode(run), "test9_expected/test9_cp_custom.txt");
}

TEST_F(CobrixTest, Test10NonTerminals) {
  CobrixRun run{.copybooks = {"test10_copybook.cob"}, .data = {"test10_data/data.dat"}};
  run.Ascii();
  run.options.decode.keep_root = true;
  run.options.decode.non_terminals = {"NAME", "ACCOUNT-NO"};
  ExpectLines(Decode(run), "test10_expected/test10.txt");
}

// Test 11's header parser is a Scala class: a 5-byte header, byte 0 = 1 for a valid record (0:
// skip it), the length little-endian at bytes 3-4. Its headers become RDWs here, so the records
// decode as V; Record_Id counts the valid records only, as there.
TEST_F(CobrixTest, Test11CustomRecordHeaders) {
  const std::string raw = Read("test11_data/COMP.DETAILS.MAY30.DATA.dat");
  std::string rdw;
  size_t headers = 0, valid = 0, long_ones = 0;
  for (size_t pos = 0; pos + 5 <= raw.size();) {
    const auto* h = reinterpret_cast<const uint8_t*>(raw.data() + pos);
    const size_t length = h[3] + 256 * h[4];
    ASSERT_GT(length, 0u) << "a zero length at " << pos;
    ++headers;
    if (h[0] == 1) {
      ++valid;
      if (length >= 61) ++long_ones;
      rdw +=
          std::string{'\0', '\0', static_cast<char>(length & 0xFF), static_cast<char>(length >> 8)};
      rdw.append(raw, pos + 5, length);
    }
    pos += 5 + length;
  }
  EXPECT_EQ(headers, 1306u);
  EXPECT_EQ(valid, 1000u);
  EXPECT_EQ(long_ones, 328u);  // the suite's minimum_record_length=61 check
  Result<Copybook> copybook = ParseCopybook(Read("test11_copybook.cob"), "test11_copybook.cob");
  ASSERT_TRUE(copybook.has_value());
  CobrixRun run;
  run.framing.format = RecordFormat::kVariable;
  run.options.decode.generate_record_id = true;
  run.options.decode.codec.null_if_all_zero_bytes = false;
  std::vector<std::string> lines;
  std::unique_ptr<ByteSource> source = ByteSource::FromMemory(rdw);
  ASSERT_TRUE(DecodeStream(
                  source.get(), *copybook, run.framing, run.options,
                  [&](std::string_view line) {
                    // The suite drops Record_Byte_Length before comparing.
                    std::string l(line);
                    const size_t at = l.find(",\"Record_Byte_Length\":");
                    l.erase(at, l.find(',', at + 1) - at);
                    lines.push_back(l);
                    return OkStatus();
                  },
                  [](const Reject& r) {
                    ADD_FAILURE() << RejectJson(r);
                    return OkStatus();
                  })
                  .has_value());
  ExpectLines(lines, "test11_expected/test11.txt");
}

TEST_F(CobrixTest, Test12MergedCopybooks) {
  for (const std::vector<std::string>& copybooks :
       {std::vector<std::string>{"test12_copybook.cob"},
        std::vector<std::string>{"test12_copybook_a.cob", "test12_copybook_b.cob"}}) {
    CobrixRun run{.copybooks = copybooks, .data = {"test12_data/data.dat"}};
    run.Ascii();
    run.options.decode.keep_root = true;
    ExpectLines(Decode(run), "test12_expected/test12.txt");
  }
}

TEST_F(CobrixTest, Test14RdwCountingItsOwnBytes) {
  CobrixRun run = Test5Run("test14_data/COMP.DETAILS.JUL02.DATA.dat");
  run.options.decode.segment_id_levels = {"C", "P"};
  run.options.decode.segment_id_prefix = "A";
  run.options.decode.segment_redefines = {{"STATIC-DETAILS", {"C", "D"}}, {"CONTACTS", {"P"}}};
  run.framing.rdw_adjustment = -4;  // is_rdw_part_of_record_length, or rdw_adjustment=-4
  ExpectLines(Decode(run), "test14_expected/test14.txt");
}

TEST_F(CobrixTest, Test16FixedLengthSegments) {
  CobrixRun run{.copybooks = {"test16_fix_len_segments.cob"},
                .data = {"test16_data/ENTITY.DB.AUG12.DATA.FIX.LEN.dat"}};
  run.options.decode.segment_field = "SEGMENT_ID";
  run.options.decode.segment_redefines = {{"COMPANY", {"C"}}, {"PERSON", {"P"}}, {"PO-BOX", {"B"}}};
  std::vector<std::string> lines = Decode(run);
  std::string pretty;
  for (size_t i = 0; i < lines.size() && i < 50; ++i) {
    pretty += (i == 0 ? "" : "\n") + JacksonPretty::Format(lines[i]);
  }
  std::string expected = Read("test16_expected/test16.txt");
  std::erase(expected, '\r');
  while (!expected.empty() && expected.back() == '\n') expected.pop_back();
  EXPECT_EQ(pretty, expected);
}

TEST_F(CobrixTest, Test19DisplayNumbersWithBlanksAndLetters) {
  CobrixRun run{.copybooks = {"test19_display_num.cob"}, .data = {"test19_display_num/data.dat"}};
  run.options.decode.generate_record_id = true;
  run.options.decode.codec.null_if_all_zero_bytes = false;
  std::vector<std::string> lines;
  for (std::string line : Decode(run)) {
    const size_t at = line.find(",\"Record_Byte_Length\":");
    line.erase(at, line.find(',', at + 1) - at);
    lines.push_back(line);
  }
  ExpectLines(lines, "test19_display_num_expected/test19.txt");
}

TEST_F(CobrixTest, Test21NestedVariableSizeOccurs) {
  CobrixRun run{.copybooks = {"test21_copybook.cob"}, .data = {"test21_data/data.dat"}};
  run.Ascii();
  run.options.decode.variable_size_occurs = true;
  run.options.decode.keep_root = true;
  std::vector<std::string> lines = Decode(run);
  EXPECT_EQ(lines.size(), 5u);
  ExpectLines(lines, "test21_expected/test21.txt");
}

TEST_F(CobrixTest, Test25OccursMappings) {
  for (bool variable : {true, false}) {
    CobrixRun run{.copybooks = {"test25_copybook.cob"},
                  .data = {variable ? "test25_data/data.dat" : "test25_data/data2.dat"}};
    run.Ascii();
    run.options.decode.keep_root = true;
    run.options.decode.variable_size_occurs = variable;
    run.options.decode.occurs_mappings = {{"DETAIL1", {{"A", 0}, {"B", 1}}},
                                          {"DETAIL2", {{"A", 1}, {"B", 2}}}};
    ExpectLines(Decode(run), "test25_expected/test25.txt");
  }
}

TEST_F(CobrixTest, Test25WithoutMappingTheCopybookIsRejected) {
  Copybook cb = Parse("test25_copybook.cob");
  Result<std::unique_ptr<RecordDecoder>> decoder = RecordDecoder::Create(cb, DecodeOptions{});
  ASSERT_FALSE(decoder.has_value());
  EXPECT_NE(decoder.error().message().find("is the DEPENDING ON field of `DETAIL1` and is not an "
                                           "integer"),
            std::string::npos)
      << decoder.error().message();
}

}  // namespace
}  // namespace ferry::legacy
