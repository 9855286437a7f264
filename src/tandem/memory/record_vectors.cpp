#include "tandem/memory/record_vectors.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "tandem/memory/filter.h"

namespace tandem::memory {

Status ValidateRecords(const std::vector<Record>& records) {
  std::set<std::string_view> ids;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& record = records[i];
    if (record.id.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "record {} has an empty id", i);
    }
    if (!ids.insert(record.id).second) {
      return MakeError(ErrorCode::kInvalidArgument, "id '{}' appears twice in one call", record.id);
    }
    if (record.document.empty() && record.embedding.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "record '{}' has neither a document nor an embedding", record.id);
    }
    if (Status meta = ValidateMetadata(record.metadata); !meta) {
      return std::unexpected(
          std::move(meta.error()).WithContext(fmt::format("record '{}'", record.id)));
    }
    for (float x : record.embedding) {
      if (!std::isfinite(x)) {
        return MakeError(ErrorCode::kInvalidArgument, "record '{}': embedding holds NaN or inf",
                         record.id);
      }
    }
  }
  return {};
}

Result<std::vector<std::vector<float>>> RecordVectors(llm::Embedder* embedder,
                                                      const CollectionRow& row,
                                                      const std::vector<Record>& records,
                                                      std::string& model, int& dimension) {
  std::vector<std::vector<float>> vectors(records.size());
  std::vector<std::string> texts;
  std::vector<size_t> positions;
  bool external = false;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!records[i].embedding.empty()) {
      vectors[i] = records[i].embedding;
      external = true;
    } else if (embedder != nullptr && !records[i].document.empty()) {
      texts.push_back(records[i].document);
      positions.push_back(i);
    }
  }
  model = row.model;
  dimension = row.dimension;
  if (!texts.empty()) {
    if (!model.empty() && model != embedder->model_name()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "collection '{}' holds vectors of model '{}', but the configured embedder "
                       "is '{}'; use the same model or another collection",
                       row.name, model, embedder->model_name());
    }
    auto embedded = embedder->Embed(texts);
    if (!embedded) return std::unexpected(std::move(embedded.error()).WithContext("embedding"));
    if (embedded->size() != texts.size()) {
      return MakeError(ErrorCode::kInvalidArgument, "the embedder returned {} vectors for {} texts",
                       embedded->size(), texts.size());
    }
    for (size_t j = 0; j < positions.size(); ++j) {
      if ((*embedded)[j].empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "the embedder returned an empty vector");
      }
      vectors[positions[j]] = std::move((*embedded)[j]);
    }
    model = embedder->model_name();
  } else if (external && model.empty()) {
    model = kExternalModel;
  }
  for (size_t i = 0; i < records.size(); ++i) {
    if (vectors[i].empty()) continue;
    int size = static_cast<int>(vectors[i].size());
    if (dimension == 0) dimension = size;
    if (size != dimension) {
      bool ours = records[i].embedding.empty();
      return MakeError(ours ? ErrorCode::kFailedPrecondition : ErrorCode::kInvalidArgument,
                       "record '{}': vector has dimension {}, but collection '{}' holds "
                       "dimension {} (model '{}')",
                       records[i].id, size, row.name, dimension, model);
    }
  }
  return vectors;
}

Result<QueryPlan> PlanQuery(llm::Embedder* embedder, const CollectionRow& row,
                            const QueryRequest& request, size_t fusion_candidates) {
  QueryPlan plan;
  plan.filtered = !request.where.is_null() || !request.where_document.is_null();
  // Fusion needs deeper candidate lists than one ranking alone.
  bool hybrid = !request.text.empty() && (!request.vector.empty() || embedder != nullptr);
  plan.k = hybrid ? std::max(request.n_results, fusion_candidates) : request.n_results;
  plan.vector = request.vector;
  if (plan.vector.empty() && embedder == nullptr) {
    plan.note = "no embedder configured: full text only";
  } else if (plan.vector.empty() && row.dimension == 0) {
    plan.note = "the collection holds no vectors: full text only";
  } else if (plan.vector.empty()) {
    if (row.model != embedder->model_name()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "collection '{}' holds vectors of model '{}', but the configured embedder "
                       "is '{}'",
                       row.name, row.model, embedder->model_name());
    }
    auto embedded = embedder->Embed({request.text});
    if (!embedded) return std::unexpected(std::move(embedded.error()).WithContext("embedding"));
    if (embedded->size() != 1) {
      return MakeError(ErrorCode::kInvalidArgument, "the embedder returned no vector");
    }
    plan.vector = std::move(embedded->front());
  }
  if (!request.vector.empty() && row.dimension == 0) {
    plan.note = "the collection holds no vectors";
  }
  if (row.dimension == 0) {
    plan.vector.clear();
    return plan;
  }
  if (!plan.vector.empty()) {
    if (static_cast<int>(plan.vector.size()) != row.dimension) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "query vector has dimension {}, collection '{}' holds dimension {}",
                       plan.vector.size(), row.name, row.dimension);
    }
    VectorSpace(row.options.distance, row.dimension).Prepare(plan.vector);
  }
  return plan;
}

}  // namespace tandem::memory
