// core: the pieces every module shares — errors, configuration, secrets, logging, ids, time and
// cancellation. Nothing here knows about models, tasks or tools.
//
//   Result<Config> config = LoadConfig({});
//   if (!config) { fmt::print(stderr, "{}\n", config.error().message()); return 3; }
#pragma once

#include "tandem/core/cancellation.h"  // IWYU pragma: export
#include "tandem/core/clock.h"         // IWYU pragma: export
#include "tandem/core/config.h"        // IWYU pragma: export
#include "tandem/core/error.h"         // IWYU pragma: export
#include "tandem/core/id.h"            // IWYU pragma: export
#include "tandem/core/log.h"           // IWYU pragma: export
#include "tandem/core/secrets.h"       // IWYU pragma: export
