#include "base/trace.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "base/log.h"
#include "base/strings.h"

namespace ftvm::trace {

// Events register themselves during static initialisation, so the registry is a function-local
// static (constructed on first use, whatever the initialisation order of translation units).
class Registry {
 public:
  static Registry& Get() {
    static Registry* registry = new Registry();  // never destroyed: events are static too
    return *registry;
  }

  void Add(Event* event) {
    std::lock_guard lock(mu_);
    event->next_ = head_;
    head_ = event;
    for (const auto& [glob, on] : rules_) {
      if (Matches(glob, event->name_)) event->set_enabled(on);
    }
  }

  size_t SetState(std::string_view glob, bool on, bool remember) {
    std::lock_guard lock(mu_);
    if (remember) Remember(glob, on);
    size_t matched = 0;
    for (Event* e = head_; e != nullptr; e = e->next_) {
      if (Matches(glob, e->name_)) {
        e->set_enabled(on);
        ++matched;
      }
    }
    return matched;
  }

  std::vector<EventState> List() {
    std::lock_guard lock(mu_);
    std::vector<EventState> out;
    for (Event* e = head_; e != nullptr; e = e->next_) out.push_back({e->name_, e->enabled()});
    std::sort(out.begin(), out.end(),
              [](const EventState& a, const EventState& b) { return a.name < b.name; });
    return out;
  }

 private:
  Registry() {
    if (const char* env = std::getenv("FTVM_TRACE"); env != nullptr) ApplyPatterns(env);
  }

  void ApplyPatterns(std::string_view patterns) {
    // Called from the constructor only, before anyone else can see the registry.
    for (std::string_view item : Split(patterns, ',')) {
      const bool on = item.front() != '-';
      if (!on) item.remove_prefix(1);
      Remember(item, on);
    }
  }

  // Rules apply to events registered later (in order). The control socket lets clients set
  // states at will, so the list is bounded: a glob set again replaces its earlier rule, and
  // beyond kMaxRules the oldest rule is forgotten.
  void Remember(std::string_view glob, bool on) {
    std::erase_if(rules_, [glob](const auto& rule) { return rule.first == glob; });
    if (rules_.size() >= kMaxRules) rules_.erase(rules_.begin());
    rules_.emplace_back(std::string(glob), on);
  }

  static bool Matches(std::string_view glob, const char* name) { return GlobMatch(glob, name); }

  static constexpr size_t kMaxRules = 256;

  std::mutex mu_;
  Event* head_ = nullptr;
  std::vector<std::pair<std::string, bool>> rules_;
};

Event::Event(const char* name, const char* format) : name_(name), format_(format) {
  Registry::Get().Add(this);
}

void Emit(const Event& event, std::string_view message) {
  static spdlog::logger& logger = GetLogger("trace");
  logger.info("{} {}", event.name(), message);
}

size_t Configure(std::string_view patterns) {
  size_t matched = 0;
  for (std::string_view item : Split(patterns, ',')) {
    const bool on = item.front() != '-';
    if (!on) item.remove_prefix(1);
    matched += Registry::Get().SetState(item, on, /*remember=*/true);
  }
  return matched;
}

size_t SetState(std::string_view glob, bool enabled) {
  return Registry::Get().SetState(glob, enabled, /*remember=*/true);
}

std::vector<EventState> List() { return Registry::Get().List(); }

}  // namespace ftvm::trace
