// A collection as both store backends keep it, and the checks they share on its fields.
#pragma once

#include <cstdint>
#include <string>

#include "tandem/core/error.h"
#include "tandem/memory/memory.h"
#include "tandem/memory/vector_index.h"

namespace tandem::memory {

// The model recorded for a collection whose vectors all came with the records.
inline constexpr std::string_view kExternalModel = "external";

struct CollectionRow {
  int64_t id = 0;  // Never reused, so a re-created collection gets a fresh index.
  std::string name;
  CollectionOptions options;
  std::string model;    // Empty until the first vector is stored.
  int dimension = 0;    // 0 until the first vector is stored.
  int64_t version = 0;  // Grows with every committed change to the collection's records.
};

// kInvalidArgument naming what is wrong with a new collection's name or options.
Status ValidateNewCollection(const std::string& name, const CollectionOptions& options);

// kDataLoss when a row read from a database holds values no store writes.
Status CheckStoredCollection(const CollectionRow& row);

IndexParams IndexParamsOf(const CollectionRow& row);

}  // namespace tandem::memory
