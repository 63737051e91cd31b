#include "app/config_file.h"

#include <memory>

namespace ftvm::app {
namespace {

// CLI11's TOML reader, with keys outside any section given to the subcommand being run (CLI11
// reads config files after the command line, so the subcommand is known by then).
class SubcommandConfig final : public CLI::ConfigTOML {
 public:
  explicit SubcommandConfig(const CLI::App* app) : app_(app) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::vector<CLI::ConfigItem> parsed = CLI::ConfigTOML::from_config(input);
    const std::vector<CLI::App*> selected = app_->get_subcommands();
    if (selected.empty()) return parsed;
    for (CLI::ConfigItem& item : parsed) {
      if (item.parents.empty()) item.parents = {selected.front()->get_name()};
    }
    return parsed;
  }

 private:
  const CLI::App* app_;
};

}  // namespace

void AddConfigFileOption(CLI::App& app, std::initializer_list<CLI::App*> subcommands) {
  app.set_config("--config", "",
                 "read flags from a TOML file (key = value, keys are long flag names without "
                 "the dashes; [primary]/[secondary] sections allowed); flags on the command "
                 "line win. See docs/operations.md");
  app.config_formatter(std::make_shared<SubcommandConfig>(&app));
  app.allow_config_extras(CLI::config_extras_mode::error);
  for (CLI::App* subcommand : subcommands) {
    subcommand->fallthrough();
    subcommand->footer(
        "--config FILE reads these flags from a TOML file (key = flag name without the dashes, "
        "or a [" +
        subcommand->get_name() + "] section); flags given here win. See docs/operations.md.");
  }
}

}  // namespace ftvm::app
