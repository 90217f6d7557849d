// ferry verify --from URL --to URL [--tables a,b] [--spec FILE]: prove two databases hold the
// same rows (the source as the transform spec makes it, when one is given).
#include <memory>
#include <optional>
#include <ostream>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "cli/commands.h"
#include "connect/connector.h"
#include "move/transformed_source.h"
#include "move/verify.h"

namespace ferry {
namespace {

struct VerifyFlags {
  std::string from;
  std::string to;
  std::vector<std::string> tables;
  std::string spec;
};

void PrintTable(std::ostream& out, const TableReport& t) {
  if (!t.in_target) {
    out << fmt::format("  MISSING   {}: not in the target\n", t.table);
    return;
  }
  if (!t.in_source) {
    out << fmt::format("  EXTRA     {}: in the target only\n", t.table);
    return;
  }
  if (t.identical()) {
    out << fmt::format("  ok        {}: {} rows, checksum {}\n", t.table, t.source_rows,
                       t.source_checksum.ToHex().substr(0, 16));
  } else {
    out << fmt::format(
        "  DIFFERENT {}: {} rows in the source, {} in the target; {} missing, {} "
        "extra, {} changed{}\n",
        t.table, t.source_rows, t.target_rows, t.missing, t.extra, t.changed,
        t.incomplete ? " (stopped counting: too many to hold in memory)" : "");
    for (const RowDifference& d : t.differences) {
      out << fmt::format("            {:<8} {}{}\n", DifferenceKindName(d.kind), d.key,
                         d.detail.empty() ? "" : fmt::format("  ({})", d.detail));
    }
    const int64_t listed = static_cast<int64_t>(t.differences.size());
    if (t.missing + t.extra + t.changed > listed) {
      out << fmt::format("            ... and {} more\n", t.missing + t.extra + t.changed - listed);
    }
  }
  for (const std::string& note : t.schema_notes) out << "            note: " << note << "\n";
}

Result<int> RunVerify(CommandContext& context, const VerifyFlags& flags) {
  FERRY_ASSIGN_OR_RETURN(auto source, Connector::Open(flags.from));
  FERRY_ASSIGN_OR_RETURN(auto target, Connector::Open(flags.to));
  Connector* compared = source.get();
  std::vector<std::string> tables = flags.tables;
  std::unique_ptr<SpecSource> spec;
  if (!flags.spec.empty()) {
    // Rows the spec rejects never reach a target: they are counted, not compared.
    FERRY_ASSIGN_OR_RETURN(spec, SpecSource::Open(*source, flags.spec, "", -1, context.env));
    compared = &spec->connector();
    tables = spec->TargetNames(std::move(tables));
  }
  FERRY_ASSIGN_OR_RETURN(VerifyReport report, Verify(*compared, *target, {.tables = tables}));
  if (spec != nullptr && spec->rejects().count() > 0) {
    LogWarn("source rows the spec rejects were not compared", {{"rows", spec->rejects().count()}});
  }
  if (context.json) {
    Json doc = report.ToJson();
    doc["ok"] = report.identical();
    context.out << doc.dump(2) << "\n";
  } else {
    context.out << fmt::format("verify {} -> {}\n", report.source, report.target);
    for (const TableReport& t : report.tables) PrintTable(context.out, t);
    context.out << (report.identical() ? "identical\n" : "DIFFERENCES FOUND\n");
  }
  return report.identical() ? kExitOk : kExitCheckFailed;
}

}  // namespace

std::vector<CommandSpec> VerifyCommands() {
  auto flags = std::make_shared<VerifyFlags>();
  return {{.path = {"verify"},
           .group_help = "",
           .help = "Compare two databases row by row (exit 0 identical, 1 differences found)",
           .add_options =
               [flags](CLI::App& app) {
                 app.add_option("--from", flags->from,
                                "Source: sqlite:///path.db or postgresql://user@host:port/db")
                     ->required();
                 app.add_option("--to", flags->to, "Target, same forms")->required();
                 app.add_option("--tables", flags->tables,
                                "Tables to compare, comma-separated (default: all of the source)")
                     ->delimiter(',');
                 app.add_option("--spec", flags->spec,
                                "Transform spec the copy used: compare the source as it makes it");
               },
           .run = [flags](CommandContext& context) { return RunVerify(context, *flags); }}};
}

}  // namespace ferry
