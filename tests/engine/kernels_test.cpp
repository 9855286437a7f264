#include "tandem/engine/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

namespace tandem::engine {
namespace {

std::vector<float> RandomFloats(size_t n, uint32_t seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v)
    x = normal(rng);
  return v;
}

// Random weight rows in `type`'s layout with finite scales.
std::vector<uint8_t> RandomRows(TensorType type, int64_t rows, int64_t cols, uint32_t seed) {
  WeightMatrix m{type, nullptr, rows, cols};
  std::vector<uint8_t> bytes(m.RowBytes() * static_cast<size_t>(rows));
  std::mt19937 rng(seed);
  for (uint8_t& b : bytes)
    b = static_cast<uint8_t>(rng());
  auto set_half = [&](size_t at, float v) {
    uint16_t h = F32ToF16(v);
    std::memcpy(bytes.data() + at, &h, 2);
  };
  std::optional<TensorTypeTraits> traits = GetTensorTypeTraits(static_cast<uint32_t>(type));
  for (size_t off = 0; off + traits->type_size <= bytes.size(); off += traits->type_size) {
    switch (type) {
      case TensorType::kQ8_0:
      case TensorType::kQ4_0:
        set_half(off, 0.01f);
        break;
      case TensorType::kQ4_K:
        set_half(off, 0.002f);
        set_half(off + 2, 0.001f);
        break;
      case TensorType::kQ6_K:
        set_half(off + 208, 0.003f);
        break;
      default:
        break;
    }
  }
  return bytes;
}

std::vector<uint8_t> QuantizeActivations(TensorType weight_type, const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size());
  bool k_quant = weight_type == TensorType::kQ4_K || weight_type == TensorType::kQ6_K;
  std::vector<uint8_t> q(k_quant ? static_cast<size_t>(n / 256) * 292
                                 : static_cast<size_t>(n / 32) * 34);
  if (k_quant) {
    QuantizeRowQ8K(x.data(), q.data(), n);
  } else {
    QuantizeRowQ8_0(x.data(), q.data(), n);
  }
  return q;
}

TEST(HalfTest, EveryFiniteHalfRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    if ((h & 0x7C00) == 0x7C00) continue;  // inf and NaN
    auto half = static_cast<uint16_t>(h);
    EXPECT_EQ(F32ToF16(F16ToF32(half)), half) << h;
  }
}

TEST(HalfTest, RoundsToNearestEvenAndSaturatesToInfinity) {
  EXPECT_EQ(F32ToF16(1.0f), 0x3C00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xC000);
  EXPECT_EQ(F32ToF16(1.0f + 0x1.0p-11f), 0x3C00);      // tie, stays even
  EXPECT_EQ(F32ToF16(1.0f + 3 * 0x1.0p-11f), 0x3C02);  // tie, rounds up to even
  EXPECT_EQ(F32ToF16(65520.0f), 0x7C00);
  EXPECT_EQ(F32ToF16(1e-9f), 0x0000);
  EXPECT_EQ(F16ToF32(0x0001), 0x1.0p-24f);
  EXPECT_EQ(Bf16ToF32(0x3F80), 1.0f);
}

TEST(QuantizeTest, Q8KMapsTheSignedExtremeToMinus127) {
  std::vector<float> x = RandomFloats(256, 1);
  x[17] = -9.0f;
  std::vector<uint8_t> q(292);
  QuantizeRowQ8K(x.data(), q.data(), 256);
  kernels_internal::BlockQ8K block;
  std::memcpy(&block, q.data(), sizeof(block));
  EXPECT_EQ(block.qs[17], -127);
  EXPECT_NEAR(block.d, 9.0f / 127.0f, 1e-7f);
  int sum = 0;
  for (int i = 0; i < 16; ++i)
    sum += block.qs[i];
  EXPECT_EQ(block.bsums[0], sum);
}

TEST(QuantizeTest, Q8_0ZeroBlockStaysZero) {
  std::vector<float> x(32, 0.0f);
  std::vector<uint8_t> q(34, 0xFF);
  QuantizeRowQ8_0(x.data(), q.data(), 32);
  for (size_t i = 0; i < q.size(); ++i)
    EXPECT_EQ(q[i], 0) << i;
}

class DotTest : public ::testing::TestWithParam<TensorType> {};

TEST_P(DotTest, DispatchedMatchesPortableCode) {
  TensorType type = GetParam();
  const int64_t n = 1024;
  std::vector<uint8_t> w = RandomRows(type, 1, n, 5);
  std::vector<uint8_t> x = QuantizeActivations(type, RandomFloats(n, 6));
  float generic = DotGeneric(type, w.data(), x.data(), n);
  float simd = DotDispatched(type, w.data(), x.data(), n);
  EXPECT_NEAR(simd, generic, 1e-5f * std::max(1.0f, std::fabs(generic)));
}

TEST_P(DotTest, QuantizedDotApproximatesTheDecodedFloatDot) {
  TensorType type = GetParam();
  const int64_t n = 512;
  std::vector<uint8_t> w = RandomRows(type, 1, n, 9);
  std::vector<float> x = RandomFloats(n, 10);
  std::vector<float> decoded(n);
  DequantizeRow(type, w.data(), decoded.data(), n);
  double exact = 0;
  double magnitude = 0;
  for (int64_t i = 0; i < n; ++i) {
    exact += static_cast<double>(decoded[i]) * x[i];
    magnitude += std::fabs(static_cast<double>(decoded[i]) * x[i]);
  }
  float quantized = DotDispatched(type, w.data(), QuantizeActivations(type, x).data(), n);
  // 8-bit activations: error well under 1% of the sum of magnitudes.
  EXPECT_NEAR(quantized, exact, 0.01 * magnitude);
}

TEST_P(DotTest, MatMulIsIdenticalWithOneOrTwoThreadsAndAcrossBatchSizes) {
  TensorType type = GetParam();
  const int64_t rows = 37;  // not a multiple of 8: exercises the single-row tail
  const int64_t cols = 512;
  std::vector<uint8_t> w = RandomRows(type, rows, cols, 11);
  WeightMatrix m{type, w.data(), rows, cols};
  std::vector<float> x = RandomFloats(static_cast<size_t>(3 * cols), 12);
  std::vector<float> y1(3 * rows), y2(3 * rows), y_single(rows);
  std::vector<uint8_t> scratch;
  ThreadPool one(1), two(2);
  MatMul(m, x.data(), 3, y1.data(), one, ComputeMode::kNative, scratch);
  MatMul(m, x.data(), 3, y2.data(), two, ComputeMode::kNative, scratch);
  EXPECT_EQ(y1, y2);
  MatMul(m, x.data() + cols, 1, y_single.data(), two, ComputeMode::kNative, scratch);
  for (int64_t r = 0; r < rows; ++r)
    EXPECT_EQ(y_single[r], y1[rows + r]) << r;
  // The multi-row kernels give exactly the single-row dot of every row.
  std::vector<uint8_t> x1 =
      QuantizeActivations(type, std::vector<float>(x.begin() + cols, x.begin() + 2 * cols));
  for (int64_t r = 0; r < rows; ++r)
    EXPECT_EQ(y_single[r], DotDispatched(type, m.Row(r), x1.data(), cols)) << r;
  // Float mode: decoded weights times f32 activations, close to native.
  std::vector<float> yf(3 * rows);
  MatMul(m, x.data(), 3, yf.data(), two, ComputeMode::kFloat, scratch);
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t t = 0; t < 3; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      DequantizeRow(type, m.Row(r), row.data(), cols);
      double magnitude = 0;
      for (int64_t c = 0; c < cols; ++c)
        magnitude += std::fabs(row[c] * x[t * cols + c]);
      EXPECT_NEAR(yf[t * rows + r], y1[t * rows + r], 0.01 * magnitude);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, DotTest,
                         ::testing::Values(TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ4_K,
                                           TensorType::kQ6_K),
                         [](const ::testing::TestParamInfo<TensorType>& param_info) {
                           return std::string(TensorTypeName(param_info.param));
                         });

// The interleaved layout (what Model::Load gives Q4_0 and Q8_0 matrices) must give exactly the
// plain layout's results: same integers, same float accumulation. Random bytes put -128 among
// the Q8_0 quants too (a value quantizers never write, but a file may hold).
class InterleavedTest : public ::testing::TestWithParam<TensorType> {};

// Every batch size the kernels tile (1 to 4 tokens and a remainder), with a plain tail of rows.
TEST_P(InterleavedTest, MatMulMatchesThePlainLayoutExactly) {
  const TensorType type = GetParam();
  const int64_t rows = 29;  // 3 interleaved groups and 5 plain tail rows
  const int64_t cols = 256;
  std::vector<uint8_t> w = RandomRows(type, rows, cols, 21);
  WeightMatrix plain{type, w.data(), rows, cols};
  std::vector<uint8_t> packed(w.size());
  Interleave(plain, packed.data());
  WeightMatrix interleaved{type, packed.data(), rows, cols, true};
  std::vector<uint8_t> scratch;
  ThreadPool two(2);
  for (int64_t n_tokens : {1, 2, 3, 4, 7}) {
    std::vector<float> x = RandomFloats(static_cast<size_t>(n_tokens * cols), 22);
    std::vector<float> expected(static_cast<size_t>(n_tokens * rows));
    std::vector<float> actual(expected.size());
    MatMul(plain, x.data(), n_tokens, expected.data(), two, ComputeMode::kNative, scratch);
    MatMul(interleaved, x.data(), n_tokens, actual.data(), two, ComputeMode::kNative, scratch);
    EXPECT_EQ(actual, expected) << n_tokens << " tokens";
    MatMul(interleaved, x.data(), n_tokens, actual.data(), two, ComputeMode::kFloat, scratch);
    MatMul(plain, x.data(), n_tokens, expected.data(), two, ComputeMode::kFloat, scratch);
    EXPECT_EQ(actual, expected) << n_tokens << " tokens, float mode";
  }
  std::vector<float> a(static_cast<size_t>(cols)), b(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    DequantizeMatrixRow(interleaved, r, a.data());
    DequantizeRow(type, plain.Row(r), b.data(), cols);
    EXPECT_EQ(a, b) << "row " << r;
  }
}

// Four tokens of activations quantized as MatMul quantizes them, with their block sums.
struct QuantizedTokens {
  size_t row_bytes = 0;  // bytes of one token's quantized row
  std::vector<uint8_t> rows;
  std::vector<int32_t> sums8;  // 8 x the quant sum of every block, token-major
};

QuantizedTokens QuantizeFourTokens(int64_t cols) {
  const int64_t n_blocks = cols / 32;
  QuantizedTokens q;
  q.row_bytes = static_cast<size_t>(n_blocks) * 34;
  q.rows.resize(4 * q.row_bytes);
  q.sums8.resize(static_cast<size_t>(4 * n_blocks));
  for (int t = 0; t < 4; ++t) {
    QuantizeRowQ8_0(RandomFloats(static_cast<size_t>(cols), 32 + t).data(),
                    q.rows.data() + t * q.row_bytes, cols);
    const auto* blocks =
        reinterpret_cast<const kernels_internal::BlockQ8_0*>(q.rows.data() + t * q.row_bytes);
    for (int64_t i = 0; i < n_blocks; ++i) {
      int32_t sum = 0;
      for (int8_t v : blocks[i].qs)
        sum += v;
      q.sums8[static_cast<size_t>(t * n_blocks + i)] = 8 * sum;
    }
  }
  return q;
}

// `rows` random rows of `type` in both layouts.
struct BothLayouts {
  std::vector<uint8_t> plain;
  std::vector<uint8_t> interleaved;
  size_t row_bytes = 0;
};

BothLayouts RandomInterleavedRows(TensorType type, int64_t rows, int64_t cols, uint32_t seed) {
  BothLayouts m;
  m.plain = RandomRows(type, rows, cols, seed);
  m.row_bytes = m.plain.size() / static_cast<size_t>(rows);
  m.interleaved.resize(m.plain.size());
  Interleave({type, m.plain.data(), rows, cols}, m.interleaved.data());
  return m;
}

// The portable group kernel against the portable row dot, and the one this CPU runs against
// this CPU's row dot (for Q8_0 the two differ in summation order, so each has its own match).
TEST_P(InterleavedTest, GroupKernelsMatchTheRowDotsOfTheirInstructionSet) {
  const TensorType type = GetParam();
  const int64_t cols = 512;
  const int64_t n_blocks = cols / 32;
  const BothLayouts w = RandomInterleavedRows(type, 8, cols, 31);
  const QuantizedTokens x = QuantizeFourTokens(cols);
  const int32_t* sums8 = type == TensorType::kQ4_0 ? x.sums8.data() : nullptr;
  const kernels_internal::InterleavedFn generic_kernel =
      type == TensorType::kQ4_0 ? kernels_internal::DotInterleavedQ4_0Generic
                                : kernels_internal::DotInterleavedQ8_0Generic;
  for (int n_tokens = 1; n_tokens <= 4; ++n_tokens) {
    std::vector<float> generic(32), fast(32);
    generic_kernel(w.interleaved.data(), x.rows.data(), x.row_bytes, sums8,
                   static_cast<size_t>(n_blocks), n_tokens, cols, generic.data(), 8);
    kernels_internal::DispatchedInterleaved(type)(w.interleaved.data(), x.rows.data(), x.row_bytes,
                                                  sums8, static_cast<size_t>(n_blocks), n_tokens,
                                                  cols, fast.data(), 8);
    for (int t = 0; t < n_tokens; ++t) {
      for (int r = 0; r < 8; ++r) {
        const uint8_t* row = w.plain.data() + r * w.row_bytes;
        const uint8_t* xt = x.rows.data() + t * x.row_bytes;
        EXPECT_EQ(generic[t * 8 + r], DotGeneric(type, row, xt, cols)) << t << "," << r;
        EXPECT_EQ(fast[t * 8 + r], DotDispatched(type, row, xt, cols)) << t << "," << r;
      }
    }
  }
}

// Where this CPU has a kernel for two groups at once, each of its 16 rows gives exactly this
// CPU's row dot, for every batch size.
TEST_P(InterleavedTest, PairKernelMatchesTheRowDotsOfThisCpu) {
  const TensorType type = GetParam();
  const kernels_internal::InterleavedPairFn pair_kernel =
      kernels_internal::DispatchedInterleavedPair(type);
  if (pair_kernel == nullptr) GTEST_SKIP() << "no pair kernel with " << KernelIsaName();
  const int64_t cols = 512;
  const int64_t n_blocks = cols / 32;
  const BothLayouts w = RandomInterleavedRows(type, 16, cols, 41);
  const QuantizedTokens x = QuantizeFourTokens(cols);
  const int32_t* sums8 = type == TensorType::kQ4_0 ? x.sums8.data() : nullptr;
  for (int n_tokens = 1; n_tokens <= 4; ++n_tokens) {
    std::vector<float> out(4 * 16);
    pair_kernel(w.interleaved.data(), 8 * w.row_bytes, x.rows.data(), x.row_bytes, sums8,
                static_cast<size_t>(n_blocks), n_tokens, cols, out.data(), 16);
    for (int t = 0; t < n_tokens; ++t) {
      for (int r = 0; r < 16; ++r) {
        const uint8_t* xt = x.rows.data() + t * x.row_bytes;
        EXPECT_EQ(out[t * 16 + r], DotDispatched(type, w.plain.data() + r * w.row_bytes, xt, cols))
            << t << "," << r;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, InterleavedTest,
                         ::testing::Values(TensorType::kQ4_0, TensorType::kQ8_0),
                         [](const ::testing::TestParamInfo<TensorType>& param_info) {
                           return std::string(TensorTypeName(param_info.param));
                         });

TEST(DequantizeTest, DecodesKnownBlocks) {
  kernels_internal::BlockQ4_0 q4{};
  q4.d = F32ToF16(0.5f);
  q4.qs[0] = 0x9F;  // element 0: 15 - 8 = 7; element 16: 9 - 8 = 1
  float out[32];
  DequantizeRow(TensorType::kQ4_0, reinterpret_cast<const uint8_t*>(&q4), out, 32);
  EXPECT_EQ(out[0], 3.5f);
  EXPECT_EQ(out[16], 0.5f);
  EXPECT_EQ(out[1], -4.0f);
  kernels_internal::BlockQ8_0 q8{};
  q8.d = F32ToF16(0.25f);
  q8.qs[3] = -8;
  DequantizeRow(TensorType::kQ8_0, reinterpret_cast<const uint8_t*>(&q8), out, 32);
  EXPECT_EQ(out[3], -2.0f);
  EXPECT_EQ(out[4], 0.0f);
}

// Attention's value sums: the dispatched kernel rounds each product and each sum as the portable
// loop does (lengths with and without a tail past the vector width).
TEST(AttentionKernelTest, AddScaledIsIdenticalToThePortableLoop) {
  for (int64_t n : {64, 70, 5}) {
    std::vector<float> x = RandomFloats(static_cast<size_t>(n), 7);
    std::vector<float> y = RandomFloats(static_cast<size_t>(n), 8);
    std::vector<float> expected = y;
    const float a = 0.3183099f;
    for (size_t i = 0; i < expected.size(); ++i)
      expected[i] += a * x[i];
    AddScaledF32(a, x.data(), y.data(), n);
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_EQ(y[i], expected[i]) << "n " << n << " element " << i;
  }
}

TEST(AttentionKernelTest, DotF32MatchesADoubleSum) {
  for (int64_t n : {64, 128, 37}) {
    std::vector<float> a = RandomFloats(static_cast<size_t>(n), 9);
    std::vector<float> b = RandomFloats(static_cast<size_t>(n), 10);
    double expected = 0.0;
    for (size_t i = 0; i < a.size(); ++i)
      expected += static_cast<double>(a[i]) * b[i];
    EXPECT_NEAR(DotF32(a.data(), b.data(), n), expected, 1e-4 * std::sqrt(n)) << "n " << n;
  }
}

TEST(Int8MacProbeTest, DoesTheMultiplyAddsItCounts) {
  int32_t sink = -1;
  const int64_t macs = RunInt8MacProbe(10, &sink);
  if (KernelIsaName() == "generic") {
    EXPECT_EQ(macs, 0);
    return;
  }
  EXPECT_GT(macs, 0);
  EXPECT_EQ(macs % 10, 0);  // the same count every round
  EXPECT_EQ(sink, 3 * macs);
  EXPECT_EQ(RunInt8MacProbe(20, &sink), 2 * macs);
  EXPECT_EQ(sink, 6 * macs);
}

}  // namespace
}  // namespace tandem::engine
