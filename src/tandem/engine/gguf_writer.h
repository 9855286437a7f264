// GgufWriter: builds GGUF v2/v3 files in memory, for tests, the fuzzer's seeds and synthetic
// benchmark models.
//
//   GgufWriter writer;
//   writer.AddString("general.architecture", "llama");
//   writer.AddTensor("token_embd.weight", TensorType::kF32, {256, 32000}, bytes);
//   Status written = writer.WriteFile(path);
//
// Not thread-safe. It writes what it is told: the fields that a reader validates (types, dims,
// offsets) can be forced to invalid values through TensorSpec so tests can build corrupt files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/engine/gguf_reader.h"

namespace tandem::engine {

class GgufWriter {
 public:
  struct Options {
    uint32_t version = 3;     // 2 or 3 (the layouts are identical).
    uint32_t alignment = 32;  // Written as general.alignment when not 32.
  };

  // A tensor description; `data` is written at the next aligned offset unless `offset` forces
  // another value (tests use that to produce overlapping or misaligned tensors).
  struct TensorSpec {
    std::string name;
    uint32_t type = 0;
    std::vector<uint64_t> dims;
    std::string data;
    std::optional<uint64_t> offset;
    // When set, the tensor's `fill_bytes` bytes are produced in place by this function at Build
    // time instead of being copied from `data` (large synthetic models).
    std::function<void(char* dst, size_t n)> fill;
    size_t fill_bytes = 0;
  };

  GgufWriter() : GgufWriter(Options{}) {}
  explicit GgufWriter(Options options);

  void AddUint32(std::string_view key, uint32_t value);
  void AddInt32(std::string_view key, int32_t value);
  void AddUint64(std::string_view key, uint64_t value);
  void AddFloat32(std::string_view key, float value);
  void AddBool(std::string_view key, bool value);
  void AddString(std::string_view key, std::string_view value);
  void AddStringArray(std::string_view key, const std::vector<std::string>& values);
  void AddFloat32Array(std::string_view key, const std::vector<float>& values);
  void AddInt32Array(std::string_view key, const std::vector<int32_t>& values);

  // Adds a tensor whose bytes are `data` (already encoded in `type`'s block layout).
  void AddTensor(std::string_view name, TensorType type, std::vector<uint64_t> dims,
                 std::string data);
  void AddTensor(TensorSpec spec);

  // The whole file.
  std::string Build() const;
  Status WriteFile(const std::filesystem::path& path) const;

 private:
  void AddKey(std::string_view key, GgufType type);

  Options options_;
  uint64_t n_kv_ = 0;
  std::string kv_bytes_;
  std::vector<TensorSpec> tensors_;
};

}  // namespace tandem::engine
