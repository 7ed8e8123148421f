#include "cli/commands.h"

namespace echomon::cli {

void RegisterExtraCommands(CLI::App& app, CommandRegistry& registry) {
  RegisterQueryCommands(app, registry);
  RegisterReportCommands(app, registry);
  RegisterCompletionCommands(app, registry);
  RegisterIncidentCommands(app, registry);
  RegisterMaintenanceCommands(app, registry);
}

}  // namespace echomon::cli
