// ferry swift translate --in FILE|DIR --to pacs.008|mt103|mt [--out FILE|DIR]: SWIFT MT
// messages to ISO 20022 (MT103 -> pacs.008, returns -> pacs.004, MT202/205 (COV) -> pacs.009),
// pacs.008 back to MT103, or any of those documents back to its MT (docs/swift.md). Over a
// directory each file is translated on its own: a bad one is reported with its name and reason and
// the others are still written.
//
// Exit codes: 0 every file translated; 1 some did not (the others are written); 2 a bad flag;
// 3 a file could not be read or written.
#include <filesystem>
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "legacy/swift_mt.h"
#include "legacy/swift_mx.h"

namespace ferry {
namespace {

struct TranslateFlags {
  std::string in;
  std::string to;
  std::string out;
  std::vector<std::string> codes72;
  std::string header = "output";
  bool compact = false;
};

enum class Target { kMx, kMt103, kMt };

struct Translator {
  Target target;
  legacy::MtToMxOptions to_mx;
  legacy::MxToMtOptions to_mt;

  // The translated text, or why the input does not translate.
  Result<std::string> Run(std::string_view input) const {
    if (target == Target::kMt103) return legacy::TranslatePacs008ToMt103(input, to_mt);
    if (target == Target::kMt) return legacy::TranslateMxToMt(input, to_mt);
    FERRY_ASSIGN_OR_RETURN(legacy::MxDocument mx, legacy::TranslateMtTextToMx(input, to_mx));
    return std::move(mx.xml);
  }
  std::string_view Extension() const { return target == Target::kMx ? ".xml" : ".mt"; }
};

Result<Translator> TranslatorOf(const TranslateFlags& flags, Env* env) {
  Translator t;
  if (flags.to == "pacs.008" || flags.to == "mx") {
    t.target = Target::kMx;
  } else if (flags.to == "mt103") {
    t.target = Target::kMt103;
  } else if (flags.to == "mt") {
    t.target = Target::kMt;
  } else {
    return Err(
        InvalidArgument("--to {}: expected pacs.008 (MT to ISO 20022: MT103 -> pacs.008, "
                        "returns -> pacs.004, MT202/205 -> pacs.009), mt103 (pacs.008 to "
                        "MT103) or mt (pacs.008, pacs.009 or pacs.004 back to its MT)",
                        flags.to));
  }
  if (flags.header != "output" && flags.header != "input") {
    return Err(InvalidArgument("--header {}: expected output or input", flags.header));
  }
  t.to_mx.extra_sender_to_receiver_codes = flags.codes72;
  t.to_mx.creation_time = env->NowMicros() / 1000000;
  t.to_mx.indent = !flags.compact;
  t.to_mt.output_header = flags.header == "output";
  return t;
}

struct Failure {
  std::string file;
  std::string reason;
};

Result<int> RunTranslate(CommandContext& context, const TranslateFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(Translator translator, TranslatorOf(flags, context.env));
  std::error_code ec;
  const bool batch = std::filesystem::is_directory(flags.in, ec);
  if (!batch && !context.env->FileExists(flags.in)) {
    return Err(NotFound("--in {}: no such file or directory", flags.in));
  }
  std::vector<std::string> names;
  if (batch) {
    if (flags.out.empty()) {
      return Err(
          InvalidArgument("--in {} is a directory: give --out DIR for the translations", flags.in));
    }
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> entries, context.env->ListDir(flags.in));
    for (std::string& name : entries) {
      const std::string path = flags.in + "/" + name;
      if (name.starts_with(".") || !std::filesystem::is_regular_file(path, ec)) continue;
      names.push_back(std::move(name));
    }
    FERRY_RETURN_IF_ERROR(context.env->CreateDirs(flags.out));
  }
  if (!batch && context.json && flags.out.empty()) {
    return Err(InvalidArgument("--json prints a summary on stdout: give --out FILE"));
  }

  size_t translated = 0;
  std::vector<Failure> failures;
  auto one = [&](const std::string& path, const std::string& out_path) -> Status {
    Result<std::string> input = context.env->ReadFile(path);
    if (!input.has_value()) {
      // In a batch an unreadable file is one failure among the others.
      if (!batch) return input.error();
      failures.push_back({path, input.error().ToString()});
      context.err << path << ": " << input.error().ToString() << "\n";
      return OkStatus();
    }
    Result<std::string> output = translator.Run(*input);
    if (!output.has_value()) {
      failures.push_back({path, output.error().ToString()});
      context.err << path << ": " << output.error().ToString() << "\n";
      return OkStatus();
    }
    if (out_path.empty()) {
      context.out << *output << "\n";
    } else if (batch) {
      // Thousands of small files: written plainly, not each synced to disk (two fsyncs a file
      // would be 99% of the time); an interrupted batch is run again.
      FERRY_RETURN_IF_ERROR(context.env->RemoveAll(out_path));
      FERRY_RETURN_IF_ERROR(context.env->AppendFile(out_path, *output));
    } else {
      FERRY_RETURN_IF_ERROR(context.env->WriteFileAtomic(out_path, *output));
    }
    ++translated;
    return OkStatus();
  };
  if (batch) {
    for (const std::string& name : names) {
      const std::string stem = std::filesystem::path(name).stem().string();
      FERRY_RETURN_IF_ERROR(one(flags.in + "/" + name,
                                fmt::format("{}/{}{}", flags.out, stem, translator.Extension())));
    }
  } else {
    FERRY_RETURN_IF_ERROR(one(flags.in, flags.out));
  }

  if (context.json) {
    nlohmann::json failed = nlohmann::json::array();
    for (const Failure& f : failures) failed.push_back({{"file", f.file}, {"error", f.reason}});
    context.out << nlohmann::json{{"translated", translated}, {"failed", failed}}.dump(2) << "\n";
  } else if (batch || !flags.out.empty()) {
    context.out << fmt::format("{} translated, {} failed\n", translated, failures.size());
  }
  return failures.empty() ? kExitOk : kExitCheckFailed;
}

}  // namespace

std::vector<CommandSpec> SwiftCommands() {
  auto translate = std::make_shared<TranslateFlags>();
  return {
      {.path = {"swift", "translate"},
       .group_help = "SWIFT MT messages and ISO 20022 (MX): translation both ways",
       .help = "Translate SWIFT MT messages to ISO 20022 (MT103 -> pacs.008, returns -> "
               "pacs.004, MT202/205 (COV) -> pacs.009) or back (--to mt103 or mt); a file, or "
               "every file of a directory",
       .add_options =
           [translate](CLI::App& app) {
             app.add_option("--in", translate->in,
                            "A message file, or a directory: each of its files is translated")
                 ->required();
             app.add_option("--to", translate->to,
                            "pacs.008: MT to ISO 20022 XML; mt103: pacs.008 XML to MT103; mt: "
                            "pacs.008, pacs.009 or pacs.004 XML back to MT103 or MT202")
                 ->required();
             app.add_option("--out", translate->out,
                            "The output file (default stdout), or the output directory for a "
                            "directory --in (each file keeps its name, with .xml or .mt)");
             app.add_option("--72-code", translate->codes72,
                            "A field 72 code beyond the standard ones, sent to InstrForNxtAgt "
                            "(repeatable)");
             app.add_option("--header", translate->header,
                            "mt103: the MT's block 2, output (default; as the receiver gets it) "
                            "or input (as the sender submits it)");
             app.add_flag("--compact", translate->compact, "XML on one line, not indented");
           },
       .run = [translate](CommandContext& context) { return RunTranslate(context, *translate); }},
  };
}

}  // namespace ferry
