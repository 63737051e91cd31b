// rdma_test_peer URI [peer_timeout_ms]: a channel peer in its own process, for tests that kill
// or stop it (SIGKILL, SIGSTOP). It connects to URI, registers 1 MiB for remote writes, sends
// one message "region" = u64 addr, u32 rkey, u64 length (little-endian), then polls until the
// channel ends (exit 0). Setup failures exit 1 with a message on stderr.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "base/mapping.h"
#include "base/wire.h"
#include "rdma/channel.h"

int main(int argc, char** argv) {
  using namespace ftvm;
  using namespace ftvm::rdma;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s URI [peer_timeout_ms]\n", argv[0]);
    return 2;
  }
  ChannelOptions options;
  options.connect_timeout = std::chrono::milliseconds(10000);
  if (argc > 2) options.peer_timeout = std::chrono::milliseconds(std::atoi(argv[2]));
  auto channel = Connect(argv[1], options);
  if (!channel) {
    std::fprintf(stderr, "test peer: %s\n", channel.error().ToString().c_str());
    return 1;
  }
  auto memory = Mapping::Anonymous(1 << 20);
  if (!memory) return 1;
  auto region = (*channel)->RegisterMemory(memory->bytes(), kAccessLocalWrite | kAccessRemoteWrite);
  if (!region) {
    std::fprintf(stderr, "test peer: %s\n", region.error().ToString().c_str());
    return 1;
  }
  std::vector<std::byte> message;
  WireWriter(&message).Put(region->remote_addr()).Put(region->rkey).Put(region->length);
  if (!(*channel)->PostSend(message, 1)) return 1;
  std::vector<Completion> completions(16);
  while ((*channel)->Poll(completions, Nanos(-1))) {
  }
  return 0;
}
