// ferry iso8583 decode --in FILE [--spec 1987|FILE.json] [--format hex|binary] [--framing ...]
// [--no-mask] [--validate] [--out FILE.jsonl]: ISO 8583 messages to JSON Lines.
// ferry iso8583 encode --in FILE.jsonl --out FILE [--spec ...] [--format hex|binary]
// [--framing ...]: JSON Lines (as decode writes them with --no-mask) back to messages.
// docs/iso8583.md describes the spec format, the JSON and the errors.
//
// A message that does not decode (or a line that does not encode) is reported on stderr with
// its number and place, and the rest of the batch is processed. Exit codes: 0 every message
// converted; 1 some were rejected (the others are written); 2 a bad flag, spec or missing input
// file; 3 an I/O failure.
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "legacy/iso8583.h"

namespace ferry {
namespace {

using legacy::iso8583::OrderedJson;
namespace iso = legacy::iso8583;

struct Iso8583Flags {
  std::string in;
  std::string out;
  std::string spec = "1987";
  std::string format = "hex";
  std::string framing = "2";
  bool no_mask = false;
  bool validate = false;
};

// How messages sit in a binary file: each behind a length header, or the file is one message.
struct Framing {
  int header = 2;      // bytes of the header, 0: none
  bool ascii = false;  // the header is ASCII decimal digits (else big-endian binary)
};

Result<Framing> ParseFraming(const std::string& name) {
  if (name == "2") return Framing{2, false};
  if (name == "4") return Framing{4, false};
  if (name == "ascii4") return Framing{4, true};
  if (name == "none") return Framing{0, false};
  return Err(InvalidArgument(
      "--framing {}: expected 2 (a 2-byte big-endian length before each message, the default), "
      "4 (4 bytes), ascii4 (4 ASCII digits) or none (the file is one message)",
      name));
}

Status CheckFormat(const std::string& format) {
  if (format == "hex" || format == "binary") return OkStatus();
  return InvalidArgument("--format {}: expected hex (one message a line, as hex digits) or binary",
                         format);
}

Result<std::shared_ptr<const iso::Spec>> LoadSpec(const std::string& name) {
  Result<std::shared_ptr<const iso::Spec>> spec = iso::Spec::Load(name);
  if (!spec.has_value()) return Err(InvalidArgument("--spec: {}", spec.error().message()));
  return spec;
}

// Messages of a file, one at a time, with where each starts.
class MessageSource {
 public:
  MessageSource(std::string_view data, bool hex, Framing framing)
      : data_(data), hex_(hex), framing_(framing) {}

  // Sets *message and *place ("line 3", "message 3 at byte 120"); false at the end. A framing
  // fault ends the file: the error is in *error.
  bool Next(std::string* message, std::string* place, Status* error) {
    if (hex_) {
      while (pos_ < data_.size()) {
        size_t end = data_.find('\n', pos_);
        if (end == std::string_view::npos) end = data_.size();
        std::string_view line = data_.substr(pos_, end - pos_);
        pos_ = end + 1;
        ++number_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
        *place = fmt::format("line {}", number_);
        Result<std::string> bytes = iso::FromHex(line);
        if (!bytes.has_value()) {
          *error = InvalidArgument("{}", bytes.error().message());
          message->clear();
          return true;
        }
        *message = std::move(*bytes);
        *error = OkStatus();
        return true;
      }
      return false;
    }
    if (pos_ >= data_.size()) return false;
    ++number_;
    *place = fmt::format("message {} at byte {}", number_, pos_);
    *error = OkStatus();
    if (framing_.header == 0) {
      *message = std::string(data_.substr(pos_));
      pos_ = data_.size();
      return true;
    }
    if (data_.size() - pos_ < static_cast<size_t>(framing_.header)) {
      *error = InvalidArgument("the file ends inside a {}-byte length header ({} bytes left)",
                               framing_.header, data_.size() - pos_);
      pos_ = data_.size();
      return true;
    }
    size_t length = 0;
    for (int i = 0; i < framing_.header; ++i) {
      const auto b = static_cast<uint8_t>(data_[pos_ + i]);
      if (framing_.ascii) {
        if (b < '0' || b > '9') {
          *error = InvalidArgument("the length header {} is not 4 ASCII digits; check --framing",
                                   iso::ToHex(data_.substr(pos_, 4)));
          pos_ = data_.size();
          return true;
        }
        length = length * 10 + (b - '0');
      } else {
        length = length << 8 | b;
      }
    }
    pos_ += framing_.header;
    if (data_.size() - pos_ < length) {
      *error = InvalidArgument(
          "the length header says {} bytes but {} remain in the file; check --framing", length,
          data_.size() - pos_);
      pos_ = data_.size();
      return true;
    }
    *message = std::string(data_.substr(pos_, length));
    pos_ += length;
    return true;
  }

 private:
  std::string_view data_;
  bool hex_;
  Framing framing_;
  size_t pos_ = 0;
  int64_t number_ = 0;
};

Status WriteOutput(CommandContext& context, const std::string& path, const std::string& data) {
  if (path.empty()) {
    context.out << data;
    return OkStatus();
  }
  return context.env->WriteFileAtomic(path, data);
}

Result<int> RunDecode(CommandContext& context, const Iso8583Flags& flags) {
  FERRY_RETURN_IF_ERROR(CheckFormat(flags.format));
  FERRY_ASSIGN_OR_RETURN(const Framing framing, ParseFraming(flags.framing));
  FERRY_ASSIGN_OR_RETURN(auto spec, LoadSpec(flags.spec));
  Result<std::string> data = context.env->ReadFile(flags.in);
  if (!data.has_value()) return Err(data.error().WithContext("--in"));

  MessageSource source(*data, flags.format == "hex", framing);
  iso::Message message;
  std::string bytes, place, output;
  Status error;
  int64_t decoded = 0, rejected = 0;
  const iso::JsonOptions options{.mask_pan = !flags.no_mask};
  while (source.Next(&bytes, &place, &error)) {
    if (error.ok()) error = iso::Unpack(*spec, bytes, &message);
    if (error.ok() && flags.validate) error = iso::Validate(*spec, message);
    if (error.ok()) error = iso::AppendMessageJson(*spec, message, options, &output);
    if (!error.ok()) {
      ++rejected;
      context.err << fmt::format("{}: {}\n", place, error.message());
      continue;
    }
    output += '\n';
    ++decoded;
  }
  FERRY_RETURN_IF_ERROR(WriteOutput(context, flags.out, output));
  context.err << fmt::format("{} message(s) decoded with spec \"{}\"{}{}\n", decoded, spec->name(),
                             rejected > 0 ? fmt::format(", {} rejected", rejected) : "",
                             flags.no_mask ? "" : " (PANs masked; --no-mask to show them)");
  return rejected > 0 ? 1 : 0;
}

Result<int> RunEncode(CommandContext& context, const Iso8583Flags& flags) {
  FERRY_RETURN_IF_ERROR(CheckFormat(flags.format));
  FERRY_ASSIGN_OR_RETURN(const Framing framing, ParseFraming(flags.framing));
  FERRY_ASSIGN_OR_RETURN(auto spec, LoadSpec(flags.spec));
  Result<std::string> data = context.env->ReadFile(flags.in);
  if (!data.has_value()) return Err(data.error().WithContext("--in"));

  const std::string_view text = *data;
  iso::Message message;
  std::string bytes, output;
  int64_t encoded = 0, rejected = 0, line_number = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Status status;
    OrderedJson document = OrderedJson::parse(line, nullptr, false);
    if (document.is_discarded()) {
      status = InvalidArgument("not a JSON document");
    } else {
      status = iso::MessageFromJson(*spec, document, &message);
    }
    bytes.clear();
    if (status.ok()) status = iso::Pack(*spec, message, &bytes);
    if (status.ok() && framing.header > 0 && flags.format == "binary") {
      const size_t limit = framing.ascii ? 9999 : framing.header == 2 ? 0xFFFF : 0xFFFFFFFF;
      if (bytes.size() > limit) {
        status = InvalidArgument("the message has {} bytes, more than a {} header can frame",
                                 bytes.size(), flags.framing);
      }
    }
    if (!status.ok()) {
      ++rejected;
      context.err << fmt::format("line {}: {}\n", line_number, status.message());
      continue;
    }
    if (flags.format == "hex") {
      output += iso::ToHex(bytes);
      output += '\n';
    } else {
      if (framing.ascii) {
        output += fmt::format("{:04}", bytes.size());
      } else {
        for (int i = framing.header - 1; i >= 0; --i) {
          output.push_back(static_cast<char>(bytes.size() >> (8 * i)));
        }
      }
      output += bytes;
    }
    ++encoded;
  }
  FERRY_RETURN_IF_ERROR(WriteOutput(context, flags.out, output));
  context.err << fmt::format("{} message(s) encoded with spec \"{}\"{}\n", encoded, spec->name(),
                             rejected > 0 ? fmt::format(", {} rejected", rejected) : "");
  return rejected > 0 ? 1 : 0;
}

void AddCommonOptions(CLI::App& app, Iso8583Flags* flags) {
  app.add_option("--spec", flags->spec,
                 "A built-in spec (1987 (default), 1987-binary, legacy-1987, ...) or a spec file "
                 "(docs/iso8583.md)");
  app.add_option("--format", flags->format,
                 "hex (default: one message a line, as hex digits) or binary");
  app.add_option("--framing", flags->framing,
                 "binary files: 2 (default: a 2-byte big-endian length before each message), 4, "
                 "ascii4 (4 ASCII digits) or none (the file is one message)");
}

}  // namespace

std::vector<CommandSpec> Iso8583Commands() {
  auto decode = std::make_shared<Iso8583Flags>();
  auto encode = std::make_shared<Iso8583Flags>();
  const std::string group = "ISO 8583 card messages to JSON Lines and back";
  return {
      {.path = {"iso8583", "decode"},
       .group_help = group,
       .help = "Decode ISO 8583 messages to JSON Lines (PANs masked unless --no-mask); messages "
               "that do not decode are reported on stderr",
       .add_options =
           [decode](CLI::App& app) {
             AddCommonOptions(app, decode.get());
             app.add_option("--in", decode->in, "The messages")->required();
             app.add_option("--out", decode->out, "JSON Lines output (default stdout)");
             app.add_flag("--no-mask", decode->no_mask,
                          "Show PANs and track data in full (needed to encode the output back)");
             app.add_flag("--validate", decode->validate,
                          "Also reject messages with bad dates, x+n signs or track characters");
           },
       .run = [decode](CommandContext& context) { return RunDecode(context, *decode); }},
      {.path = {"iso8583", "encode"},
       .group_help = group,
       .help = "Encode JSON Lines (as decode --no-mask writes them) into ISO 8583 messages; lines "
               "that do not encode are reported on stderr",
       .add_options =
           [encode](CLI::App& app) {
             AddCommonOptions(app, encode.get());
             app.add_option("--in", encode->in, "JSON Lines input")->required();
             app.add_option("--out", encode->out, "The messages to write")->required();
           },
       .run = [encode](CommandContext& context) { return RunEncode(context, *encode); }},
  };
}

}  // namespace ferry
