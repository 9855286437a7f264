#include "tandem/engine/gguf_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace tandem::engine {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32.
constexpr int kMaxDims = 4;              // ggml's GGML_MAX_DIMS.
constexpr uint64_t kMaxStringLength = uint64_t{1} << 30;

// Bounds-checked little-endian reads over the mapping. Every failure names the byte offset.
class Cursor {
 public:
  Cursor(const uint8_t* base, uint64_t size) : base_(base), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  template <typename T>
  Result<T> Read(std::string_view what) {
    if (remaining() < sizeof(T)) {
      return MakeError(ErrorCode::kInvalidArgument, "file truncated reading {} at offset {}", what,
                       pos_);
    }
    T value;
    std::memcpy(&value, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  Result<std::string_view> ReadString(std::string_view what) {
    uint64_t at = pos_;
    Result<uint64_t> length = Read<uint64_t>(what);
    if (!length) return std::unexpected(std::move(length.error()));
    if (*length > kMaxStringLength || *length > remaining()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "{} at offset {} has length {} beyond the end of the file", what, at,
                       *length);
    }
    std::string_view text(reinterpret_cast<const char*>(base_ + pos_), *length);
    pos_ += *length;
    return text;
  }

 private:
  const uint8_t* base_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

bool IsValidType(uint32_t type) {
  return type <= static_cast<uint32_t>(GgufType::kFloat64);
}

// Minimum number of bytes one element of `type` occupies in the file (for count checks).
uint64_t MinEncodedSize(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kString:
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    case GgufType::kArray:
      return 12;
  }
  return 1;
}

template <typename T>
Result<int64_t> ReadInt(Cursor& cursor, std::string_view what) {
  Result<T> v = cursor.Read<T>(what);
  if (!v) return std::unexpected(std::move(v.error()));
  return static_cast<int64_t>(*v);
}

// Reads one scalar of `type` (not an array) into `out`.
Status ReadScalar(Cursor& cursor, GgufType type, std::string_view what, GgufValue& out) {
  out.type = type;
  Result<int64_t> integer = 0;
  switch (type) {
    case GgufType::kUint8:
      integer = ReadInt<uint8_t>(cursor, what);
      break;
    case GgufType::kInt8:
      integer = ReadInt<int8_t>(cursor, what);
      break;
    case GgufType::kUint16:
      integer = ReadInt<uint16_t>(cursor, what);
      break;
    case GgufType::kInt16:
      integer = ReadInt<int16_t>(cursor, what);
      break;
    case GgufType::kUint32:
      integer = ReadInt<uint32_t>(cursor, what);
      break;
    case GgufType::kInt32:
      integer = ReadInt<int32_t>(cursor, what);
      break;
    case GgufType::kInt64:
      integer = ReadInt<int64_t>(cursor, what);
      break;
    case GgufType::kUint64: {
      Result<uint64_t> v = cursor.Read<uint64_t>(what);
      if (!v) return std::unexpected(std::move(v.error()));
      if (*v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        out.value = *v;
      } else {
        out.value = static_cast<int64_t>(*v);
      }
      return {};
    }
    case GgufType::kFloat32: {
      Result<float> v = cursor.Read<float>(what);
      if (!v) return std::unexpected(std::move(v.error()));
      out.value = static_cast<double>(*v);
      return {};
    }
    case GgufType::kFloat64: {
      Result<double> v = cursor.Read<double>(what);
      if (!v) return std::unexpected(std::move(v.error()));
      out.value = *v;
      return {};
    }
    case GgufType::kBool: {
      uint64_t at = cursor.pos();
      Result<uint8_t> v = cursor.Read<uint8_t>(what);
      if (!v) return std::unexpected(std::move(v.error()));
      if (*v > 1) {
        return MakeError(ErrorCode::kInvalidArgument, "{} at offset {} is a bool with value {}",
                         what, at, *v);
      }
      out.value = *v == 1;
      return {};
    }
    case GgufType::kString: {
      Result<std::string_view> v = cursor.ReadString(what);
      if (!v) return std::unexpected(std::move(v.error()));
      out.value = *v;
      return {};
    }
    case GgufType::kArray:
      break;
  }
  if (type == GgufType::kArray) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: nested arrays are not supported", what);
  }
  if (!integer) return std::unexpected(std::move(integer.error()));
  out.value = *integer;
  return {};
}

Status ReadArray(Cursor& cursor, std::string_view what, GgufValue& out) {
  uint64_t at = cursor.pos();
  Result<uint32_t> element_type = cursor.Read<uint32_t>(what);
  if (!element_type) return std::unexpected(std::move(element_type.error()));
  if (!IsValidType(*element_type)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "{} at offset {} has invalid array element type {}", what, at, *element_type);
  }
  GgufType type = static_cast<GgufType>(*element_type);
  if (type == GgufType::kArray) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: nested arrays are not supported", what);
  }
  Result<uint64_t> count = cursor.Read<uint64_t>(what);
  if (!count) return std::unexpected(std::move(count.error()));
  if (*count > cursor.remaining() / MinEncodedSize(type)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "{} at offset {} claims {} elements, more than the file can hold", what, at,
                     *count);
  }
  GgufArray array;
  array.element_type = type;
  GgufValue element;
  for (uint64_t i = 0; i < *count; ++i) {
    if (Status s = ReadScalar(cursor, type, what, element); !s) return s;
    if (type == GgufType::kString) {
      array.strings.push_back(std::get<std::string_view>(element.value));
    } else if (type == GgufType::kFloat32 || type == GgufType::kFloat64) {
      array.floats.push_back(std::get<double>(element.value));
    } else if (type == GgufType::kBool) {
      array.ints.push_back(std::get<bool>(element.value) ? 1 : 0);
    } else if (const uint64_t* big = std::get_if<uint64_t>(&element.value)) {
      array.ints.push_back(static_cast<int64_t>(*big));  // only uint64 arrays can reach here
    } else {
      array.ints.push_back(std::get<int64_t>(element.value));
    }
  }
  out.type = GgufType::kArray;
  out.value = std::move(array);
  return {};
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

uint64_t GgufArray::size() const {
  return std::max({ints.size(), floats.size(), strings.size()});
}

std::string_view GgufTypeName(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
      return "uint8";
    case GgufType::kInt8:
      return "int8";
    case GgufType::kUint16:
      return "uint16";
    case GgufType::kInt16:
      return "int16";
    case GgufType::kUint32:
      return "uint32";
    case GgufType::kInt32:
      return "int32";
    case GgufType::kFloat32:
      return "float32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kUint64:
      return "uint64";
    case GgufType::kInt64:
      return "int64";
    case GgufType::kFloat64:
      return "float64";
  }
  return "unknown";
}

std::optional<TensorTypeTraits> GetTensorTypeTraits(uint32_t type) {
  switch (static_cast<TensorType>(type)) {
    case TensorType::kF32:
      return TensorTypeTraits{"f32", 1, 4};
    case TensorType::kF16:
      return TensorTypeTraits{"f16", 1, 2};
    case TensorType::kQ4_0:
      return TensorTypeTraits{"q4_0", 32, 18};
    case TensorType::kQ4_1:
      return TensorTypeTraits{"q4_1", 32, 20};
    case TensorType::kQ5_0:
      return TensorTypeTraits{"q5_0", 32, 22};
    case TensorType::kQ5_1:
      return TensorTypeTraits{"q5_1", 32, 24};
    case TensorType::kQ8_0:
      return TensorTypeTraits{"q8_0", 32, 34};
    case TensorType::kQ8_1:
      return TensorTypeTraits{"q8_1", 32, 36};
    case TensorType::kQ2_K:
      return TensorTypeTraits{"q2_k", 256, 84};
    case TensorType::kQ3_K:
      return TensorTypeTraits{"q3_k", 256, 110};
    case TensorType::kQ4_K:
      return TensorTypeTraits{"q4_k", 256, 144};
    case TensorType::kQ5_K:
      return TensorTypeTraits{"q5_k", 256, 176};
    case TensorType::kQ6_K:
      return TensorTypeTraits{"q6_k", 256, 210};
    case TensorType::kQ8_K:
      return TensorTypeTraits{"q8_k", 256, 292};
    case TensorType::kI8:
      return TensorTypeTraits{"i8", 1, 1};
    case TensorType::kI16:
      return TensorTypeTraits{"i16", 1, 2};
    case TensorType::kI32:
      return TensorTypeTraits{"i32", 1, 4};
    case TensorType::kI64:
      return TensorTypeTraits{"i64", 1, 8};
    case TensorType::kF64:
      return TensorTypeTraits{"f64", 1, 8};
    case TensorType::kBF16:
      return TensorTypeTraits{"bf16", 1, 2};
  }
  return std::nullopt;
}

std::string_view TensorTypeName(TensorType type) {
  std::optional<TensorTypeTraits> traits = GetTensorTypeTraits(static_cast<uint32_t>(type));
  return traits ? traits->name : "unknown";
}

Result<std::unique_ptr<GgufReader>> GgufReader::Open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return MakeError(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kPermissionDenied,
                     "cannot open {}: {}", path.string(), std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return MakeError(ErrorCode::kInvalidArgument, "{} is not a regular file", path.string());
  }
  std::unique_ptr<GgufReader> reader(new GgufReader());
  reader->size_ = static_cast<uint64_t>(st.st_size);
  if (reader->size_ > 0) {
    void* map = ::mmap(nullptr, reader->size_, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return MakeError(ErrorCode::kInternal, "cannot map {}: {}", path.string(),
                       std::strerror(err));
    }
    reader->base_ = static_cast<const uint8_t*>(map);
    reader->mapped_ = true;
  }
  ::close(fd);
  if (Status s = reader->Parse(); !s) {
    return std::unexpected(std::move(s.error()).WithContext(path.string()));
  }
  return reader;
}

Result<std::unique_ptr<GgufReader>> GgufReader::FromBytes(std::span<const uint8_t> bytes) {
  std::unique_ptr<GgufReader> reader(new GgufReader());
  return FromOwnedBytes(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Result<std::unique_ptr<GgufReader>> GgufReader::FromOwnedBytes(std::string bytes) {
  std::unique_ptr<GgufReader> reader(new GgufReader());
  reader->owned_ = std::move(bytes);
  reader->base_ = reinterpret_cast<const uint8_t*>(reader->owned_.data());
  reader->size_ = reader->owned_.size();
  if (Status s = reader->Parse(); !s) return std::unexpected(std::move(s.error()));
  return reader;
}

void GgufReader::ReleasePages(const uint8_t* data, uint64_t n_bytes) const {
  if (!mapped_ || data < base_ || n_bytes == 0) return;
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + n_bytes) / page * page;
  if (last <= first) return;
  // Advice only: on failure the pages merely stay resident.
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

GgufReader::~GgufReader() {
  if (mapped_) ::munmap(const_cast<uint8_t*>(base_), size_);
}

Status GgufReader::Parse() {
  Cursor cursor(base_, size_);
  Result<uint32_t> magic = cursor.Read<uint32_t>("magic");
  if (!magic) return MakeError(ErrorCode::kInvalidArgument, "not a GGUF file: too short");
  if (*magic != kMagic) {
    return MakeError(ErrorCode::kInvalidArgument, "not a GGUF file: bad magic 0x{:08x}", *magic);
  }
  Result<uint32_t> version = cursor.Read<uint32_t>("version");
  if (!version) return std::unexpected(std::move(version.error()));
  if (*version == 1) {
    return MakeError(ErrorCode::kInvalidArgument, "GGUF version 1 is not supported (only 2 and 3)");
  }
  if (*version != 2 && *version != 3) {
    bool swapped = (*version & 0xFFFF) == 0 && (*version >> 24) <= 3;
    return MakeError(ErrorCode::kInvalidArgument, "unsupported GGUF version {}{}", *version,
                     swapped ? " (a big-endian file?)" : "");
  }
  version_ = *version;
  Result<uint64_t> n_tensors = cursor.Read<uint64_t>("tensor count");
  if (!n_tensors) return std::unexpected(std::move(n_tensors.error()));
  Result<uint64_t> n_kv = cursor.Read<uint64_t>("metadata count");
  if (!n_kv) return std::unexpected(std::move(n_kv.error()));
  // A key-value pair needs at least 8 (key length) + 4 (type) + 1 bytes; a tensor info 8 + 4 +
  // 8 + 4 + 8.
  if (*n_kv > cursor.remaining() / 13) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "metadata count {} is more than the file can hold", *n_kv);
  }
  if (*n_tensors > cursor.remaining() / 32) {
    return MakeError(ErrorCode::kInvalidArgument, "tensor count {} is more than the file can hold",
                     *n_tensors);
  }

  for (uint64_t i = 0; i < *n_kv; ++i) {
    uint64_t at = cursor.pos();
    Result<std::string_view> key = cursor.ReadString("metadata key");
    if (!key) return std::unexpected(std::move(key.error()).WithContext(fmt::format("key {}", i)));
    if (key->empty() || !IsValidUtf8(*key)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "metadata key {} at offset {} is empty or not UTF-8", i, at);
    }
    if (metadata_.contains(*key)) {
      return MakeError(ErrorCode::kInvalidArgument, "duplicate metadata key '{}'", *key);
    }
    std::string what = fmt::format("value of '{}'", *key);
    uint64_t type_at = cursor.pos();
    Result<uint32_t> type = cursor.Read<uint32_t>(what);
    if (!type) return std::unexpected(std::move(type.error()));
    if (!IsValidType(*type)) {
      return MakeError(ErrorCode::kInvalidArgument, "'{}' has invalid value type {} at offset {}",
                       *key, *type, type_at);
    }
    GgufValue value;
    Status s = static_cast<GgufType>(*type) == GgufType::kArray
                   ? ReadArray(cursor, what, value)
                   : ReadScalar(cursor, static_cast<GgufType>(*type), what, value);
    if (!s) return s;
    metadata_.emplace(std::string(*key), std::move(value));
  }

  if (const GgufValue* align = Find("general.alignment")) {
    const int64_t* v = std::get_if<int64_t>(&align->value);
    if (align->type != GgufType::kUint32 || v == nullptr || *v == 0 || (*v & (*v - 1)) != 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "general.alignment must be a non-zero power of two stored as uint32");
    }
    alignment_ = static_cast<uint32_t>(*v);
  }

  tensors_.reserve(*n_tensors);
  for (uint64_t i = 0; i < *n_tensors; ++i) {
    GgufTensor tensor;
    Result<std::string_view> name = cursor.ReadString("tensor name");
    if (!name) {
      return std::unexpected(std::move(name.error()).WithContext(fmt::format("tensor {}", i)));
    }
    if (name->empty() || name->size() > 256 || !IsValidUtf8(*name)) {
      return MakeError(ErrorCode::kInvalidArgument, "tensor {} has an invalid name", i);
    }
    tensor.name = *name;
    if (tensor_index_.contains(*name)) {
      return MakeError(ErrorCode::kInvalidArgument, "duplicate tensor name '{}'", *name);
    }
    std::string what = fmt::format("tensor '{}'", *name);
    Result<uint32_t> n_dims = cursor.Read<uint32_t>(what);
    if (!n_dims) return std::unexpected(std::move(n_dims.error()));
    if (*n_dims == 0 || *n_dims > kMaxDims) {
      return MakeError(ErrorCode::kInvalidArgument, "{} has {} dimensions (1 to {} allowed)", what,
                       *n_dims, kMaxDims);
    }
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < *n_dims; ++d) {
      Result<uint64_t> dim = cursor.Read<uint64_t>(what);
      if (!dim) return std::unexpected(std::move(dim.error()));
      if (*dim == 0 || *dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return MakeError(ErrorCode::kInvalidArgument, "{} has invalid dimension {} = {}", what, d,
                         *dim);
      }
      auto dim_value = static_cast<int64_t>(*dim);
      if (n_elements > std::numeric_limits<int64_t>::max() / dim_value) {
        return MakeError(ErrorCode::kInvalidArgument, "{} element count overflows", what);
      }
      n_elements *= dim_value;
      tensor.dims.push_back(dim_value);
    }
    tensor.n_elements = n_elements;
    Result<uint32_t> type = cursor.Read<uint32_t>(what);
    if (!type) return std::unexpected(std::move(type.error()));
    std::optional<TensorTypeTraits> traits = GetTensorTypeTraits(*type);
    if (!traits) {
      return MakeError(ErrorCode::kInvalidArgument, "{} has unknown type {}", what, *type);
    }
    tensor.type = static_cast<TensorType>(*type);
    if (tensor.dims[0] % traits->block_size != 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "{}: first dimension {} is not a multiple of the {} block size {}", what,
                       tensor.dims[0], traits->name, traits->block_size);
    }
    uint64_t n_blocks = static_cast<uint64_t>(n_elements) / traits->block_size;
    if (n_blocks > std::numeric_limits<uint64_t>::max() / traits->type_size) {
      return MakeError(ErrorCode::kInvalidArgument, "{} byte size overflows", what);
    }
    tensor.n_bytes = n_blocks * traits->type_size;
    Result<uint64_t> offset = cursor.Read<uint64_t>(what);
    if (!offset) return std::unexpected(std::move(offset.error()));
    if (*offset % alignment_ != 0) {
      return MakeError(ErrorCode::kInvalidArgument, "{} offset {} is not aligned to {}", what,
                       *offset, alignment_);
    }
    tensor.offset = *offset;
    tensor_index_.emplace(tensor.name, tensors_.size());
    tensors_.push_back(std::move(tensor));
  }

  // The data section starts at the next multiple of the alignment after the header.
  uint64_t header_end = cursor.pos();
  data_offset_ = (header_end + alignment_ - 1) / alignment_ * alignment_;
  if (!tensors_.empty() && data_offset_ > size_) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "data section starts at {} beyond the end of the file ({} bytes)",
                     data_offset_, size_);
  }
  uint64_t data_size = data_offset_ <= size_ ? size_ - data_offset_ : 0;
  std::vector<const GgufTensor*> by_offset;
  for (GgufTensor& tensor : tensors_) {
    if (tensor.offset > data_size || tensor.n_bytes > data_size - tensor.offset) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "tensor '{}' ({} bytes at data offset {}) extends beyond the end of the "
                       "file",
                       tensor.name, tensor.n_bytes, tensor.offset);
    }
    tensor.data = base_ + data_offset_ + tensor.offset;
    by_offset.push_back(&tensor);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensor& prev = *by_offset[i - 1];
    if (prev.offset + prev.n_bytes > by_offset[i]->offset) {
      return MakeError(ErrorCode::kInvalidArgument, "tensors '{}' and '{}' overlap", prev.name,
                       by_offset[i]->name);
    }
  }
  return {};
}

const GgufValue* GgufReader::Find(std::string_view key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const GgufTensor* GgufReader::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Result<std::optional<uint64_t>> GgufReader::GetUint(std::string_view key) const {
  const GgufValue* value = Find(key);
  if (value == nullptr) return std::nullopt;
  if (const uint64_t* big = std::get_if<uint64_t>(&value->value)) return *big;
  const int64_t* v = std::get_if<int64_t>(&value->value);
  if (v == nullptr || value->type == GgufType::kBool) {
    return MakeError(ErrorCode::kInvalidArgument, "'{}' is a {}, expected an integer", key,
                     GgufTypeName(value->type));
  }
  if (*v < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "'{}' is negative ({})", key, *v);
  }
  return static_cast<uint64_t>(*v);
}

Result<std::optional<double>> GgufReader::GetFloat(std::string_view key) const {
  const GgufValue* value = Find(key);
  if (value == nullptr) return std::nullopt;
  if (const double* d = std::get_if<double>(&value->value)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&value->value)) return static_cast<double>(*i);
  return MakeError(ErrorCode::kInvalidArgument, "'{}' is a {}, expected a number", key,
                   GgufTypeName(value->type));
}

Result<std::optional<bool>> GgufReader::GetBool(std::string_view key) const {
  const GgufValue* value = Find(key);
  if (value == nullptr) return std::nullopt;
  if (const bool* b = std::get_if<bool>(&value->value)) return *b;
  return MakeError(ErrorCode::kInvalidArgument, "'{}' is a {}, expected a bool", key,
                   GgufTypeName(value->type));
}

std::optional<std::string_view> GgufReader::GetString(std::string_view key) const {
  const GgufValue* value = Find(key);
  if (value == nullptr) return std::nullopt;
  if (const std::string_view* s = std::get_if<std::string_view>(&value->value)) return *s;
  return std::nullopt;
}

Result<const GgufArray*> GgufReader::GetArray(std::string_view key) const {
  const GgufValue* value = Find(key);
  if (value == nullptr) return nullptr;
  if (const GgufArray* a = std::get_if<GgufArray>(&value->value)) return a;
  return MakeError(ErrorCode::kInvalidArgument, "'{}' is a {}, expected an array", key,
                   GgufTypeName(value->type));
}

std::string DescribeValue(const GgufValue& value) {
  return std::visit(
      [&](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, GgufArray>) {
          if (v.size() > 8) {
            return fmt::format("[{} {}s]", v.size(), GgufTypeName(v.element_type));
          }
          std::string out = "[";
          for (uint64_t i = 0; i < v.size(); ++i) {
            if (i > 0) out += ", ";
            if (!v.strings.empty()) {
              out += fmt::format("\"{}\"", v.strings[i]);
            } else if (!v.floats.empty()) {
              out += fmt::format("{}", v.floats[i]);
            } else {
              out += fmt::format("{}", v.ints[i]);
            }
          }
          return out + "]";
        } else if constexpr (std::is_same_v<V, std::string_view>) {
          if (v.size() > 120)
            return fmt::format("\"{}...\" ({} bytes)", v.substr(0, 117), v.size());
          return fmt::format("\"{}\"", v);
        } else {
          return fmt::format("{}", v);
        }
      },
      value.value);
}

}  // namespace tandem::engine
