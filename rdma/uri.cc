#include "rdma/uri.h"

#include <fmt/format.h>

namespace ftvm::rdma {

std::string_view SchemeName(Scheme scheme) {
  switch (scheme) {
    case Scheme::kTcp:
      return "tcp";
    case Scheme::kRdma:
      return "rdma";
  }
  return "?";
}

std::string Uri::ToString() const {
  return fmt::format("{}://{}", SchemeName(scheme), where.ToString());
}

Result<Uri> ParseUri(std::string_view text) {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, "'{}': expected tcp://host:port or rdma://host:port",
                text);
  }
  Uri uri;
  const std::string_view scheme = text.substr(0, sep);
  if (scheme == "tcp") {
    uri.scheme = Scheme::kTcp;
  } else if (scheme == "rdma") {
    uri.scheme = Scheme::kRdma;
  } else {
    return Fail(ErrorCode::kInvalidArgument, "'{}': unknown scheme '{}' (tcp, rdma)", text, scheme);
  }
  const std::string_view rest = text.substr(sep + 3);
  if (rest.find_first_of("/?# ") != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, "'{}': only scheme://host:port is accepted", text);
  }
  auto where = ParseHostPort(rest);
  if (!where) return Fail(std::move(where.error()).Wrap(fmt::format("uri '{}'", text)));
  if (where->host.empty()) return Fail(ErrorCode::kInvalidArgument, "'{}': empty host", text);
  uri.where = std::move(*where);
  return uri;
}

}  // namespace ftvm::rdma
