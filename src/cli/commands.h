// The subcommand groups defined outside main.cc. Each Register* function adds its
// subcommands to app and their run functions to registry (see cli_common.h).
#pragma once

#include "cli/cli_common.h"

namespace echomon::cli {

// Calls every Register* below (commands.cc).
void RegisterExtraCommands(CLI::App& app, CommandRegistry& registry);

}  // namespace echomon::cli
