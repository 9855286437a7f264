// router: decides for every model call where it may run (local or cloud zone) and why, keeps
// sensitive data local by construction, and owns the only path to a model (Gateway).
//
//   auto gateway = Gateway::Create(config, {.audit = &sink});
//   TaintState taint;
//   (*gateway)->policy().ObserveGoal(taint, goal);
//   Result<GatewayResponse> r = (*gateway)->Chat({.task_id = id, .taint = &taint}, request);
//   r->decision.route();  // Route::kLocal if anything sensitive was seen
#pragma once

#include "tandem/router/audit.h"           // IWYU pragma: export
#include "tandem/router/decision.h"        // IWYU pragma: export
#include "tandem/router/detectors.h"       // IWYU pragma: export
#include "tandem/router/gateway.h"         // IWYU pragma: export
#include "tandem/router/masking.h"         // IWYU pragma: export
#include "tandem/router/policy.h"          // IWYU pragma: export
#include "tandem/router/routing_config.h"  // IWYU pragma: export
#include "tandem/router/taint.h"           // IWYU pragma: export
