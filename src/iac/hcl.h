// A writer of HCL (HashiCorp Configuration Language) text as `terraform fmt` lays it out: two
// spaces of indent, the `=` of consecutive attributes aligned, blank lines between blocks.
//
//   HclWriter w;
//   w.Open("resource \"aws_vpc\" \"main\"");
//   w.Attr("cidr_block", "var.network_cidr");
//   w.Attr("tags", HclObject({{"Name", HclString("ferry")}}));
//   w.Close();
//   std::string text = w.Take();
//
// Expressions are passed as HCL text; HclString quotes a value (escaping `"`, `\`, control
// characters, and the template sequences `${` and `%{`, which a plain string must not start).
//
// Thread-safety: a writer is not shared between threads.
#ifndef FERRY_IAC_HCL_H_
#define FERRY_IAC_HCL_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::iac {

// `text` as an HCL quoted string.
std::string HclString(std::string_view text);
// `[a, b, c]` of expressions.
std::string HclList(const std::vector<std::string>& expressions);
// `{ key = expr, ... }` on one line; keys that are not identifiers are quoted.
std::string HclObject(const std::vector<std::pair<std::string, std::string>>& members);
// A number as HCL writes it: integers without a decimal point, others in shortest form.
std::string HclNumber(double value);
// Whether `name` can stand unquoted as an attribute or object key.
bool IsHclIdentifier(std::string_view name);

class HclWriter {
 public:
  // `header {` then indents; e.g. Open("resource \"aws_vpc\" \"main\"") or Open("lifecycle").
  void Open(std::string_view header);
  // `}`, and a blank line after a top-level block.
  void Close();
  // `name = expression`. Consecutive attributes of a block are aligned on their `=`.
  void Attr(std::string_view name, std::string_view expression);
  // `# text`, one comment line per line of `text`.
  void Comment(std::string_view text);
  // A map attribute written one member per line: `name = {` ... `}`.
  void OpenMap(std::string_view name);
  void MapEntry(std::string_view key, std::string_view expression);
  void CloseMap();
  void Blank();
  std::string Take();

 private:
  void Flush();
  void Indent();
  std::string out_;
  std::vector<std::pair<std::string, std::string>> pending_;  // attributes to align
  int depth_ = 0;
};

}  // namespace ferry::iac

#endif  // FERRY_IAC_HCL_H_
