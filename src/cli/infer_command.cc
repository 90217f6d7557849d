// ferry infer --in FILE [--format auto|hex|pcap] [--out spec.json] [--boundaries FILE]
// [--max-types N]: infers the message format of an undocumented protocol from samples (one
// message a line in hex, or a packet capture) and prints a summary, or the draft spec as JSON
// with --json (docs/inference.md).
//
// Exit codes: 0 every line or packet was read; 1 some were rejected (inferred from the others);
// 2 bad flags or input with no message; a file that cannot be written: its error's code.
#include <chrono>
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "legacy/format_inference.h"
#include "legacy/message_samples.h"

namespace ferry {
namespace {

struct InferFlags {
  std::string in;
  std::string format = "auto";
  std::string out;
  std::string boundaries;
  size_t max_types = 16;
};

Result<legacy::MessageSamples> ReadSamples(CommandContext& context, const InferFlags& flags) {
  std::string format = flags.format;
  std::string text;
  if (format != "pcap") {
    Result<std::string> read = context.env->ReadFile(flags.in);
    if (!read.has_value()) {
      return Err(InvalidArgument("--in {}: {}", flags.in, read.error().message()));
    }
    text = std::move(*read);
    if (format == "auto") format = legacy::LooksLikePcap(text) ? "pcap" : "hex";
  }
  if (format == "pcap") return legacy::ReadPcapMessages(flags.in);
  if (format == "hex") return legacy::ParseHexMessages(text, flags.in);
  return Err(InvalidArgument("--format {}: expected auto, hex or pcap", flags.format));
}

Result<int> RunInfer(CommandContext& context, const InferFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(legacy::MessageSamples samples, ReadSamples(context, flags));
  constexpr size_t kShown = 10;
  for (size_t i = 0; i < samples.rejected.size() && i < kShown; ++i) {
    context.err << "ferry: rejected: " << samples.rejected[i] << "\n";
  }
  if (samples.rejected.size() > kShown) {
    context.err << fmt::format("ferry: ... and {} more rejected\n",
                               samples.rejected.size() - kShown);
  }
  legacy::InferOptions options;
  if (flags.max_types < 2) {
    return Err(InvalidArgument("--max-types {}: at least 2", flags.max_types));
  }
  options.max_types = flags.max_types;
  const auto start = std::chrono::steady_clock::now();
  FERRY_ASSIGN_OR_RETURN(legacy::InferredFormat format,
                         legacy::InferFormat(samples.messages, options));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::ordered_json spec = legacy::InferredFormatJson(format, flags.in);
  if (!flags.out.empty()) {
    FERRY_RETURN_IF_ERROR(context.env->WriteFileAtomic(flags.out, spec.dump(2) + "\n"));
  }
  if (!flags.boundaries.empty()) {
    std::string lines;
    for (const std::vector<uint32_t>& b : format.boundaries) {
      lines += fmt::format("{}\n", fmt::join(b, " "));
    }
    FERRY_RETURN_IF_ERROR(context.env->WriteFileAtomic(flags.boundaries, lines));
  }
  if (context.json) {
    spec["rejected"] = samples.rejected.size();
    spec["seconds"] = seconds;
    context.out << spec.dump(2) << "\n";
  } else {
    context.out << legacy::FormatInferenceSummary(format);
    context.out << fmt::format(
        "\n{} message(s) read from {}{}; inferred in {:.1f} ms{}\n", samples.messages.size(),
        flags.in,
        samples.rejected.empty() ? "" : fmt::format(", {} rejected", samples.rejected.size()),
        seconds * 1000, flags.out.empty() ? "" : "; spec written to " + flags.out);
  }
  return samples.rejected.empty() ? kExitOk : kExitCheckFailed;
}

}  // namespace

std::vector<CommandSpec> InferCommands() {
  auto flags = std::make_shared<InferFlags>();
  return {
      {.path = {"infer"},
       .help = "Infer an undocumented protocol's message format from samples (hex lines or a "
               "capture): message types, fields, their kinds; a draft spec as JSON",
       .add_options =
           [flags](CLI::App& app) {
             app.add_option("--in", flags->in,
                            "The samples: one message a line in hex, or a pcap/pcapng capture "
                            "(UDP and TCP payloads)")
                 ->required();
             app.add_option("--format", flags->format,
                            "auto (default: a capture by its magic number, else hex), hex, pcap");
             app.add_option("--out", flags->out, "Write the draft spec (JSON) to this file");
             app.add_option("--boundaries", flags->boundaries,
                            "Write each message's field boundaries (byte offsets), a line each");
             app.add_option("--max-types", flags->max_types,
                            "Most values a type byte may take (default 16)");
           },
       .run = [flags](CommandContext& context) { return RunInfer(context, *flags); }},
  };
}

}  // namespace ferry
