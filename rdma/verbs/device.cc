// ProbeDevices (verbs_provider.h): which RDMA devices and ports this host has.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rdma/verbs/raii.h"
#include "rdma/verbs/verbs_provider.h"

namespace ftvm::rdma::verbs {
namespace {

const char* PortStateName(ibv_port_state state) {
  switch (state) {
    case IBV_PORT_DOWN:
      return "DOWN";
    case IBV_PORT_INIT:
      return "INIT";
    case IBV_PORT_ARMED:
      return "ARMED";
    case IBV_PORT_ACTIVE:
      return "ACTIVE";
    case IBV_PORT_ACTIVE_DEFER:
      return "ACTIVE_DEFER";
    default:
      return "NOP";
  }
}

const char* LinkLayerName(uint8_t link_layer) {
  switch (link_layer) {
    case IBV_LINK_LAYER_INFINIBAND:
      return "InfiniBand";
    case IBV_LINK_LAYER_ETHERNET:
      return "Ethernet";
    default:
      return "unknown link layer";
  }
}

// Appends one line per port of `device`; true if one is ACTIVE.
bool ProbeDevice(ibv_device* device, std::vector<std::string>* ports) {
  const char* name = ibv_get_device_name(device);
  const ContextPtr context(ibv_open_device(device));
  if (!context) {
    ports->push_back(fmt::format("{}: cannot open ({})", name, std::strerror(errno)));
    return false;
  }
  ibv_device_attr attr{};
  if (const int rc = ibv_query_device(context.get(), &attr); rc != 0) {
    ports->push_back(fmt::format("{}: cannot query ({})", name, std::strerror(rc)));
    return false;
  }
  bool active = false;
  for (uint8_t port = 1; port <= attr.phys_port_cnt; ++port) {
    ibv_port_attr port_attr{};
    if (ibv_query_port(context.get(), port, &port_attr) != 0) continue;
    active = active || port_attr.state == IBV_PORT_ACTIVE;
    ports->push_back(fmt::format("{}:{} {} {}", name, port, PortStateName(port_attr.state),
                                 LinkLayerName(port_attr.link_layer)));
  }
  return active;
}

}  // namespace

DeviceProbe ProbeDevices() {
  DeviceProbe probe;
  int count = 0;
  errno = 0;
  const DeviceListPtr list(ibv_get_device_list(&count));
  if (!list) {
    const int err = errno;
    probe.summary =
        err == ENOSYS ? "the kernel has no RDMA support (ibv_get_device_list: ENOSYS)"
                      : fmt::format("no RDMA device (ibv_get_device_list: {})", std::strerror(err));
    return probe;
  }
  if (count == 0) {
    probe.summary = "no RDMA device present";
    return probe;
  }
  bool active = false;
  for (int i = 0; i < count; ++i) active = ProbeDevice(list.get()[i], &probe.ports) || active;
  const std::string ports = fmt::format("{}", fmt::join(probe.ports, ", "));
  if (!active) {
    probe.summary = fmt::format("no RDMA port is ACTIVE ({})", ports);
  } else if (::access("/dev/infiniband/rdma_cm", R_OK | W_OK) != 0) {
    probe.summary = fmt::format(
        "RDMA device present ({}) but no usable /dev/infiniband/rdma_cm "
        "(load the rdma_ucm module)",
        ports);
  } else {
    probe.usable = true;
    probe.summary = fmt::format("RDMA device ready ({})", ports);
  }
  return probe;
}

}  // namespace ftvm::rdma::verbs
