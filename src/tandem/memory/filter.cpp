#include "tandem/memory/filter.h"

#include <fmt/format.h>

#include <map>

#include "tandem/memory/memory.h"

namespace tandem::memory {
namespace {

using nlohmann::json;

constexpr std::string_view kWhereOperators = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin";

bool IsScalar(const json& value) {
  return value.is_string() || value.is_number() || value.is_boolean();
}

// One `record_meta` condition on `key` for a scalar value, as a SQL fragment over `m`.
void AppendValueMatch(const std::string& op, const json& value, SqlFilter& out) {
  if (value.is_string()) {
    out.clause += fmt::format("(m.type = {} AND m.str_value {} ?)", kMetaString, op);
    out.params.emplace_back(value.get<std::string>());
  } else if (value.is_boolean()) {
    out.clause += fmt::format("(m.type = {} AND m.num_value {} ?)", kMetaBool, op);
    out.params.emplace_back(value.get<bool>() ? 1.0 : 0.0);
  } else {
    out.clause += fmt::format("(m.type = {} AND m.num_value {} ?)", kMetaNumber, op);
    out.params.emplace_back(value.get<double>());
  }
}

std::string_view MetaTable(SqlDialect dialect) {
  return dialect == SqlDialect::kSqlite ? "record_meta" : "memory_record_meta";
}

// Replaces each `?` with $1, $2, ... The clause holds no user text (values are parameters), so
// every `?` in it is a placeholder.
std::string NumberPlaceholders(std::string_view clause) {
  std::string out;
  int next = 1;
  for (char c : clause) {
    if (c == '?') {
      out += fmt::format("${}", next++);
    } else {
      out += c;
    }
  }
  return out;
}

class WhereCompiler {
 public:
  explicit WhereCompiler(SqlDialect dialect) : dialect_(dialect) {}

  Result<SqlFilter> Compile(const json& where, const std::string& path) {
    if (!where.is_object() || where.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: expected a non-empty object, got {}", path,
                       where.dump());
    }
    std::vector<SqlFilter> parts;
    for (const auto& [key, value] : where.items()) {
      Result<SqlFilter> part = key == "$and" || key == "$or" ? Logical(key, value, path + "." + key)
                                                             : Field(key, value, path + "." + key);
      if (!part) return part;
      parts.push_back(std::move(*part));
    }
    return Join(parts, "AND");
  }

 private:
  static SqlFilter Join(std::vector<SqlFilter>& parts, std::string_view op) {
    if (parts.size() == 1) return std::move(parts.front());
    SqlFilter out{.clause = "("};
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) out.clause += fmt::format(" {} ", op);
      out.clause += parts[i].clause;
      out.params.insert(out.params.end(), parts[i].params.begin(), parts[i].params.end());
    }
    out.clause += ")";
    return out;
  }

  Result<SqlFilter> Logical(const std::string& op, const json& value, const std::string& path) {
    if (!value.is_array() || value.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: {} takes a non-empty array of filters",
                       path, op);
    }
    std::vector<SqlFilter> parts;
    for (size_t i = 0; i < value.size(); ++i) {
      Result<SqlFilter> part = Compile(value[i], fmt::format("{}[{}]", path, i));
      if (!part) return part;
      parts.push_back(std::move(*part));
    }
    return Join(parts, op == "$and" ? "AND" : "OR");
  }

  Result<SqlFilter> Field(const std::string& key, const json& condition, const std::string& path) {
    if (key.empty() || key.front() == '$') {
      return MakeError(ErrorCode::kInvalidArgument,
                       "{}: unknown operator '{}' (expected a metadata key, $and or $or)", path,
                       key);
    }
    if (IsScalar(condition)) return Operator(key, "$eq", condition, path);
    if (!condition.is_object() || condition.size() != 1) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "{}: expected a string, number, boolean or one {{\"$op\": value}}, got {}",
                       path, condition.dump());
    }
    auto entry = condition.begin();
    return Operator(key, entry.key(), entry.value(), path + "." + entry.key());
  }

  Result<SqlFilter> Operator(const std::string& key, const std::string& op, const json& value,
                             const std::string& path) {
    static const std::map<std::string, std::string, std::less<>> kComparisons = {
        {"$gt", ">"}, {"$gte", ">="}, {"$lt", "<"}, {"$lte", "<="}};
    SqlFilter out;
    bool negate = false;
    std::string match;
    SqlFilter values{.clause = ""};
    if (op == "$eq" || op == "$ne") {
      if (!IsScalar(value)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "{}: {} takes a string, number or boolean, got {}", path, op,
                         value.dump());
      }
      negate = op == "$ne";
      AppendValueMatch("=", value, values);
    } else if (auto cmp = kComparisons.find(op); cmp != kComparisons.end()) {
      if (!value.is_number()) {
        return MakeError(ErrorCode::kInvalidArgument, "{}: {} takes a number, got {}", path, op,
                         value.dump());
      }
      AppendValueMatch(cmp->second, value, values);
    } else if (op == "$in" || op == "$nin") {
      if (!value.is_array() || value.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "{}: {} takes a non-empty array, got {}",
                         path, op, value.dump());
      }
      negate = op == "$nin";
      values.clause.push_back('(');  // Empty so far; assigning a literal trips GCC 12's -Wrestrict.
      for (size_t i = 0; i < value.size(); ++i) {
        if (!IsScalar(value[i])) {
          return MakeError(ErrorCode::kInvalidArgument,
                           "{}[{}]: expected a string, number or boolean, got {}", path, i,
                           value[i].dump());
        }
        if (i > 0) values.clause += " OR ";
        AppendValueMatch("=", value[i], values);
      }
      values.clause += ")";
    } else {
      return MakeError(ErrorCode::kInvalidArgument,
                       "{}: unknown operator '{}' (expected one of {})", path, op, kWhereOperators);
    }
    // A record lacking the key matches $ne and $nin, as in ChromaDB.
    out.clause = fmt::format("r.pk {}IN (SELECT m.record FROM {} m WHERE m.key = ? AND {})",
                             negate ? "NOT " : "", MetaTable(dialect_), values.clause);
    out.params.emplace_back(key);
    out.params.insert(out.params.end(), values.params.begin(), values.params.end());
    return out;
  }

  SqlDialect dialect_;
};

Result<SqlFilter> CompileDocument(const json& filter, const std::string& path, SqlDialect dialect) {
  if (!filter.is_object() || filter.size() != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "{}: expected one of {{\"$contains\": text}}, {{\"$not_contains\": text}}, "
                     "{{\"$and\": [...]}}, {{\"$or\": [...]}}, got {}",
                     path, filter.dump());
  }
  auto entry = filter.begin();
  const std::string& op = entry.key();
  const json& value = entry.value();
  std::string here = path + "." + op;
  if (op == "$contains" || op == "$not_contains") {
    if (!value.is_string() || value.get<std::string>().empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: {} takes a non-empty string, got {}", here,
                       op, value.dump());
    }
    // instr() and strpos() are case-sensitive and exact, unlike LIKE.
    return SqlFilter{.clause = fmt::format("{}(r.document, ?) {}",
                                           dialect == SqlDialect::kSqlite ? "instr" : "strpos",
                                           op == "$contains" ? "> 0" : "= 0"),
                     .params = {value.get<std::string>()}};
  }
  if (op == "$and" || op == "$or") {
    if (!value.is_array() || value.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: {} takes a non-empty array of filters",
                       here, op);
    }
    SqlFilter out{.clause = "("};
    for (size_t i = 0; i < value.size(); ++i) {
      Result<SqlFilter> part = CompileDocument(value[i], fmt::format("{}[{}]", here, i), dialect);
      if (!part) return part;
      if (i > 0) out.clause += op == "$and" ? " AND " : " OR ";
      out.clause += part->clause;
      out.params.insert(out.params.end(), part->params.begin(), part->params.end());
    }
    out.clause += ")";
    return out;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "{}: unknown operator '{}' (expected $contains, $not_contains, $and or $or)",
                   here, op);
}

}  // namespace

Result<SqlFilter> CompileWhere(const json& where, SqlDialect dialect) {
  if (where.is_null()) return SqlFilter{};
  return WhereCompiler(dialect).Compile(where, "where");
}

Result<SqlFilter> CompileWhereDocument(const json& where_document, SqlDialect dialect) {
  if (where_document.is_null()) return SqlFilter{};
  return CompileDocument(where_document, "where_document", dialect);
}

Result<SqlFilter> CompileSelection(SqlDialect dialect, int64_t collection_id,
                                   const std::vector<std::string>& ids, const json& where,
                                   const json& where_document) {
  Result<SqlFilter> meta = CompileWhere(where, dialect);
  if (!meta) return meta;
  Result<SqlFilter> document = CompileWhereDocument(where_document, dialect);
  if (!document) return document;
  SqlFilter out{.clause = "r.collection_id = ?", .params = {collection_id}};
  if (!ids.empty()) {
    out.clause += dialect == SqlDialect::kSqlite
                      ? " AND r.id IN (SELECT value FROM json_each(?))"
                      : " AND r.id IN (SELECT jsonb_array_elements_text(?::jsonb))";
    out.params.emplace_back(json(ids).dump());
  }
  out.clause += fmt::format(" AND ({}) AND ({})", meta->clause, document->clause);
  out.params.insert(out.params.end(), meta->params.begin(), meta->params.end());
  out.params.insert(out.params.end(), document->params.begin(), document->params.end());
  if (dialect == SqlDialect::kPostgres) out.clause = NumberPlaceholders(out.clause);
  return out;
}

Status ValidateMetadata(const json& metadata) {
  if (metadata.is_null()) return {};
  if (!metadata.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "metadata must be an object, got {}",
                     metadata.dump());
  }
  for (const auto& [key, value] : metadata.items()) {
    if (key.empty() || key.front() == '$') {
      return MakeError(ErrorCode::kInvalidArgument,
                       "metadata key '{}' is not allowed (empty or starting with '$')", key);
    }
    if (!IsScalar(value)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "metadata.{}: values must be strings, numbers or booleans, got {}", key,
                       value.dump());
    }
  }
  return {};
}

Status ValidateWhere(const json& where) {
  Result<SqlFilter> compiled = CompileWhere(where);
  if (!compiled) return std::unexpected(compiled.error());
  return {};
}

Status ValidateWhereDocument(const json& where_document) {
  Result<SqlFilter> compiled = CompileWhereDocument(where_document);
  if (!compiled) return std::unexpected(compiled.error());
  return {};
}

}  // namespace tandem::memory
