#include "cli/commands.h"

namespace echomon::cli {

void RegisterExtraCommands(CLI::App& /*app*/, CommandRegistry& /*registry*/) {}

}  // namespace echomon::cli
