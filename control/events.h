// Asynchronous QMP events: {"event": NAME, "data": {...}, "timestamp": {...}}.
//
// The Server is an EventSink; the engine's adapter holds an EventSink& and calls Emit() when
// something happens. Emit() is safe from any thread (the engine's checkpoint thread, a vCPU
// thread, a heartbeat timer), never blocks on clients and never fails: it queues the event and
// wakes the server thread, which sends it to every negotiated client.
#pragma once

#include <string_view>

#include "control/json.h"

namespace ftvm::control {

// Event names of issue 7 and the data an emitter must send (docs/operations.md):
//   FAILOVER    {"mode": COLO mode before, "reason": exit reason}  (QEMU's COLO_EXIT shape;
//               names from colo::Name())
//   PEER_LOST   {"reason": text}
//   DEGRADED    {"reason": text}   (primary running alone, checkpoints stopped)
//   RESUME, STOP                   no data (as QEMU's)
//   CHECKPOINT  {"num", "downtime", "ram_size", "dev_size"}   (optional, one per checkpoint)
inline constexpr std::string_view kEventFailover = "FAILOVER";
inline constexpr std::string_view kEventPeerLost = "PEER_LOST";
inline constexpr std::string_view kEventDegraded = "DEGRADED";
inline constexpr std::string_view kEventResume = "RESUME";
inline constexpr std::string_view kEventStop = "STOP";
inline constexpr std::string_view kEventCheckpoint = "CHECKPOINT";

class EventSink {
 public:
  virtual ~EventSink() = default;
  // `data` null means no "data" member (as QEMU's RESUME and STOP).
  virtual void Emit(std::string_view name, Json data) = 0;
};

}  // namespace ftvm::control
