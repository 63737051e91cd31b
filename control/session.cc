#include "control/session.h"

#include "control/log.h"

namespace ftvm::control {

std::string Session::Handle(std::string_view text) {
  ++requests_;
  std::expected<Request, RequestError> request = ParseRequest(text);
  if (!request) return EncodeError(request.error().error, request.error().id);
  std::expected<Json, QmpError> result = Dispatch(*request);
  if (!result) {
    Log().debug("command {}: {}: {}", request->command, result.error().error_class,
                result.error().desc);
    return EncodeError(result.error(), request->id);
  }
  return EncodeReturn(*result, request->id);
}

std::expected<Json, QmpError> Session::Dispatch(const Request& request) {
  constexpr std::string_view kNegotiate = "qmp_capabilities";
  if (!negotiated_) {
    // QEMU's monitor_qmp_dispatch(): only qmp_capabilities exists before negotiation.
    const CommandSpec* spec = registry_.Find(kNegotiate);
    if (request.command != kNegotiate || spec == nullptr) {
      return std::unexpected(
          QmpError{std::string(kCommandNotFound),
                   "Expecting capabilities negotiation with 'qmp_capabilities'"});
    }
    std::expected<Json, QmpError> result = registry_.Call(*spec, request.arguments);
    negotiated_ = result.has_value();
    return result;
  }
  if (request.command == kNegotiate) {
    return std::unexpected(
        QmpError{std::string(kCommandNotFound),
                 "Capabilities negotiation is already complete, command ignored"});
  }
  const CommandSpec* spec = registry_.Find(request.command);
  if (spec == nullptr) {
    return std::unexpected(
        QmpError{std::string(kCommandNotFound),
                 fmt::format("The command {} has not been found", request.command)});
  }
  Log().debug("command {}", request.command);
  return registry_.Call(*spec, request.arguments);
}

}  // namespace ftvm::control
