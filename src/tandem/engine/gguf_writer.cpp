#include "tandem/engine/gguf_writer.h"

#include <cstring>
#include <fstream>

namespace tandem::engine {
namespace {

template <typename T>
void Put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void PutString(std::string& out, std::string_view s) {
  Put<uint64_t>(out, s.size());
  out.append(s);
}

uint64_t AlignUp(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

}  // namespace

GgufWriter::GgufWriter(Options options) : options_(options) {
  if (options_.alignment != 32) AddUint32("general.alignment", options_.alignment);
}

void GgufWriter::AddKey(std::string_view key, GgufType type) {
  ++n_kv_;
  PutString(kv_bytes_, key);
  Put<uint32_t>(kv_bytes_, static_cast<uint32_t>(type));
}

void GgufWriter::AddUint32(std::string_view key, uint32_t value) {
  AddKey(key, GgufType::kUint32);
  Put(kv_bytes_, value);
}

void GgufWriter::AddInt32(std::string_view key, int32_t value) {
  AddKey(key, GgufType::kInt32);
  Put(kv_bytes_, value);
}

void GgufWriter::AddUint64(std::string_view key, uint64_t value) {
  AddKey(key, GgufType::kUint64);
  Put(kv_bytes_, value);
}

void GgufWriter::AddFloat32(std::string_view key, float value) {
  AddKey(key, GgufType::kFloat32);
  Put(kv_bytes_, value);
}

void GgufWriter::AddBool(std::string_view key, bool value) {
  AddKey(key, GgufType::kBool);
  Put<uint8_t>(kv_bytes_, value ? 1 : 0);
}

void GgufWriter::AddString(std::string_view key, std::string_view value) {
  AddKey(key, GgufType::kString);
  PutString(kv_bytes_, value);
}

void GgufWriter::AddStringArray(std::string_view key, const std::vector<std::string>& values) {
  AddKey(key, GgufType::kArray);
  Put<uint32_t>(kv_bytes_, static_cast<uint32_t>(GgufType::kString));
  Put<uint64_t>(kv_bytes_, values.size());
  for (const std::string& v : values)
    PutString(kv_bytes_, v);
}

void GgufWriter::AddFloat32Array(std::string_view key, const std::vector<float>& values) {
  AddKey(key, GgufType::kArray);
  Put<uint32_t>(kv_bytes_, static_cast<uint32_t>(GgufType::kFloat32));
  Put<uint64_t>(kv_bytes_, values.size());
  for (float v : values)
    Put(kv_bytes_, v);
}

void GgufWriter::AddInt32Array(std::string_view key, const std::vector<int32_t>& values) {
  AddKey(key, GgufType::kArray);
  Put<uint32_t>(kv_bytes_, static_cast<uint32_t>(GgufType::kInt32));
  Put<uint64_t>(kv_bytes_, values.size());
  for (int32_t v : values)
    Put(kv_bytes_, v);
}

void GgufWriter::AddTensor(std::string_view name, TensorType type, std::vector<uint64_t> dims,
                           std::string data) {
  AddTensor(TensorSpec{std::string(name), static_cast<uint32_t>(type), std::move(dims),
                       std::move(data), std::nullopt, nullptr, 0});
}

void GgufWriter::AddTensor(TensorSpec spec) {
  tensors_.push_back(std::move(spec));
}

std::string GgufWriter::Build() const {
  std::string out;
  Put<uint32_t>(out, 0x46554747);
  Put<uint32_t>(out, options_.version);
  Put<uint64_t>(out, tensors_.size());
  Put<uint64_t>(out, n_kv_);
  out += kv_bytes_;
  // Offsets: each tensor at the next aligned position unless forced. Forced offsets do not move
  // the layout, and their bytes are written only when they land within a small region.
  constexpr uint64_t kMaxForcedEnd = uint64_t{1} << 20;
  std::vector<uint64_t> offsets;
  uint64_t next = 0;
  uint64_t end = 0;
  auto size_of = [](const TensorSpec& t) -> uint64_t {
    return t.fill ? t.fill_bytes : t.data.size();
  };
  for (const TensorSpec& t : tensors_) {
    uint64_t offset = t.offset.value_or(next);
    offsets.push_back(offset);
    if (!t.offset) next = AlignUp(offset + size_of(t), options_.alignment);
    if (!t.offset || offset + size_of(t) <= kMaxForcedEnd) {
      end = std::max(end, offset + size_of(t));
    }
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const TensorSpec& t = tensors_[i];
    PutString(out, t.name);
    Put<uint32_t>(out, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims)
      Put<uint64_t>(out, d);
    Put<uint32_t>(out, t.type);
    Put<uint64_t>(out, offsets[i]);
  }
  if (tensors_.empty()) return out;
  uint64_t data_start = AlignUp(out.size(), options_.alignment);
  out.resize(data_start + end, '\0');
  char* data = out.data() + data_start;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const TensorSpec& t = tensors_[i];
    if (offsets[i] + size_of(t) > end) continue;
    if (t.fill) {
      t.fill(data + offsets[i], t.fill_bytes);
    } else {
      std::memcpy(data + offsets[i], t.data.data(), t.data.size());
    }
  }
  return out;
}

Status GgufWriter::WriteFile(const std::filesystem::path& path) const {
  std::string bytes = Build();
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) return MakeError(ErrorCode::kInternal, "cannot write {}", path.string());
  return {};
}

}  // namespace tandem::engine
