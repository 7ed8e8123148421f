// The subcommand groups defined outside main.cc. Each Register* function adds its
// subcommands to app and their run functions to registry (see cli_common.h).
#pragma once

#include "cli/cli_common.h"

namespace echomon::cli {

// Calls every Register* below (commands.cc).
void RegisterExtraCommands(CLI::App& app, CommandRegistry& registry);
void RegisterQueryCommands(CLI::App& app, CommandRegistry& registry);        // cmd_query.cc
void RegisterReportCommands(CLI::App& app, CommandRegistry& registry);       // cmd_report.cc
void RegisterCompletionCommands(CLI::App& app, CommandRegistry& registry);   // cmd_completion.cc
void RegisterIncidentCommands(CLI::App& app, CommandRegistry& registry);     // cmd_incidents.cc
void RegisterMaintenanceCommands(CLI::App& app, CommandRegistry& registry);  // cmd_maintenance.cc

}  // namespace echomon::cli
