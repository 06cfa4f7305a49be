// The subcommands. Each returns the process exit status (exit_codes.h).
#pragma once

#include "tools/shadowctl/context.h"

namespace shadowctl {

int cmd_get(Context& ctx);
int cmd_update(Context& ctx);
int cmd_delete(Context& ctx);
int cmd_list(Context& ctx);
int cmd_watch(Context& ctx);   // watch.cc
int cmd_export(Context& ctx);  // backup.cc
int cmd_import(Context& ctx);  // backup.cc
int cmd_search(Context& ctx);        // fleet.cc
int cmd_fleet_update(Context& ctx);  // fleet.cc
int cmd_fleet_status(Context& ctx);  // fleet.cc
int cmd_fleet_cancel(Context& ctx);  // fleet.cc
int cmd_history(Context& ctx);       // fleet.cc
int cmd_rules(Context& ctx);   // rules.cc

}  // namespace shadowctl
