// Shows the primary's initial sync (colo::SyncProgress) to the operator: on a terminal
// (stderr is a TTY) one line redrawn in place with bytes, percent of the round, rate and ETA;
// otherwise a plain line at most every 2 s (the engine logs each round's summary anyway).
#pragma once

#include <cstdint>

#include "colo/options.h"

namespace ftvm::app {

// A callback for colo::PrimaryOptions::sync_progress, writing to stderr.
colo::SyncProgressCallback MakeSyncProgressPrinter();

}  // namespace ftvm::app
