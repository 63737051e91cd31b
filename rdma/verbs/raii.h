// Owners for every libibverbs / librdmacm object the verbs provider creates.
//
// Each is a std::unique_ptr whose deleter calls the matching destroy function. Verbs requires
// objects to be destroyed in the reverse order of creation (MRs and QPs before their PD, a QP
// before its CQ, a CQ before its completion channel, an id before its event channel), so every
// owner declares its members in creation order and C++ destroys them in reverse.
#pragma once

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <memory>

namespace ftvm::rdma::verbs {

template <auto kDestroy>
struct Destroyer {
  template <class T>
  void operator()(T* p) const noexcept {
    (void)kDestroy(p);
  }
};

using EventChannelPtr = std::unique_ptr<rdma_event_channel, Destroyer<&rdma_destroy_event_channel>>;
using CmIdPtr = std::unique_ptr<rdma_cm_id, Destroyer<&rdma_destroy_id>>;
// An event must be acknowledged before its id can be destroyed: owning it does that.
using CmEventPtr = std::unique_ptr<rdma_cm_event, Destroyer<&rdma_ack_cm_event>>;
using PdPtr = std::unique_ptr<ibv_pd, Destroyer<&ibv_dealloc_pd>>;
using CompChannelPtr = std::unique_ptr<ibv_comp_channel, Destroyer<&ibv_destroy_comp_channel>>;
using CqPtr = std::unique_ptr<ibv_cq, Destroyer<&ibv_destroy_cq>>;
using MrPtr = std::unique_ptr<ibv_mr, Destroyer<&ibv_dereg_mr>>;
using DeviceListPtr = std::unique_ptr<ibv_device*, Destroyer<&ibv_free_device_list>>;
using ContextPtr = std::unique_ptr<ibv_context, Destroyer<&ibv_close_device>>;

// A QP created with rdma_create_qp() belongs to its cm id: destroying it takes the id.
struct QpOfId {
  void operator()(rdma_cm_id* id) const noexcept { rdma_destroy_qp(id); }
};
using QpPtr = std::unique_ptr<rdma_cm_id, QpOfId>;

}  // namespace ftvm::rdma::verbs
