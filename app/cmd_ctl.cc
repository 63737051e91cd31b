// `ftvm ctl SOCKET COMMAND [ARGS...]`, `ftvm ctl SOCKET watch`: talk QMP to a running ftvm
// process over its control socket (control/client.h, control/ctl.h).
//
// Arguments are key=value words, typed (numbers, sizes such as 1G, true/false), or one JSON
// object. Replies print as tables for people, or as the raw JSON "return" value with --json.
// Exit status: 0 ok; 1 the process refused the command (its QMP error is printed); 64 usage,
// also an unknown command or rejected arguments; 69 no process on the socket (or it left
// mid-command); 124 no answer in time. `watch` ends with 0 on Ctrl-C or when the process exits.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/interrupt.h"
#include "base/time.h"
#include "control/client.h"
#include "control/ctl.h"

namespace ftvm::app {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

struct CtlOptions {
  std::string socket;
  std::string command;
  std::vector<std::string> args;
  bool json = false;
  std::string timeout = "5s";
  std::string interval = "1s";
  uint64_t count = 0;  // watch: stop after this many polls (0: until Ctrl-C or the process exits)
};

void Print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// A QMP error reply: argument and lookup errors are the caller's (usage), the rest a refusal.
int ReportQmpError(const control::QmpError& error) {
  std::fprintf(stderr, "ftvm ctl: %s: %s\n", error.error_class.c_str(), error.desc.c_str());
  const bool usage = error.error_class == control::kCommandNotFound ||
                     error.desc.starts_with("Parameter '") ||
                     error.desc.starts_with("Invalid parameter type") ||
                     error.desc.starts_with("QMP input member");
  return usage ? kExitUsage : kExitRefused;
}

int ReportTransport(std::string_view what, const Error& error) {
  std::fprintf(stderr, "ftvm ctl: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               error.ToString().c_str());
  return error.code() == ErrorCode::kTimeout ? kExitTimeout : kExitUnavailable;
}

Result<control::Client> Open(const std::string& socket, Deadline deadline) {
  FTVM_ASSIGN_OR_RETURN(control::Client client, control::Client::Connect(socket, deadline));
  FTVM_TRY(client.Negotiate(deadline));
  return client;
}

int RunCommand(const CtlOptions& options, nanoseconds timeout) {
  auto arguments = control::ctl::ParseArguments(options.args);
  if (!arguments) return Report("arguments", arguments.error());
  const Deadline deadline(timeout);
  auto client = Open(options.socket, deadline);
  if (!client) return ReportTransport(options.socket, client.error());
  auto reply = client->Execute(options.command, *arguments, deadline);
  if (!reply) return ReportTransport(options.command, reply.error());
  if (!reply->ok()) return ReportQmpError(*reply->error);
  Print(options.json ? control::DumpJson(reply->value) + "\n"
                     : control::ctl::FormatReturn(options.command, reply->value));
  return kExitOk;
}

// Commands a process may not offer (`ftvm run` has no engine): an error reply becomes {}.
Result<control::Json> QueryOrEmpty(control::Client& client, std::string_view command,
                                   Deadline deadline) {
  FTVM_ASSIGN_OR_RETURN(control::Reply reply,
                        client.Execute(command, control::Json::object(), deadline));
  return reply.ok() ? std::move(reply.value) : control::Json::object();
}

class Watcher {
 public:
  Watcher(const CtlOptions& options, control::Client client, nanoseconds timeout)
      : options_(options),
        client_(std::move(client)),
        timeout_(timeout),
        tty_(::isatty(STDOUT_FILENO) == 1 && !options.json) {}

  // Polls until --count, Ctrl-C, or the process goes away; always exit status 0.
  int Run(nanoseconds interval) {
    const InterruptGuard interrupt;
    for (uint64_t polls = 0; options_.count == 0 || polls < options_.count; ++polls) {
      if (!Poll()) return End("the process went away");
      const Deadline next_poll(interval);
      while (!next_poll.expired()) {
        if (interrupt.interrupted()) return End("");
        // Short slices so Ctrl-C is noticed within 100 ms.
        const nanoseconds slice = std::min<nanoseconds>(milliseconds(100), next_poll.remaining());
        auto event = client_.NextEvent(Deadline(slice));
        if (event) {
          PrintAboveLine(options_.json ? control::DumpJson(*event)
                                       : control::ctl::FormatEvent(*event));
        } else if (event.error().code() != ErrorCode::kTimeout) {
          return End("the process went away");
        }
      }
    }
    return End("");
  }

 private:
  bool Poll() {
    auto colo = QueryOrEmpty(client_, "query-colo-status", Deadline(timeout_));
    if (!colo) return false;
    auto stats = QueryOrEmpty(client_, "info_checkpoint", Deadline(timeout_));
    if (!stats) return false;
    const double elapsed_s = static_cast<double>(since_poll_.ElapsedNs()) / 1e9;
    since_poll_.Restart();
    if (options_.json) {
      Print(control::DumpJson({{"colo", *colo}, {"stats", *stats}}) + "\n");
    } else {
      line_ = control::ctl::FormatWatchLine(*colo, *stats,
                                            previous_.is_null() ? nullptr : &previous_, elapsed_s);
      Print(tty_ ? "\r\033[K" + line_ : line_ + "\n");
    }
    previous_ = std::move(*stats);
    return true;
  }

  // Events scroll above the live line, which is redrawn under them.
  void PrintAboveLine(const std::string& text) {
    if (tty_) {
      Print("\r\033[K" + text + "\n" + line_);
    } else {
      Print(text + "\n");
    }
  }

  int End(const char* why) {
    if (tty_) Print("\n");
    if (*why != '\0') std::fprintf(stderr, "ftvm ctl: %s: %s\n", options_.socket.c_str(), why);
    return kExitOk;
  }

  const CtlOptions& options_;
  control::Client client_;
  const nanoseconds timeout_;
  const bool tty_;
  control::Json previous_;
  std::string line_;
  Stopwatch since_poll_;
};

}  // namespace

CommandRunner RegisterCtlCommand(CLI::App& parent) {
  auto options = std::make_shared<CtlOptions>();
  CLI::App* ctl = parent.add_subcommand(
      "ctl",
      "Send a QMP command to a running ftvm process: `ftvm ctl SOCKET COMMAND [key=value...]` "
      "(or one JSON object); `ftvm ctl SOCKET query-commands` lists the commands; `ftvm ctl "
      "SOCKET watch` shows a live line (checkpoints, pauses, MB/s, COLO mode) and events until "
      "Ctrl-C. Exit: 0 ok, 1 command refused, 64 usage or bad arguments, 69 no process on the "
      "socket, 124 no answer in time.");
  ctl->add_option("socket", options->socket, "the process's control socket (--control PATH)")
      ->required();
  ctl->add_option("command", options->command,
                  "a QMP command (info_checkpoint, query-colo-status, set-parameters, ...) or "
                  "`watch`")
      ->required();
  ctl->add_option("args", options->args,
                  "arguments: key=value words (typed: 42, 1G, true, 1.5, text) or one JSON object");
  ctl->add_flag("--json", options->json,
                "print the raw JSON \"return\" value (watch: one object per poll, events as-is)");
  ctl->add_option("--timeout", options->timeout, "how long to wait for the process")
      ->capture_default_str();
  ctl->add_option("--interval", options->interval, "watch: time between polls")
      ->capture_default_str();
  ctl->add_option("--count", options->count, "watch: stop after this many polls (0: never)")
      ->capture_default_str();
  return [options] {
    auto timeout = ParseDuration(options->timeout);
    if (!timeout) return Report("--timeout", timeout.error());
    if (options->command != "watch") return RunCommand(*options, *timeout);
    if (!options->args.empty()) {
      return Report("watch", Error(ErrorCode::kInvalidArgument, "watch takes no arguments"));
    }
    auto interval = ParseDuration(options->interval);
    if (!interval || *interval < milliseconds(10)) {
      return Report("--interval", Error(ErrorCode::kInvalidArgument, "at least 10ms, e.g. 500ms"));
    }
    auto client = Open(options->socket, Deadline(*timeout));
    if (!client) return ReportTransport(options->socket, client.error());
    return Watcher(*options, std::move(*client), *timeout).Run(*interval);
  };
}

}  // namespace ftvm::app
