// ferry copybook layout FILE.cob [--source-format auto|fixed|free]: a copybook's layout, as
// Cobrix prints it (or every detail with --json).
// ferry copybook decode --copybook FILE.cob --data FILE [--record-format F|V|VB|text]
// [--codepage cp037] [--out FILE.jsonl] [--rejects FILE] ...: records to JSON Lines, the
// records that do not decode to a reject file (docs/legacy.md).
//
// Exit codes: 0 every record decoded; 1 some were rejected (the others are written); 2 a bad
// flag, copybook or option; 3 a file could not be read or written.
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "legacy/copybook.h"
#include "legacy/layout.h"
#include "legacy/record_decoder.h"
#include "legacy/record_encoder.h"
#include "legacy/record_writer.h"

namespace ferry {
namespace {

using legacy::Copybook;
using legacy::OrderedJson;

struct LayoutFlags {
  std::string copybook;
  std::string source_format = "auto";
};

struct DecodeFlags {
  std::vector<std::string> copybooks;
  std::string source_format = "auto";
  std::string data;
  std::string record_format = "F";
  std::string codepage = "cp037";
  std::string out;
  std::string rejects;
  std::string rdw = "big";
  int32_t rdw_adjustment = -4;
  std::string floating_point = "ibm";
  std::string comp5 = "big";
  std::string trim = "both";
  std::string invalid = "reject";
  bool keep_zero_bytes = false;
  bool keep_root = false;
  bool keep_fillers = false;
  bool variable_occurs = false;
  bool record_id = false;
  int64_t skip_header = 0;
  int64_t skip_trailer = 0;
  std::string segment_field;
  std::vector<std::string> segment_filter;
  std::vector<std::string> segment_redefines;
  int64_t max_rejects = -1;
};

Result<legacy::SourceFormat> ParseSourceFormat(const std::string& name) {
  if (name == "auto") return legacy::SourceFormat::kAuto;
  if (name == "fixed") return legacy::SourceFormat::kFixed;
  if (name == "free") return legacy::SourceFormat::kFree;
  return Err(InvalidArgument("--source-format {}: expected auto, fixed or free", name));
}

Result<Copybook> ReadCopybooks(const std::vector<std::string>& paths, const std::string& format,
                               Env* env) {
  FERRY_ASSIGN_OR_RETURN(legacy::SourceFormat source_format, ParseSourceFormat(format));
  std::vector<Copybook> copybooks;
  for (const std::string& path : paths) {
    Result<std::string> text = env->ReadFile(path);
    if (!text.has_value()) return Err(text.error().WithContext("copybook"));
    FERRY_ASSIGN_OR_RETURN(Copybook cb,
                           legacy::ParseCopybook(*text, path, {.format = source_format}));
    copybooks.push_back(std::move(cb));
  }
  return legacy::MergeCopybooks(std::move(copybooks));
}

Result<int> RunLayout(CommandContext& context, const LayoutFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(Copybook cb,
                         ReadCopybooks({flags.copybook}, flags.source_format, context.env));
  if (context.json) {
    context.out << legacy::LayoutJson(cb).dump(2) << "\n";
  } else {
    context.out << legacy::FormatCobrixLayout(cb) << "\n";
  }
  return kExitOk;
}

template <typename T>
Result<T> Choose(std::string_view flag, const std::string& value,
                 std::initializer_list<std::pair<std::string_view, T>> choices) {
  std::string names;
  for (const auto& [name, choice] : choices) {
    if (value == name) return choice;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  return Err(InvalidArgument("{} {}: expected one of {}", flag, value, names));
}

Result<legacy::StreamOptions> StreamOptionsOf(const DecodeFlags& flags) {
  legacy::StreamOptions options;
  legacy::DecodeOptions& d = options.decode;
  FERRY_RETURN_IF_ERROR(legacy::UseCodePage(flags.codepage, &d.codec));
  FERRY_ASSIGN_OR_RETURN(
      d.codec.floating_point,
      Choose<legacy::FloatFormat>("--floating-point", flags.floating_point,
                                  {{"ibm", legacy::FloatFormat::kIbm},
                                   {"ibm-le", legacy::FloatFormat::kIbmLittleEndian},
                                   {"ieee", legacy::FloatFormat::kIeee},
                                   {"ieee-le", legacy::FloatFormat::kIeeeLittleEndian}}));
  FERRY_ASSIGN_OR_RETURN(d.codec.comp5_little_endian,
                         Choose<bool>("--comp5", flags.comp5, {{"big", false}, {"little", true}}));
  FERRY_ASSIGN_OR_RETURN(d.codec.trimming,
                         Choose<legacy::Trimming>("--trim", flags.trim,
                                                  {{"both", legacy::Trimming::kBoth},
                                                   {"left", legacy::Trimming::kLeft},
                                                   {"right", legacy::Trimming::kRight},
                                                   {"none", legacy::Trimming::kNone}}));
  FERRY_ASSIGN_OR_RETURN(d.codec.invalid,
                         Choose<legacy::InvalidValues>("--invalid", flags.invalid,
                                                       {{"reject", legacy::InvalidValues::kReject},
                                                        {"null", legacy::InvalidValues::kNull}}));
  d.codec.null_if_all_zero_bytes = !flags.keep_zero_bytes;
  d.keep_root = flags.keep_root;
  if (flags.keep_fillers) d.fillers.drop_value_fillers = false;
  d.variable_size_occurs = flags.variable_occurs;
  d.generate_record_id = flags.record_id;
  d.segment_field = flags.segment_field;
  d.segment_filter = flags.segment_filter;
  for (const std::string& rule : flags.segment_redefines) {
    const size_t eq = rule.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == rule.size()) {
      return Err(InvalidArgument("--segment-redefine {}: expected GROUP=ID[,ID...]", rule));
    }
    std::vector<std::string> ids;
    for (size_t start = eq + 1; start <= rule.size();) {
      size_t comma = rule.find(',', start);
      if (comma == std::string::npos) comma = rule.size();
      if (comma > start) ids.push_back(rule.substr(start, comma - start));
      start = comma + 1;
    }
    d.segment_redefines.emplace_back(rule.substr(0, eq), std::move(ids));
  }
  return options;
}

// Output in large appends: the file is written as the records come.
class BufferedFile {
 public:
  BufferedFile(Env* env, std::string path) : env_(env), path_(std::move(path)) {}
  // Empties a regular file (a device or a pipe such as /dev/stdout is only appended to).
  Status Open() {
    struct stat st{};
    if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return OkStatus();
    return env_->WriteFileAtomic(path_, "");
  }
  Status Add(std::string_view line) {
    buffer_.append(line);
    buffer_.push_back('\n');
    return buffer_.size() >= kFlushBytes ? Flush() : OkStatus();
  }
  // Bytes as they are (no line end).
  Status AddRaw(std::string_view bytes) {
    buffer_.append(bytes);
    return buffer_.size() >= kFlushBytes ? Flush() : OkStatus();
  }
  Status Flush() {
    if (buffer_.empty()) return OkStatus();
    Status status = env_->AppendFile(path_, buffer_);
    buffer_.clear();
    return status;
  }

 private:
  static constexpr size_t kFlushBytes = 4 << 20;
  Env* env_;
  std::string path_;
  std::string buffer_;
};

Result<int> RunDecode(CommandContext& context, const DecodeFlags& flags) {
  if (context.json && flags.out.empty()) {
    return Err(
        InvalidArgument("--json prints a summary on stdout: give --out FILE for the records"));
  }
  FERRY_ASSIGN_OR_RETURN(Copybook cb,
                         ReadCopybooks(flags.copybooks, flags.source_format, context.env));
  FERRY_ASSIGN_OR_RETURN(legacy::StreamOptions options, StreamOptionsOf(flags));
  legacy::FramingOptions framing;
  FERRY_ASSIGN_OR_RETURN(framing.format, legacy::ParseRecordFormat(flags.record_format));
  FERRY_ASSIGN_OR_RETURN(framing.rdw_big_endian,
                         Choose<bool>("--rdw", flags.rdw, {{"big", true}, {"little", false}}));
  framing.rdw_adjustment = flags.rdw_adjustment;
  framing.file_start_offset = flags.skip_header;
  framing.file_end_offset = flags.skip_trailer;
  // The options name fields of the copybook: check them before any output is created.
  FERRY_RETURN_IF_ERROR(StatusOf(legacy::RecordDecoder::Create(cb, options.decode)));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<legacy::ByteSource> source,
                         legacy::ByteSource::OpenFile(flags.data));

  std::unique_ptr<BufferedFile> out, rejects;
  if (!flags.out.empty()) {
    out = std::make_unique<BufferedFile>(context.env, flags.out);
    FERRY_RETURN_IF_ERROR(out->Open());
  }
  if (!flags.rejects.empty()) {
    rejects = std::make_unique<BufferedFile>(context.env, flags.rejects);
    FERRY_RETURN_IF_ERROR(rejects->Open());
  }
  // Without a reject file, the first rejects are told on stderr.
  constexpr int64_t kRejectsShown = 10;
  int64_t rejected = 0;
  const auto start = std::chrono::steady_clock::now();
  Result<legacy::StreamStats> stats = legacy::DecodeStream(
      source.get(), cb, framing, options,
      [&](std::string_view line) -> Status {
        if (out != nullptr) return out->Add(line);
        context.out << line << '\n';
        return OkStatus();
      },
      [&](const legacy::Reject& reject) -> Status {
        ++rejected;
        if (rejects != nullptr) {
          FERRY_RETURN_IF_ERROR(rejects->Add(legacy::RejectJson(reject)));
        } else if (rejected <= kRejectsShown) {
          context.err << fmt::format(
              "ferry: {}: record {} at offset {}{}: {}\n", flags.data, reject.record, reject.offset,
              reject.field.empty() ? "" : ", " + reject.field, reject.reason);
        }
        if (flags.max_rejects >= 0 && rejected > flags.max_rejects) {
          return Aborted(
              "more than {} records rejected (--max-rejects); the last: record {} at "
              "offset {}: {}",
              flags.max_rejects, reject.record, reject.offset, reject.reason);
        }
        return OkStatus();
      });
  if (out != nullptr) FERRY_RETURN_IF_ERROR(out->Flush());
  if (rejects != nullptr) FERRY_RETURN_IF_ERROR(rejects->Flush());
  if (!stats.has_value()) {
    if (stats.error().code() == StatusCode::kAborted) {
      context.err << "ferry: " << stats.error().message() << "\n";
      return kExitCheckFailed;
    }
    return Err(stats.error());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (rejects == nullptr && rejected > kRejectsShown) {
    context.err << fmt::format(
        "ferry: ... and {} more rejected records; --rejects FILE keeps "
        "them all\n",
        rejected - kRejectsShown);
  }
  if (context.json) {
    OrderedJson summary = {{"ok", stats->rejected == 0},
                           {"records", stats->records},
                           {"rejected", stats->rejected},
                           {"filtered", stats->filtered},
                           {"bytes", stats->bytes},
                           {"seconds", seconds},
                           {"out", flags.out}};
    if (!flags.rejects.empty()) summary["rejects"] = flags.rejects;
    context.out << summary.dump(2) << "\n";
  } else {
    std::ostream& report = out != nullptr ? context.out : context.err;
    report << fmt::format(
        "{} record(s) decoded from {} ({} bytes) in {:.2f} s{}{}{}\n", stats->records, flags.data,
        stats->bytes, seconds, out != nullptr ? " to " + flags.out : "",
        stats->filtered > 0 ? fmt::format("; {} filtered out", stats->filtered) : "",
        stats->rejected > 0 ? fmt::format("; {} rejected{}", stats->rejected,
                                          rejects != nullptr ? " to " + flags.rejects : "")
                            : "");
  }
  return stats->rejected > 0 ? kExitCheckFailed : kExitOk;
}

// The flags that say how records are laid out and framed, shared by decode and encode.
void AddCommonOptions(CLI::App& app, DecodeFlags* flags) {
  app.add_option("--copybook", flags->copybooks,
                 "The copybook; repeat it for the records of several copybooks")
      ->required();
  app.add_option("--source-format", flags->source_format,
                 "Copybook format: auto (default), fixed or free");
  app.add_option("--record-format", flags->record_format,
                 "F (fixed length, default), V (RDW before each record), VB (blocks "
                 "with a BDW), text (lines)");
  app.add_option("--codepage", flags->codepage,
                 "cp037 (default), cp273, cp500, cp875, cp1047, cp1140-cp1148, "
                 "ibm-NNN (IBM's table exactly), common, ascii, latin1");
  app.add_option("--rdw", flags->rdw, "RDW and BDW byte order: big (default), little");
  app.add_option("--rdw-adjustment", flags->rdw_adjustment,
                 "Added to each RDW's length: -4 (default) when it counts its own "
                 "4 bytes, as on z/OS; 0 when it holds the payload's length");
  app.add_option("--floating-point", flags->floating_point,
                 "COMP-1/COMP-2: ibm (default), ibm-le, ieee, ieee-le");
  app.add_option("--comp5", flags->comp5,
                 "COMP-5 byte order: big (default, z/OS), little (x86 programs)");
  app.add_flag("--keep-root", flags->keep_root, "Keep the 01 record as the top-level key");
  app.add_flag("--keep-fillers", flags->keep_fillers,
               "Keep elementary FILLERs (as FILLER_P1, FILLER_P2, ...)");
  app.add_flag("--variable-occurs", flags->variable_occurs,
               "OCCURS DEPENDING ON arrays take only the space of their elements");
}

struct EncodeFlags {
  DecodeFlags common;
  std::string in = "/dev/stdin";
  std::string out;
  int64_t block_size = 32760;
  std::string rejects;
  int64_t max_rejects = -1;
};

Result<int> RunEncode(CommandContext& context, const EncodeFlags& flags) {
  const DecodeFlags& common = flags.common;
  FERRY_ASSIGN_OR_RETURN(Copybook cb,
                         ReadCopybooks(common.copybooks, common.source_format, context.env));
  FERRY_ASSIGN_OR_RETURN(legacy::StreamOptions options, StreamOptionsOf(common));
  legacy::FramingOptions framing;
  FERRY_ASSIGN_OR_RETURN(framing.format, legacy::ParseRecordFormat(common.record_format));
  FERRY_ASSIGN_OR_RETURN(framing.rdw_big_endian,
                         Choose<bool>("--rdw", common.rdw, {{"big", true}, {"little", false}}));
  framing.rdw_adjustment = common.rdw_adjustment;
  framing.ebcdic_text = options.decode.codec.encoding == legacy::Encoding::kEbcdic;
  if (flags.block_size < 16 || flags.block_size > 32760) {
    return Err(InvalidArgument("--block-size {}: expected 16 to 32760 bytes", flags.block_size));
  }
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<legacy::RecordEncoder> encoder,
                         legacy::RecordEncoder::Create(cb, options.decode));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<legacy::ByteSource> in,
                         legacy::ByteSource::OpenFile(flags.in));
  BufferedFile out(context.env, flags.out);
  FERRY_RETURN_IF_ERROR(out.Open());
  std::unique_ptr<BufferedFile> rejects;
  if (!flags.rejects.empty()) {
    rejects = std::make_unique<BufferedFile>(context.env, flags.rejects);
    FERRY_RETURN_IF_ERROR(rejects->Open());
  }
  legacy::RecordWriter writer(framing, flags.block_size);
  constexpr int64_t kRejectsShown = 10;
  int64_t line_number = 0, records = 0, rejected = 0;
  std::string framed;
  const auto start = std::chrono::steady_clock::now();
  // One line of the input: encoded and framed, or rejected with its line number.
  auto encode_line = [&](std::string_view line) -> Status {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return OkStatus();
    Status status = [&]() -> Status {
      FERRY_ASSIGN_OR_RETURN(legacy::OrderedJson record,
                             legacy::ParseRecordJson(line, fmt::format("line {}", line_number)));
      FERRY_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, encoder->Encode(record));
      return writer.Add(bytes, &framed);
    }();
    if (status.ok()) {
      ++records;
      if (framed.size() >= (4 << 20)) {
        FERRY_RETURN_IF_ERROR(out.AddRaw(framed));
        framed.clear();
      }
      return OkStatus();
    }
    ++rejected;
    if (rejects != nullptr) {
      FERRY_RETURN_IF_ERROR(
          rejects->Add(OrderedJson{{"line", line_number}, {"reason", status.message()}}.dump()));
    } else if (rejected <= kRejectsShown) {
      context.err << fmt::format("ferry: {}: line {}: {}\n", flags.in, line_number,
                                 status.message());
    }
    if (flags.max_rejects >= 0 && rejected > flags.max_rejects) {
      return Aborted("more than {} lines rejected (--max-rejects); the last: line {}: {}",
                     flags.max_rejects, line_number, status.message());
    }
    return OkStatus();
  };
  std::vector<uint8_t> chunk(1 << 20);
  std::string pending;
  Status status = OkStatus();
  while (status.ok()) {
    FERRY_ASSIGN_OR_RETURN(size_t n, in->Read(chunk.data(), chunk.size()));
    if (n == 0) break;
    pending.append(reinterpret_cast<const char*>(chunk.data()), n);
    size_t begin = 0;
    for (size_t nl; status.ok() && (nl = pending.find('\n', begin)) != std::string::npos;
         begin = nl + 1) {
      status = encode_line(std::string_view(pending).substr(begin, nl - begin));
    }
    pending.erase(0, begin);
  }
  if (status.ok() && !pending.empty()) status = encode_line(pending);
  writer.Finish(&framed);
  FERRY_RETURN_IF_ERROR(out.AddRaw(framed));
  FERRY_RETURN_IF_ERROR(out.Flush());
  if (rejects != nullptr) FERRY_RETURN_IF_ERROR(rejects->Flush());
  if (!status.ok()) {
    if (status.code() == StatusCode::kAborted) {
      context.err << "ferry: " << status.message() << "\n";
      return kExitCheckFailed;
    }
    return Err(status);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (rejects == nullptr && rejected > kRejectsShown) {
    context.err << fmt::format(
        "ferry: ... and {} more rejected lines; --rejects FILE keeps them all\n",
        rejected - kRejectsShown);
  }
  if (context.json) {
    OrderedJson summary = {{"ok", rejected == 0},  {"records", records}, {"rejected", rejected},
                           {"lines", line_number}, {"seconds", seconds}, {"out", flags.out}};
    if (!flags.rejects.empty()) summary["rejects"] = flags.rejects;
    context.out << summary.dump(2) << "\n";
  } else {
    context.out << fmt::format("{} record(s) encoded to {} ({} format) in {:.2f} s{}\n", records,
                               flags.out, common.record_format, seconds,
                               rejected > 0
                                   ? fmt::format("; {} line(s) rejected{}", rejected,
                                                 rejects != nullptr ? " to " + flags.rejects : "")
                                   : "");
  }
  return rejected > 0 ? kExitCheckFailed : kExitOk;
}

}  // namespace

std::vector<CommandSpec> CopybookCommands() {
  auto layout = std::make_shared<LayoutFlags>();
  auto decode = std::make_shared<DecodeFlags>();
  auto encode = std::make_shared<EncodeFlags>();
  const std::string group = "COBOL copybooks and EBCDIC records: layouts, and records to JSON";
  return {
      {.path = {"copybook", "layout"},
       .group_help = group,
       .help = "Print a copybook's layout (offsets, lengths, types) as Cobrix prints it; --json "
               "for every detail",
       .add_options =
           [layout](CLI::App& app) {
             app.add_option("copybook", layout->copybook, "The copybook (COBOL data description)")
                 ->required();
             app.add_option("--source-format", layout->source_format,
                            "auto (default), fixed (columns 8-72) or free");
           },
       .run = [layout](CommandContext& context) { return RunLayout(context, *layout); }},
      {.path = {"copybook", "decode"},
       .group_help = group,
       .help = "Decode a data file's records to JSON Lines with a copybook; records that do not "
               "decode go to --rejects",
       .add_options =
           [decode](CLI::App& app) {
             AddCommonOptions(app, decode.get());
             app.add_option("--data", decode->data, "The data file")->required();
             app.add_option("--out", decode->out, "JSON Lines output (default stdout)");
             app.add_option("--rejects", decode->rejects,
                            "JSON Lines of the records that do not decode: offset, field, reason");
             app.add_option("--max-rejects", decode->max_rejects,
                            "Stop after this many rejected records (default: never)");
             app.add_option("--trim", decode->trim,
                            "Text trimming: both (default), left, right, "
                            "none");
             app.add_option("--invalid", decode->invalid,
                            "A value that does not decode: reject (default) its record, or null "
                            "(Cobrix's behaviour)");
             app.add_flag("--keep-zero-bytes", decode->keep_zero_bytes,
                          "A field of 0x00 bytes is a value, not null");
             app.add_flag("--record-id", decode->record_id,
                          "Add File_Id, Record_Id and Record_Byte_Length to each record");
             app.add_option("--skip-header", decode->skip_header, "Bytes to skip at the start");
             app.add_option("--skip-trailer", decode->skip_trailer, "Bytes to leave at the end");
             app.add_option("--segment-field", decode->segment_field,
                            "The field holding each record's segment id");
             app.add_option("--segment-filter", decode->segment_filter,
                            "Keep only records of this segment id (repeatable)");
             app.add_option("--segment-redefine", decode->segment_redefines,
                            "GROUP=ID[,ID...]: the REDEFINES alternative for these segment ids "
                            "(repeatable)");
           },
       .run = [decode](CommandContext& context) { return RunDecode(context, *decode); }},
      {.path = {"copybook", "encode"},
       .group_help = group,
       .help = "Encode JSON Lines (as decode writes them) back into a data file of the copybook's "
               "records; lines that do not encode go to --rejects",
       .add_options =
           [encode](CLI::App& app) {
             AddCommonOptions(app, &encode->common);
             app.add_option("--in", encode->in, "JSON Lines input (default stdin)");
             app.add_option("--out", encode->out, "The data file to write")->required();
             app.add_option("--block-size", encode->block_size,
                            "VB: the largest block, its descriptor word included (default 32760)");
             app.add_option("--rejects", encode->rejects,
                            "JSON Lines of the input lines that do not encode: line, reason");
             app.add_option("--max-rejects", encode->max_rejects,
                            "Stop after this many rejected lines (default: never)");
           },
       .run = [encode](CommandContext& context) { return RunEncode(context, *encode); }},
  };
}

}  // namespace ferry
