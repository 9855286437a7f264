#include "tandem/engine/gguf_reader.h"

#include <gtest/gtest.h>

#include <cstring>

#include "support/temp_dir.h"
#include "tandem/engine/gguf_writer.h"

namespace tandem::engine {
namespace {

std::string Floats(std::vector<float> values) {
  std::string out(values.size() * sizeof(float), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

class GgufReaderTest : public ::testing::Test {
 protected:
  // A small valid file: a few keys of each type and two f32 tensors.
  static GgufWriter ValidWriter(GgufWriter::Options options = {}) {
    GgufWriter writer(options);
    writer.AddString("general.architecture", "llama");
    writer.AddUint32("llama.block_count", 2);
    writer.AddFloat32("llama.rope.freq_base", 10000.0f);
    writer.AddBool("tokenizer.ggml.add_bos_token", true);
    writer.AddStringArray("tokenizer.ggml.tokens", {"<unk>", "a", "b"});
    writer.AddFloat32Array("tokenizer.ggml.scores", {0.0f, -1.0f, -2.0f});
    writer.AddInt32Array("tokenizer.ggml.token_type", {2, 1, 1});
    writer.AddTensor("a.weight", TensorType::kF32, {4, 2}, Floats({1, 2, 3, 4, 5, 6, 7, 8}));
    writer.AddTensor("b.weight", TensorType::kF32, {3}, Floats({9, 10, 11}));
    return writer;
  }

  static Result<std::unique_ptr<GgufReader>> Parse(const std::string& bytes) {
    return GgufReader::FromBytes(
        std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }

  static void ExpectInvalid(const std::string& bytes, std::string_view fragment) {
    Result<std::unique_ptr<GgufReader>> reader = Parse(bytes);
    ASSERT_FALSE(reader) << "expected failure mentioning '" << fragment << "'";
    EXPECT_EQ(reader.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(reader.error().message().find(fragment), std::string::npos)
        << reader.error().message();
  }

  template <typename T>
  static void Patch(std::string& bytes, size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
  }

  static GgufWriter::TensorSpec Spec(std::string name, uint32_t type, std::vector<uint64_t> dims,
                                     std::string data, std::optional<uint64_t> offset) {
    GgufWriter::TensorSpec spec;
    spec.name = std::move(name);
    spec.type = type;
    spec.dims = std::move(dims);
    spec.data = std::move(data);
    spec.offset = offset;
    return spec;
  }

  // A file with a single tensor described by `spec` and nothing else.
  static std::string OneTensor(GgufWriter::TensorSpec spec) {
    GgufWriter writer;
    writer.AddTensor(std::move(spec));
    return writer.Build();
  }
};

TEST_F(GgufReaderTest, ReadsBackWhatTheWriterWrote) {
  Result<std::unique_ptr<GgufReader>> reader = Parse(ValidWriter().Build());
  ASSERT_TRUE(reader) << reader.error().message();
  const GgufReader& gguf = **reader;
  EXPECT_EQ(gguf.version(), 3u);
  EXPECT_EQ(gguf.GetString("general.architecture"), "llama");
  EXPECT_EQ(**gguf.GetUint("llama.block_count"), 2u);
  EXPECT_DOUBLE_EQ(**gguf.GetFloat("llama.rope.freq_base"), 10000.0);
  EXPECT_TRUE(**gguf.GetBool("tokenizer.ggml.add_bos_token"));
  const GgufArray* tokens = *gguf.GetArray("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->strings, (std::vector<std::string_view>{"<unk>", "a", "b"}));
  EXPECT_EQ((*gguf.GetArray("tokenizer.ggml.token_type"))->ints, (std::vector<int64_t>{2, 1, 1}));
  EXPECT_EQ((*gguf.GetArray("tokenizer.ggml.scores"))->floats,
            (std::vector<double>{0.0, -1.0, -2.0}));
  ASSERT_EQ(gguf.tensors().size(), 2u);
  const GgufTensor* a = gguf.FindTensor("a.weight");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dims, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(a->n_elements, 8);
  EXPECT_EQ(a->n_bytes, 32u);
  float values[8];
  std::memcpy(values, a->data, sizeof(values));
  EXPECT_EQ(values[7], 8.0f);
  const GgufTensor* b = gguf.FindTensor("b.weight");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->offset % 32, 0u);
  EXPECT_EQ(gguf.FindTensor("missing"), nullptr);
  EXPECT_EQ(gguf.data_offset() % 32, 0u);
}

TEST_F(GgufReaderTest, AcceptsVersion2AndCustomAlignment) {
  Result<std::unique_ptr<GgufReader>> reader =
      Parse(ValidWriter({.version = 2, .alignment = 64}).Build());
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ((*reader)->version(), 2u);
  EXPECT_EQ((*reader)->alignment(), 64u);
  for (const GgufTensor& t : (*reader)->tensors())
    EXPECT_EQ(t.offset % 64, 0u);
}

TEST_F(GgufReaderTest, TypedAccessorsRejectWrongTypes) {
  Result<std::unique_ptr<GgufReader>> reader = Parse(ValidWriter().Build());
  ASSERT_TRUE(reader);
  EXPECT_FALSE((*reader)->GetUint("general.architecture"));
  EXPECT_FALSE((*reader)->GetBool("llama.block_count"));
  EXPECT_FALSE((*reader)->GetArray("llama.block_count"));
  EXPECT_FALSE((*reader)->GetString("llama.block_count").has_value());
  EXPECT_FALSE((*reader)->GetUint("absent.key")->has_value());
}

TEST_F(GgufReaderTest, RejectsTooShortAndBadMagic) {
  ExpectInvalid("", "too short");
  ExpectInvalid("GG", "too short");
  std::string bytes = ValidWriter().Build();
  bytes[0] = 'X';
  ExpectInvalid(bytes, "bad magic");
}

TEST_F(GgufReaderTest, RejectsUnsupportedVersions) {
  std::string bytes = ValidWriter().Build();
  Patch<uint32_t>(bytes, 4, 1);
  ExpectInvalid(bytes, "version 1 is not supported");
  Patch<uint32_t>(bytes, 4, 4);
  ExpectInvalid(bytes, "unsupported GGUF version 4");
  Patch<uint32_t>(bytes, 4, 0x03000000);
  ExpectInvalid(bytes, "big-endian");
}

TEST_F(GgufReaderTest, RejectsCountsTheFileCannotHold) {
  std::string bytes = ValidWriter().Build();
  std::string tensors = bytes;
  Patch<uint64_t>(tensors, 8, uint64_t{1} << 40);
  ExpectInvalid(tensors, "tensor count");
  std::string kvs = bytes;
  Patch<uint64_t>(kvs, 16, ~uint64_t{0});
  ExpectInvalid(kvs, "metadata count");
}

TEST_F(GgufReaderTest, RejectsStringLengthBeyondFile) {
  std::string bytes = ValidWriter().Build();
  Patch<uint64_t>(bytes, 24, uint64_t{1} << 50);  // length of the first key
  ExpectInvalid(bytes, "beyond the end of the file");
}

TEST_F(GgufReaderTest, RejectsInvalidValueTypes) {
  GgufWriter writer;
  writer.AddUint32("k", 7);
  std::string bytes = writer.Build();
  size_t type_at = 24 + 8 + 1;
  Patch<uint32_t>(bytes, type_at, 13);
  ExpectInvalid(bytes, "invalid value type 13");
}

TEST_F(GgufReaderTest, RejectsBadArrays) {
  GgufWriter writer;
  writer.AddInt32Array("k", {1, 2});
  std::string bytes = writer.Build();
  size_t element_type_at = 24 + 8 + 1 + 4;
  std::string bad_type = bytes;
  Patch<uint32_t>(bad_type, element_type_at, 99);
  ExpectInvalid(bad_type, "invalid array element type 99");
  std::string nested = bytes;
  Patch<uint32_t>(nested, element_type_at, 9);
  ExpectInvalid(nested, "nested arrays");
  std::string huge = bytes;
  Patch<uint64_t>(huge, element_type_at + 4, uint64_t{1} << 60);
  ExpectInvalid(huge, "more than the file can hold");
}

TEST_F(GgufReaderTest, RejectsBoolOutsideZeroAndOne) {
  GgufWriter writer;
  writer.AddBool("flag", true);
  std::string bytes = writer.Build();
  bytes[24 + 8 + 4 + 4] = 2;
  ExpectInvalid(bytes, "bool with value 2");
}

TEST_F(GgufReaderTest, RejectsDuplicateKeysAndTensorNames) {
  GgufWriter keys;
  keys.AddUint32("k", 1);
  keys.AddUint32("k", 2);
  ExpectInvalid(keys.Build(), "duplicate metadata key 'k'");
  GgufWriter tensors;
  tensors.AddTensor("t", TensorType::kF32, {1}, Floats({1}));
  tensors.AddTensor("t", TensorType::kF32, {1}, Floats({2}));
  ExpectInvalid(tensors.Build(), "duplicate tensor name 't'");
}

TEST_F(GgufReaderTest, RejectsBadAlignment) {
  GgufWriter not_power(GgufWriter::Options{.alignment = 24});
  ExpectInvalid(not_power.Build(), "power of two");
  GgufWriter wrong_type;
  wrong_type.AddString("general.alignment", "32");
  ExpectInvalid(wrong_type.Build(), "general.alignment");
}

TEST_F(GgufReaderTest, RejectsBadTensorDimensions) {
  ExpectInvalid(OneTensor(Spec("t", 0, {}, "", std::nullopt)), "0 dimensions");
  ExpectInvalid(OneTensor(Spec("t", 0, {1, 1, 1, 1, 1}, "", std::nullopt)), "5 dimensions");
  ExpectInvalid(OneTensor(Spec("t", 0, {4, 0}, "", std::nullopt)), "invalid dimension 1");
  ExpectInvalid(OneTensor(Spec("t", 0, {uint64_t{1} << 40, uint64_t{1} << 40}, "", std::nullopt)),
                "overflows");
  ExpectInvalid(OneTensor(Spec("t", 0, {~uint64_t{0}}, "", std::nullopt)), "invalid dimension 0");
}

TEST_F(GgufReaderTest, RejectsUnknownTypeAndPartialBlocks) {
  ExpectInvalid(OneTensor(Spec("t", 4, {32}, std::string(128, '\0'), std::nullopt)),
                "unknown type 4");
  ExpectInvalid(OneTensor(Spec("t", 2, {33}, std::string(64, '\0'), std::nullopt)),
                "not a multiple of the q4_0 block size 32");
}

TEST_F(GgufReaderTest, RejectsMisalignedOutOfBoundsAndOverlappingTensors) {
  ExpectInvalid(OneTensor(Spec("t", 0, {4}, Floats({1, 2, 3, 4}), 4)), "not aligned");
  ExpectInvalid(OneTensor(Spec("t", 0, {1024}, Floats({1}), std::nullopt)), "beyond the end");
  ExpectInvalid(OneTensor(Spec("t", 0, {4}, Floats({1, 2, 3, 4}), uint64_t{1} << 62)),
                "beyond the end");
  GgufWriter overlap;
  overlap.AddTensor(Spec("a", 0, {16}, std::string(64, '\0'), 0));
  overlap.AddTensor(Spec("b", 0, {16}, std::string(64, '\0'), 32));
  ExpectInvalid(overlap.Build(), "overlap");
}

TEST_F(GgufReaderTest, EveryTruncationFailsCleanly) {
  std::string bytes = ValidWriter().Build();
  for (size_t n = 0; n < bytes.size(); ++n) {
    Result<std::unique_ptr<GgufReader>> reader = Parse(bytes.substr(0, n));
    EXPECT_FALSE(reader) << "prefix of " << n << " bytes was accepted";
  }
}

TEST_F(GgufReaderTest, EverySingleByteCorruptionIsHandled) {
  // Not every flip is detectable (data bytes, names), but none may crash or read out of bounds.
  std::string bytes = ValidWriter().Build();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string corrupt = bytes;
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0xA5);
    Result<std::unique_ptr<GgufReader>> reader = Parse(corrupt);
    if (reader) {
      for (const GgufTensor& t : (*reader)->tensors()) {
        EXPECT_LE(t.offset + t.n_bytes + (*reader)->data_offset(), corrupt.size());
      }
    }
  }
}

TEST_F(GgufReaderTest, OpenMapsFilesAndReportsMissingOnes) {
  testing::TempDir dir;
  std::filesystem::path path = dir.path() / "m.gguf";
  ASSERT_TRUE(ValidWriter().WriteFile(path));
  Result<std::unique_ptr<GgufReader>> reader = GgufReader::Open(path);
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ((*reader)->tensors().size(), 2u);
  Result<std::unique_ptr<GgufReader>> missing = GgufReader::Open(dir.path() / "absent.gguf");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  Result<std::unique_ptr<GgufReader>> directory = GgufReader::Open(dir.path());
  EXPECT_FALSE(directory);
}

TEST_F(GgufReaderTest, OpensTheReferenceModels) {
  std::filesystem::path dir = std::filesystem::path(TANDEM_SHARED_DATA) / "reference";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "shared data absent: " << dir;
  Result<std::unique_ptr<GgufReader>> f32 = GgufReader::Open(dir / "tiny-llama-f32.gguf");
  ASSERT_TRUE(f32) << f32.error().message();
  EXPECT_EQ((*f32)->tensors().size(), 38u);
  EXPECT_EQ((*f32)->GetString("general.architecture"), "llama");
  Result<std::unique_ptr<GgufReader>> q4 = GgufReader::Open(dir / "tiny-llama-q4_0.gguf");
  ASSERT_TRUE(q4) << q4.error().message();
  const GgufTensor* embd = (*q4)->FindTensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->type, TensorType::kQ6_K);
  EXPECT_EQ(embd->dims, (std::vector<int64_t>{256, 32000}));
}

}  // namespace
}  // namespace tandem::engine
