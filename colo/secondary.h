// The secondary: holds a replica of the primary's guest and takes over when the primary dies.
//
//   setup     listen, accept, Hello (guest layout) -> create the VM -> HelloAck, ram/ setup
//   sync      RAM arrives in the cache (ram/), guest memory untouched
//   colo      per checkpoint: request -> pause (and harvest our own dirty pages) -> reply ->
//             RAM into the cache + device state -> `received` -> commit (copy only the pages
//             dirtied by either side, from the cache) -> load device state -> `loaded` ->
//             resume (unless passive)
//   failover  the primary is lost or an operator asks: the checkpoint in flight is discarded
//             (guest memory is still at the last commit; only Commit() writes it), the guest
//             runs on here, FAILOVER is reported.
//   stop      the primary said goodbye (it quit, its guest exited, an operator failed it over):
//             the guest lives (or was stopped on purpose) there, so this side stops and never
//             runs a second copy.
//
// A checkpoint is atomic: Commit() and the device-state load run only after every byte of the
// checkpoint arrived (and, in verify mode, matched its hash), and nothing interrupts them.
// Run() drives everything on the calling thread; operators use control() from other threads.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "base/result.h"
#include "colo/engine.h"
#include "colo/link.h"
#include "colo/options.h"
#include "ram/receiver.h"
#include "vmm/machine.h"

namespace ftvm::colo {

class Secondary {
 public:
  static Result<std::unique_ptr<Secondary>> Create(SecondaryOptions options);
  ~Secondary();

  EngineControl& control() { return control_; }
  // The bound listening URI (with the real port when listening on port 0).
  const std::string& listen_uri() const { return listen_uri_; }
  // Null until the primary's Hello created the VM.
  vmm::Machine* machine() { return machine_.get(); }

  // Accepts the primary and serves checkpoints; after a failover runs the guest until quit.
  Result<void> Run();

 private:
  // The checkpoint being received.
  struct Incoming {
    uint64_t n = 0;  // 0: none
    uint64_t request_ns = 0;
    uint64_t replied_ns = 0;
    uint64_t ram_done_ns = 0;
    uint64_t vmstate_start_ns = 0;
    uint64_t vmstate_done_ns = 0;
    bool ram_seen = false;
    bool have_size = false;
    uint64_t hash = 0;
    std::optional<uint64_t> ram_hash;  // verify mode: the primary's whole-RAM hash
    std::vector<std::byte> blob;
    size_t received = 0;
  };

  explicit Secondary(SecondaryOptions options);
  Result<void> Accept();
  Result<void> Setup(const Hello& hello);
  Result<void> Serve();
  Result<void> OnMessage(PeerLink::Received&& m);
  Result<void> OnRequest(uint64_t n);
  Result<void> OnVmstateSize(const VmstateSize& m);
  Result<void> OnVmstateData(const VmstateData& m);
  Result<void> MaybeComplete();
  Result<void> Complete();
  Result<void> Failover(const Error& why, bool requested);
  Result<void> Quit();
  Result<void> ResumeGuest();
  void PublishReplication();
  template <class T>
  Result<T> Local(Result<T> result) {
    if (!result && !fatal_) fatal_ = result.error();
    return result;
  }

  SecondaryOptions options_;
  EngineControl control_;
  std::string listen_uri_;
  std::unique_ptr<rdma::Listener> listener_;
  std::unique_ptr<vmm::Machine> machine_;  // guest memory outlives the link's registrations
  std::unique_ptr<PeerLink> link_;
  std::unique_ptr<ram::RamReceiver> receiver_;  // declared after link_: destroyed first
  bool passive_ = false;
  Incoming in_;
  vmm::DirtyBitmaps local_dirty_;  // our guest's own writes since the last commit
  uint64_t last_end_ns_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t committed_ = 0;  // last committed checkpoint
  uint64_t last_summary_ns_ = 0;
  ram::RamStats ram_before_;                    // receiver stats at the start of the checkpoint
  std::optional<std::string> primary_goodbye_;  // the primary's reason, when it said goodbye
  std::optional<Error> fatal_;
};

}  // namespace ftvm::colo
