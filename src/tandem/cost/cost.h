// Cost module: what running Tandem costs where. Prices a workload on a local workstation, cloud
// GPU instances (on demand and spot), pay-per-token APIs and a local/cloud hybrid, from a dated
// catalog compiled into the binary, and recommends one.
//
//   Result<InstanceCatalog> catalog = InstanceCatalog::Load(config);
//   Result<Workload> workload = LoadWorkloadFile("examples/workload.toml");
//   Result<Plan> plan = MakePlan(*catalog, *workload, api_offers);
//   fmt::print("{}", RenderTable(*plan));
#pragma once

#include "tandem/cost/catalog.h"
#include "tandem/cost/format.h"
#include "tandem/cost/ledger_report.h"
#include "tandem/cost/planner.h"
#include "tandem/cost/report.h"
#include "tandem/cost/usage_summary.h"
#include "tandem/cost/workload.h"
