// Named trace events in the style of QEMU's trace-events.
//
// Each library declares its events in one header, `<lib>/trace_events.h`:
//
//   FTVM_TRACE_EVENT(rdma_write_post, "wr={} addr={:#x} len={}",
//                    (uint64_t, wr_id), (uint64_t, addr), (uint32_t, len))
//
// which defines `trace_rdma_write_post(uint64_t wr_id, uint64_t addr, uint32_t len)` in the
// enclosing namespace. Every call site is:
//   - a USDT probe `ftvm:rdma_write_post` (sys/sdt.h) that perf / bpftrace / systemtap can attach
//     to in production: a single nop when nobody is attached;
//   - a relaxed atomic load of the event's enabled flag; when enabled at run time (by glob,
//     from --trace, the FTVM_TRACE environment variable or the control socket) the formatted
//     event is logged through the "trace" spdlog logger with a timestamp.
// Arguments must be integers, enums, floats or pointers (what a USDT probe can carry).
// The cost when disabled is measured by bench/trace_bench.cc.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#ifndef SDT_USE_VARIADIC
#define SDT_USE_VARIADIC 1
#endif
#include <sys/sdt.h>

namespace ftvm::trace {

class Event {
 public:
  // Registers the event in the global list (constructed during static initialisation).
  Event(const char* name, const char* format);
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  const char* name() const { return name_; }
  const char* format() const { return format_; }
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  void set_enabled(bool on) { enabled_.store(on, std::memory_order_relaxed); }

 private:
  friend class Registry;
  const char* name_;
  const char* format_;
  std::atomic<bool> enabled_{false};
  Event* next_ = nullptr;
};

// Logs one enabled event (the slow path; never inlined).
[[gnu::cold, gnu::noinline]] void Emit(const Event& event, std::string_view message);

struct EventState {
  std::string name;
  bool enabled;
};

// Globs are QEMU's trace patterns: '*' and '?' only (base/strings.h GlobMatch).
// Enables (or, with a leading '-', disables) every event matching each comma-separated glob,
// e.g. "rdma_*,-rdma_poll*". Applies to events registered later as well. Returns how many
// registered events matched.
size_t Configure(std::string_view patterns);
// Sets the state of events matching one glob; returns how many matched.
size_t SetState(std::string_view glob, bool enabled);
// All registered events, sorted by name.
std::vector<EventState> List();

}  // namespace ftvm::trace

// ---- implementation macros ------------------------------------------------------------------

#define FTVM_TRACE_NARGS(...) FTVM_TRACE_NARGS_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define FTVM_TRACE_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, N, ...) N
#define FTVM_TRACE_CAT(a, b) FTVM_TRACE_CAT_(a, b)
#define FTVM_TRACE_CAT_(a, b) a##b
#define FTVM_TRACE_MAP(m, ...) \
  FTVM_TRACE_CAT(FTVM_TRACE_MAP_, FTVM_TRACE_NARGS(__VA_ARGS__))(m, __VA_ARGS__)
#define FTVM_TRACE_MAP_1(m, a) m a
#define FTVM_TRACE_MAP_2(m, a, ...) m a, FTVM_TRACE_MAP_1(m, __VA_ARGS__)
#define FTVM_TRACE_MAP_3(m, a, ...) m a, FTVM_TRACE_MAP_2(m, __VA_ARGS__)
#define FTVM_TRACE_MAP_4(m, a, ...) m a, FTVM_TRACE_MAP_3(m, __VA_ARGS__)
#define FTVM_TRACE_MAP_5(m, a, ...) m a, FTVM_TRACE_MAP_4(m, __VA_ARGS__)
#define FTVM_TRACE_MAP_6(m, a, ...) m a, FTVM_TRACE_MAP_5(m, __VA_ARGS__)
#define FTVM_TRACE_MAP_7(m, a, ...) m a, FTVM_TRACE_MAP_6(m, __VA_ARGS__)
#define FTVM_TRACE_MAP_8(m, a, ...) m a, FTVM_TRACE_MAP_7(m, __VA_ARGS__)
#define FTVM_TRACE_PARAM(type, name) type name
#define FTVM_TRACE_ARG(type, name) name

// FTVM_TRACE_EVENT(name, "fmt {} {}", (type, arg)...): 1 to 8 typed arguments.
#define FTVM_TRACE_EVENT(event, fmtstr, ...)                                                   \
  inline ::ftvm::trace::Event event##_trace_event{#event, fmtstr};                             \
  inline void trace_##event(FTVM_TRACE_MAP(FTVM_TRACE_PARAM, __VA_ARGS__)) {                   \
    STAP_PROBEV(ftvm, event, FTVM_TRACE_MAP(FTVM_TRACE_ARG, __VA_ARGS__));                     \
    if (event##_trace_event.enabled()) [[unlikely]] {                                          \
      ::ftvm::trace::Emit(event##_trace_event,                                                 \
                          ::fmt::format(fmtstr, FTVM_TRACE_MAP(FTVM_TRACE_ARG, __VA_ARGS__))); \
    }                                                                                          \
  }

// An event without arguments.
#define FTVM_TRACE_EVENT0(event, fmtstr)                           \
  inline ::ftvm::trace::Event event##_trace_event{#event, fmtstr}; \
  inline void trace_##event() {                                    \
    STAP_PROBE(ftvm, event);                                       \
    if (event##_trace_event.enabled()) [[unlikely]] {              \
      ::ftvm::trace::Emit(event##_trace_event, fmtstr);            \
    }                                                              \
  }
