// GgufReader: a validated, memory-mapped view of a GGUF (v2/v3) model file.
//
//   Result<std::unique_ptr<GgufReader>> gguf = GgufReader::Open("model.gguf");
//   if (!gguf) return std::unexpected(std::move(gguf.error()));
//   std::optional<std::string_view> arch = (*gguf)->GetString("general.architecture");
//
// Every count, length, type, dimension and offset is checked against the file before anything is
// handed out, so a reader that opened successfully never reads outside the mapping. The reader is
// immutable after Open and therefore thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tandem/core/error.h"

namespace tandem::engine {

// Metadata value types as numbered by the GGUF specification.
enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// "uint32", "string", ...; "unknown" for values outside the enum.
std::string_view GgufTypeName(GgufType type);

// Tensor element types (ggml numbering). Only the listed ones are recognised.
enum class TensorType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
};

// Block layout of a tensor type: `block_size` elements are stored in `type_size` bytes.
struct TensorTypeTraits {
  std::string_view name;  // "q4_0", "f32", ...
  uint32_t block_size = 0;
  uint32_t type_size = 0;
};

// Traits of a known type; nullopt for an unknown type id.
std::optional<TensorTypeTraits> GetTensorTypeTraits(uint32_t type);
std::string_view TensorTypeName(TensorType type);

// An array value: element type and the elements, decoded.
struct GgufArray {
  GgufType element_type = GgufType::kUint8;
  // Exactly one of these is filled, according to element_type's family.
  std::vector<int64_t> ints;              // all integer types and bool
  std::vector<double> floats;             // float32 and float64
  std::vector<std::string_view> strings;  // string elements (views into the mapping)
  uint64_t size() const;
};

// One metadata value. Integers of every width widen to int64_t (uint64 above INT64_MAX is kept
// in `uint64_t`), floats to double; `type` keeps the stored type.
struct GgufValue {
  GgufType type = GgufType::kUint8;
  std::variant<int64_t, uint64_t, double, bool, std::string_view, GgufArray> value;
};

// One tensor as described by the file; `data` points into the mapping.
struct GgufTensor {
  std::string_view name;
  TensorType type = TensorType::kF32;
  std::vector<int64_t> dims;  // ne[0] (contiguous) first, as in ggml.
  int64_t n_elements = 0;
  uint64_t offset = 0;   // relative to the data section
  uint64_t n_bytes = 0;  // exact size of the tensor data
  const uint8_t* data = nullptr;
};

class GgufReader {
 public:
  // Maps and validates `path`. Fails with kNotFound if it cannot be opened and kInvalidArgument
  // naming the first problem if the content is not a well-formed GGUF v2/v3 file.
  [[nodiscard]] static Result<std::unique_ptr<GgufReader>> Open(const std::filesystem::path& path);
  // Validates a copy of `bytes` (used by tests and the fuzzer); same errors as Open.
  [[nodiscard]] static Result<std::unique_ptr<GgufReader>> FromBytes(
      std::span<const uint8_t> bytes);
  // Validates `bytes`, taking ownership without a copy (synthetic models built in memory).
  [[nodiscard]] static Result<std::unique_ptr<GgufReader>> FromOwnedBytes(std::string bytes);

  ~GgufReader();
  GgufReader(const GgufReader&) = delete;
  GgufReader& operator=(const GgufReader&) = delete;

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t file_size() const { return size_; }
  uint64_t data_offset() const { return data_offset_; }

  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }

  // Drops the mapped pages wholly inside [data, data + n_bytes) from this process's resident
  // memory (later reads fault them back in from the file). No-op for in-memory files.
  void ReleasePages(const uint8_t* data, uint64_t n_bytes) const;

  const GgufValue* Find(std::string_view key) const;
  const GgufTensor* FindTensor(std::string_view name) const;

  // Typed accessors: nullopt when the key is absent; an error when it is present with a type
  // that cannot represent the request (e.g. a string read as an integer, a negative count).
  Result<std::optional<uint64_t>> GetUint(std::string_view key) const;
  Result<std::optional<double>> GetFloat(std::string_view key) const;
  Result<std::optional<bool>> GetBool(std::string_view key) const;
  // Absent or not a string: nullopt.
  std::optional<std::string_view> GetString(std::string_view key) const;
  // Absent: nullptr; present but not an array: error.
  Result<const GgufArray*> GetArray(std::string_view key) const;

 private:
  GgufReader() = default;
  Status Parse();

  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  bool mapped_ = false;
  std::string owned_;  // FromBytes and FromOwnedBytes keep their bytes here.
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string_view, size_t, std::less<>> tensor_index_;
};

// A short human-readable rendering of a value ("[32000 strings]" for long arrays).
std::string DescribeValue(const GgufValue& value);

}  // namespace tandem::engine
