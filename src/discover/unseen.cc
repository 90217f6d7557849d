#include "discover/unseen.h"

namespace ferry {

void UnseenLog::Add(const std::string& what, const std::string& why, std::string example) {
  auto [it, inserted] = index_.try_emplace({what, why}, entries_.size());
  if (inserted) entries_.push_back({.what = what, .why = why, .count = 0, .examples = {}});
  Unseen& entry = entries_[it->second];
  ++entry.count;
  if (!example.empty() && entry.examples.size() < kMaxExamples) {
    entry.examples.push_back(std::move(example));
  }
}

std::vector<Unseen> UnseenLog::entries() const { return entries_; }

Json UnseenLog::ToJson() const {
  Json list = Json::array();
  for (const Unseen& entry : entries_) {
    list.push_back({{"what", entry.what},
                    {"why", entry.why},
                    {"count", entry.count},
                    {"examples", entry.examples}});
  }
  return list;
}

const Unseen* UnseenLog::Find(const std::string& what) const {
  for (const Unseen& entry : entries_) {
    if (entry.what == what) return &entry;
  }
  return nullptr;
}

}  // namespace ferry
