#include "tandem/engine/kernels.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace tandem::engine {
namespace {

using namespace kernels_internal;

float F16ToF32Slow(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits = 0;
  if (exp == 0) {
    float value = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -value : value;
  }
  if (exp == 31) {
    bits = sign | 0x7F800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

const std::array<float, 65536>& F16Table() {
  static const std::array<float, 65536> table = [] {
    std::array<float, 65536> t{};
    for (uint32_t i = 0; i < 65536; ++i)
      t[i] = F16ToF32Slow(static_cast<uint16_t>(i));
    return t;
  }();
  return table;
}

// Round half to even, as the reference engine's vector code does.
inline int NearestInt(float v) {
  return static_cast<int>(std::nearbyint(v));
}

template <typename Block>
const Block* Blocks(const void* p) {
  return static_cast<const Block*>(p);
}

// ---- decoding ----

void DequantQ8_0(const uint8_t* src, float* dst, int64_t n) {
  const BlockQ8_0* b = Blocks<BlockQ8_0>(src);
  for (int64_t i = 0; i < n / 32; ++i) {
    float d = F16ToF32(b[i].d);
    for (int j = 0; j < 32; ++j)
      dst[i * 32 + j] = d * static_cast<float>(b[i].qs[j]);
  }
}

void DequantQ4_0(const uint8_t* src, float* dst, int64_t n) {
  const BlockQ4_0* b = Blocks<BlockQ4_0>(src);
  for (int64_t i = 0; i < n / 32; ++i) {
    float d = F16ToF32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      dst[i * 32 + j] = d * static_cast<float>((b[i].qs[j] & 0x0F) - 8);
      dst[i * 32 + j + 16] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
    }
  }
}

// The 6-bit scale and min of sub-block j of a Q4_K block.
inline void ScaleMinK4(int j, const uint8_t* q, uint8_t& d, uint8_t& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void DequantQ4K(const uint8_t* src, float* dst, int64_t n) {
  const BlockQ4K* b = Blocks<BlockQ4K>(src);
  for (int64_t i = 0; i < n / 256; ++i) {
    float d = F16ToF32(b[i].d);
    float dmin = F16ToF32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    float* y = dst + i * 256;
    for (int j = 0; j < 8; j += 2) {
      uint8_t sc = 0, m = 0;
      ScaleMinK4(j, b[i].scales, sc, m);
      float d1 = d * sc, m1 = dmin * m;
      ScaleMinK4(j + 1, b[i].scales, sc, m);
      float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l)
        *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l)
        *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
      q += 32;
    }
  }
}

// The 256 signed 6-bit values of a Q6_K block, in element order.
inline void UnpackQ6K(const BlockQ6K& b, int8_t* out) {
  const uint8_t* ql = b.ql;
  const uint8_t* qh = b.qh;
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 32; ++l) {
      out[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
      out[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
      out[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      out[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
    out += 128;
    ql += 64;
    qh += 32;
  }
}

void DequantQ6K(const uint8_t* src, float* dst, int64_t n) {
  const BlockQ6K* b = Blocks<BlockQ6K>(src);
  int8_t q[256];
  for (int64_t i = 0; i < n / 256; ++i) {
    float d = F16ToF32(b[i].d);
    UnpackQ6K(b[i], q);
    for (int j = 0; j < 256; ++j) {
      dst[i * 256 + j] = d * static_cast<float>(b[i].scales[j / 16]) * static_cast<float>(q[j]);
    }
  }
}

// ---- portable dot products ----

float DotF32Generic(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i)
    sum += a[i] * b[i];
  return sum;
}

void AddScaledF32Generic(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] += a * x[i];
}

// One block's step of the portable Q8_0 dot.
inline float AccumulateQ8_0(const BlockQ8_0& a, const BlockQ8_0& b, float sum) {
  int sumi = 0;
  for (int j = 0; j < 32; ++j)
    sumi += a.qs[j] * b.qs[j];
  return sum + static_cast<float>(sumi) * (F16ToF32(a.d) * F16ToF32(b.d));
}

float DotQ8_0Generic(const void* w, const void* x, int64_t n) {
  const BlockQ8_0* a = Blocks<BlockQ8_0>(w);
  const BlockQ8_0* b = Blocks<BlockQ8_0>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / 32; ++i)
    sum = AccumulateQ8_0(a[i], b[i], sum);
  return sum;
}

float DotQ4_0Generic(const void* w, const void* x, int64_t n) {
  const BlockQ4_0* a = Blocks<BlockQ4_0>(w);
  const BlockQ8_0* b = Blocks<BlockQ8_0>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / 32; ++i) {
    int sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += ((a[i].qs[j] & 0x0F) - 8) * b[i].qs[j];
      sumi += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
    }
    // Sequential fused accumulation, as the reference engine's interleaved Q4_0 kernels do.
    sum = std::fma(static_cast<float>(sumi), F16ToF32(a[i].d) * F16ToF32(b[i].d), sum);
  }
  return sum;
}

float DotQ4KGeneric(const void* w, const void* x, int64_t n) {
  const BlockQ4K* a = Blocks<BlockQ4K>(w);
  const BlockQ8K* b = Blocks<BlockQ8K>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / 256; ++i) {
    int32_t isum = 0;
    int32_t msum = 0;
    const uint8_t* q4 = a[i].qs;
    const int8_t* q8 = b[i].qs;
    for (int j = 0; j < 8; j += 2) {
      uint8_t sc1 = 0, m1 = 0, sc2 = 0, m2 = 0;
      ScaleMinK4(j, a[i].scales, sc1, m1);
      ScaleMinK4(j + 1, a[i].scales, sc2, m2);
      int32_t s1 = 0, s2 = 0;
      for (int l = 0; l < 32; ++l) {
        s1 += (q4[l] & 0xF) * q8[l];
        s2 += (q4[l] >> 4) * q8[l + 32];
      }
      isum += sc1 * s1 + sc2 * s2;
      msum += m1 * (b[i].bsums[2 * j] + b[i].bsums[2 * j + 1]) +
              m2 * (b[i].bsums[2 * j + 2] + b[i].bsums[2 * j + 3]);
      q4 += 32;
      q8 += 64;
    }
    sum += F16ToF32(a[i].d) * b[i].d * static_cast<float>(isum) -
           F16ToF32(a[i].dmin) * b[i].d * static_cast<float>(msum);
  }
  return sum;
}

float DotQ6KGeneric(const void* w, const void* x, int64_t n) {
  const BlockQ6K* a = Blocks<BlockQ6K>(w);
  const BlockQ8K* b = Blocks<BlockQ8K>(x);
  float sum = 0.0f;
  int8_t q[256];
  for (int64_t i = 0; i < n / 256; ++i) {
    UnpackQ6K(a[i], q);
    int32_t isum = 0;
    for (int g = 0; g < 16; ++g) {
      int32_t s = 0;
      for (int l = 0; l < 16; ++l)
        s += q[g * 16 + l] * b[i].qs[g * 16 + l];
      isum += a[i].scales[g] * s;
    }
    sum += F16ToF32(a[i].d) * b[i].d * static_cast<float>(isum);
  }
  return sum;
}

// Bytes of one plain block of an interleavable type.
size_t InterleavedBlockSize(TensorType type) {
  return type == TensorType::kQ4_0 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0);
}

// The interleaved layout as a map: calls copy(plain_offset, group_offset, bytes) for every piece
// of block `i` of row `slot` (its scale, then each 4-byte slice of quants). Interleave and its
// inverse share it.
template <typename Copy>
void ForEachInterleavedPiece(TensorType type, int slot, int64_t i, Copy copy) {
  const size_t block_size = InterleavedBlockSize(type);
  const size_t column = static_cast<size_t>(i) * 8 * block_size;
  const auto s = static_cast<size_t>(slot);
  copy(static_cast<size_t>(i) * block_size, column + 2 * s, size_t{2});
  for (size_t k = 0; k < (block_size - 2) / 4; ++k)
    copy(static_cast<size_t>(i) * block_size + 2 + 4 * k, column + 16 + 32 * k + 4 * s, size_t{4});
}

// Copies block `i` of row `slot` of an interleaved group back into the plain layout at `out`.
void GatherBlock(TensorType type, const uint8_t* group, int slot, int64_t i, uint8_t* out) {
  const size_t base = static_cast<size_t>(i) * InterleavedBlockSize(type);
  ForEachInterleavedPiece(type, slot, i, [&](size_t plain, size_t packed, size_t bytes) {
    std::memcpy(out + plain - base, group + packed, bytes);
  });
}

}  // namespace

namespace kernels_internal {
void DotInterleavedQ8_0Generic(const uint8_t* group, const uint8_t* x, size_t x_stride,
                               const int32_t* /*sums8*/, size_t /*sums_stride*/, int n_tokens,
                               int64_t n, float* out, size_t out_stride) {
  for (int t = 0; t < n_tokens; ++t) {
    const BlockQ8_0* b = Blocks<BlockQ8_0>(x + static_cast<size_t>(t) * x_stride);
    for (int r = 0; r < 8; ++r) {
      float sum = 0.0f;
      BlockQ8_0 a;
      for (int64_t i = 0; i < n / 32; ++i) {
        GatherBlock(TensorType::kQ8_0, group, r, i, reinterpret_cast<uint8_t*>(&a));
        sum = AccumulateQ8_0(a, b[i], sum);
      }
      out[static_cast<size_t>(t) * out_stride + static_cast<size_t>(r)] = sum;
    }
  }
}

void DotInterleavedQ4_0Generic(const uint8_t* group, const uint8_t* x, size_t x_stride,
                               const int32_t* sums8, size_t sums_stride, int n_tokens, int64_t n,
                               float* out, size_t out_stride) {
  for (int t = 0; t < n_tokens; ++t) {
    const BlockQ8_0* b = Blocks<BlockQ8_0>(x + static_cast<size_t>(t) * x_stride);
    const int32_t* corrections = sums8 + static_cast<size_t>(t) * sums_stride;
    float acc[8] = {};
    for (int64_t i = 0; i < n / 32; ++i) {
      const uint8_t* block = group + static_cast<size_t>(i) * kInterleavedQ4_0BlockBytes;
      const uint8_t* q = block + 16;
      const float dx = F16ToF32(b[i].d);
      for (int r = 0; r < 8; ++r) {
        uint16_t dw;
        std::memcpy(&dw, block + 2 * r, 2);
        int sumi = 0;
        for (int k = 0; k < 4; ++k) {
          for (int j = 0; j < 4; ++j) {
            const uint8_t byte = q[k * 32 + r * 4 + j];
            sumi += (byte & 0x0F) * b[i].qs[4 * k + j] + (byte >> 4) * b[i].qs[16 + 4 * k + j];
          }
        }
        sumi -= corrections[i];
        acc[r] = std::fma(static_cast<float>(sumi), F16ToF32(dw) * dx, acc[r]);
      }
    }
    std::copy(acc, acc + 8, out + static_cast<size_t>(t) * out_stride);
  }
}
}  // namespace kernels_internal

namespace {

DotTable MakeTable() {
  DotTable table;
  table.interleaved_q4_0 = DotInterleavedQ4_0Generic;
  table.interleaved_q8_0 = DotInterleavedQ8_0Generic;
  table.f32 = DotF32Generic;
  table.add_scaled_f32 = AddScaledF32Generic;
  table.q8_0 = DotQ8_0Generic;
  table.q4_0 = DotQ4_0Generic;
  table.q4_k = DotQ4KGeneric;
  table.q6_k = DotQ6KGeneric;
  table.isa = "generic";
  FillAvx2Table(table);
  FillAvx512Table(table);
  return table;
}

const DotTable& Table() {
  static const DotTable table = MakeTable();
  return table;
}

// Activation format for a quantized weight type in native mode: 0 = f32, 1 = Q8_0, 2 = Q8_K.
int ActivationFormat(TensorType type) {
  switch (type) {
    case TensorType::kQ8_0:
    case TensorType::kQ4_0:
      return 1;
    case TensorType::kQ4_K:
    case TensorType::kQ6_K:
      return 2;
    default:
      return 0;
  }
}

size_t QuantizedRowBytes(int format, int64_t n) {
  if (format == 1) return static_cast<size_t>(n / 32) * sizeof(BlockQ8_0);
  if (format == 2) return static_cast<size_t>(n / 256) * sizeof(BlockQ8K);
  return static_cast<size_t>(n) * sizeof(float);
}

}  // namespace

namespace kernels_internal {
void UnpackQ4_0x8(const uint8_t* w, size_t row_bytes, int64_t n, uint8_t* q, float* d) {
  for (int64_t i = 0; i < n / 32; ++i) {
    for (int r = 0; r < 8; ++r) {
      const auto* a =
          reinterpret_cast<const BlockQ4_0*>(w + static_cast<size_t>(r) * row_bytes) + i;
      uint8_t* out = q + (i * 8 + r) * 32;
      for (int j = 0; j < 16; ++j) {
        out[j] = a->qs[j] & 0x0F;
        out[j + 16] = a->qs[j] >> 4;
      }
      d[i * 8 + r] = F16ToF32(a->d);
    }
  }
}
}  // namespace kernels_internal

float F16ToF32(uint16_t h) {
  return F16Table()[h];
}

uint16_t F32ToF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof(x));
  auto sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t abs_bits = x & 0x7FFFFFFF;
  if (abs_bits > 0x7F800000) return static_cast<uint16_t>(sign | 0x7E00);  // NaN
  float a;
  std::memcpy(&a, &abs_bits, sizeof(a));
  if (a >= 65520.0f) return static_cast<uint16_t>(sign | 0x7C00);
  if (a < 6.103515625e-05f) {  // below the smallest normal half: a multiple of 2^-24
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f)));
  }
  uint32_t exp = ((abs_bits >> 23) & 0xFF) - 127 + 15;
  uint32_t mant = abs_bits & 0x7FFFFF;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float Bf16ToF32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

bool IsSupportedWeightType(TensorType type) {
  switch (type) {
    case TensorType::kF32:
    case TensorType::kF16:
    case TensorType::kBF16:
    case TensorType::kQ8_0:
    case TensorType::kQ4_0:
    case TensorType::kQ4_K:
    case TensorType::kQ6_K:
      return true;
    default:
      return false;
  }
}

size_t WeightMatrix::RowBytes() const {
  std::optional<TensorTypeTraits> traits = GetTensorTypeTraits(static_cast<uint32_t>(type));
  return static_cast<size_t>(cols / traits->block_size) * traits->type_size;
}

bool IsInterleavable(TensorType type) {
  return type == TensorType::kQ4_0 || type == TensorType::kQ8_0;
}

void Interleave(const WeightMatrix& w, uint8_t* out) {
  const size_t row_bytes = w.RowBytes();
  const int64_t blocks = w.cols / 32;
  const int64_t full_rows = w.rows / 8 * 8;
  for (int64_t r0 = 0; r0 < full_rows; r0 += 8) {
    uint8_t* group = out + static_cast<size_t>(r0) * row_bytes;
    for (int r = 0; r < 8; ++r) {
      const uint8_t* row = w.Row(r0 + r);
      for (int64_t i = 0; i < blocks; ++i) {
        ForEachInterleavedPiece(w.type, r, i, [&](size_t plain, size_t packed, size_t bytes) {
          std::memcpy(group + packed, row + plain, bytes);
        });
      }
    }
  }
  std::memcpy(out + static_cast<size_t>(full_rows) * row_bytes, w.Row(full_rows),
              static_cast<size_t>(w.rows - full_rows) * row_bytes);
}

void DequantizeMatrixRow(const WeightMatrix& w, int64_t r, float* dst) {
  if (!w.interleaved || r >= w.rows / 8 * 8) {
    DequantizeRow(w.type, w.Row(r), dst, w.cols);
    return;
  }
  const uint8_t* group = w.Row(r / 8 * 8);
  alignas(BlockQ8_0) uint8_t plain[sizeof(BlockQ8_0)];  // the larger of the two block types
  for (int64_t i = 0; i < w.cols / 32; ++i) {
    GatherBlock(w.type, group, static_cast<int>(r % 8), i, plain);
    DequantizeRow(w.type, plain, dst + i * 32, 32);
  }
}

void DequantizeRow(TensorType type, const uint8_t* src, float* dst, int64_t n) {
  switch (type) {
    case TensorType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case TensorType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = F16ToF32(h);
      }
      return;
    case TensorType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = Bf16ToF32(h);
      }
      return;
    case TensorType::kQ8_0:
      DequantQ8_0(src, dst, n);
      return;
    case TensorType::kQ4_0:
      DequantQ4_0(src, dst, n);
      return;
    case TensorType::kQ4_K:
      DequantQ4K(src, dst, n);
      return;
    case TensorType::kQ6_K:
      DequantQ6K(src, dst, n);
      return;
    default:
      return;
  }
}

void QuantizeRowQ8_0(const float* x, uint8_t* out, int64_t n) {
  auto* blocks = reinterpret_cast<BlockQ8_0*>(out);
  for (int64_t i = 0; i < n / 32; ++i) {
    const float* v = x + i * 32;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(v[j]));
    float d = amax / 127.0f;
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    blocks[i].d = F32ToF16(d);
    for (int j = 0; j < 32; ++j)
      blocks[i].qs[j] = static_cast<int8_t>(NearestInt(v[j] * id));
  }
}

void QuantizeRowQ8K(const float* x, uint8_t* out, int64_t n) {
  auto* blocks = reinterpret_cast<BlockQ8K*>(out);
  for (int64_t i = 0; i < n / 256; ++i) {
    const float* v = x + i * 256;
    BlockQ8K& b = blocks[i];
    float max = 0.0f;
    float amax = 0.0f;
    for (int j = 0; j < 256; ++j) {
      float ax = std::fabs(v[j]);
      if (ax > amax) {
        amax = ax;
        max = v[j];
      }
    }
    if (amax == 0.0f) {
      std::memset(&b, 0, sizeof(b));
      continue;
    }
    // Scaled by the signed extreme so that it maps to -127 exactly; the other end may reach 128
    // and is capped.
    float iscale = -127.0f / max;
    for (int j = 0; j < 256; ++j) {
      b.qs[j] = static_cast<int8_t>(std::min(127, NearestInt(iscale * v[j])));
    }
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l)
        sum += b.qs[g * 16 + l];
      b.bsums[g] = static_cast<int16_t>(sum);
    }
    b.d = 1.0f / iscale;
  }
}

float DotGeneric(TensorType type, const uint8_t* w, const uint8_t* x, int64_t n) {
  switch (type) {
    case TensorType::kQ8_0:
      return DotQ8_0Generic(w, x, n);
    case TensorType::kQ4_0:
      return DotQ4_0Generic(w, x, n);
    case TensorType::kQ4_K:
      return DotQ4KGeneric(w, x, n);
    case TensorType::kQ6_K:
      return DotQ6KGeneric(w, x, n);
    case TensorType::kF32:
      return DotF32Generic(reinterpret_cast<const float*>(w), reinterpret_cast<const float*>(x), n);
    default:
      return 0.0f;
  }
}

float DotF32(const float* a, const float* b, int64_t n) {
  return Table().f32(a, b, n);
}

void AddScaledF32(float a, const float* x, float* y, int64_t n) {
  Table().add_scaled_f32(a, x, y, n);
}

float DotDispatched(TensorType type, const uint8_t* w, const uint8_t* x, int64_t n) {
  const DotTable& t = Table();
  switch (type) {
    case TensorType::kQ8_0:
      return t.q8_0(w, x, n);
    case TensorType::kQ4_0:
      return t.q4_0(w, x, n);
    case TensorType::kQ4_K:
      return t.q4_k(w, x, n);
    case TensorType::kQ6_K:
      return t.q6_k(w, x, n);
    case TensorType::kF32:
      return t.f32(reinterpret_cast<const float*>(w), reinterpret_cast<const float*>(x), n);
    default:
      return 0.0f;
  }
}

namespace kernels_internal {
InterleavedFn DispatchedInterleaved(TensorType type) {
  return type == TensorType::kQ4_0 ? Table().interleaved_q4_0 : Table().interleaved_q8_0;
}
InterleavedPairFn DispatchedInterleavedPair(TensorType type) {
  return type == TensorType::kQ4_0 ? Table().interleaved_pair_q4_0 : Table().interleaved_pair_q8_0;
}
}  // namespace kernels_internal

bool MultipliesAsInt8(TensorType type, ComputeMode mode) {
  return mode == ComputeMode::kNative && ActivationFormat(type) != 0;
}

std::string_view KernelIsaName() {
  return Table().isa;
}

int64_t RunInt8MacProbe(int64_t rounds, int32_t* sink) {
  const DotTable& t = Table();
  return t.int8_mac_probe == nullptr ? 0 : t.int8_mac_probe(rounds, sink);
}

namespace {

// MatMul's interleaved path: `xq` holds the n_tokens quantized activation rows (`q_bytes`
// apart), `sums8` their block sums (Q4_0 only); `dot` serves the plain tail rows. Batches go in
// units of 16 rows (two groups) where this CPU has a pair kernel, else of 8.
void MatMulInterleaved(const WeightMatrix& w, const uint8_t* xq, size_t q_bytes,
                       const int32_t* sums8, int64_t n_tokens, float* y, ThreadPool& pool,
                       DotFn dot) {
  const InterleavedFn kernel = DispatchedInterleaved(w.type);
  // One token goes 8 rows at a time: pairs read two streams, and generation with them took
  // 1.06-1.10x as long (AVX-512 machine, alternating runs).
  const InterleavedPairFn pair_kernel = n_tokens > 1 ? DispatchedInterleavedPair(w.type) : nullptr;
  const int64_t rows = w.rows;
  const int64_t grouped_rows = rows / 8 * 8;
  const int64_t n_blocks = w.cols / 32;
  const size_t group_bytes = 8 * w.RowBytes();
  const int64_t unit_rows = pair_kernel != nullptr ? 16 : 8;
  // Calls run(t0, n) for every tile of up to 4 tokens: the rows' weights are read once per tile
  // and stay in cache for the next.
  auto for_each_tile = [&](auto&& run) {
    for (int64_t t0 = 0; t0 < n_tokens; t0 += 4)
      run(t0, static_cast<int>(std::min<int64_t>(4, n_tokens - t0)));
  };
  auto tile_sums = [&](int64_t t0) { return sums8 == nullptr ? nullptr : sums8 + t0 * n_blocks; };
  pool.ParallelFor((rows + unit_rows - 1) / unit_rows, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      int64_t r0 = u * unit_rows;
      const int64_t unit_end = std::min(rows, r0 + unit_rows);
      if (pair_kernel != nullptr && r0 + 16 <= grouped_rows) {
        for_each_tile([&](int64_t t0, int n) {
          pair_kernel(w.Row(r0), group_bytes, xq + static_cast<size_t>(t0) * q_bytes, q_bytes,
                      tile_sums(t0), static_cast<size_t>(n_blocks), n, w.cols, y + t0 * rows + r0,
                      static_cast<size_t>(rows));
        });
        continue;
      }
      for (; r0 + 8 <= std::min(unit_end, grouped_rows); r0 += 8) {
        for_each_tile([&](int64_t t0, int n) {
          kernel(w.Row(r0), xq + static_cast<size_t>(t0) * q_bytes, q_bytes, tile_sums(t0),
                 static_cast<size_t>(n_blocks), n, w.cols, y + t0 * rows + r0,
                 static_cast<size_t>(rows));
        });
      }
      for (int64_t r = r0; r < unit_end; ++r) {
        for (int64_t t = 0; t < n_tokens; ++t)
          y[t * rows + r] = dot(w.Row(r), xq + static_cast<size_t>(t) * q_bytes, w.cols);
      }
    }
  });
}

}  // namespace

void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            ComputeMode mode, std::vector<uint8_t>& scratch) {
  const DotTable& table = Table();
  int format = mode == ComputeMode::kNative ? ActivationFormat(w.type) : 0;
  const int64_t cols = w.cols;
  const int64_t rows = w.rows;
  if (format == 0 && w.type == TensorType::kF32) {
    pool.ParallelFor(rows, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const auto* row = reinterpret_cast<const float*>(w.Row(r));
        for (int64_t t = 0; t < n_tokens; ++t)
          y[t * rows + r] = table.f32(row, x + t * cols, cols);
      }
    });
    return;
  }
  if (format == 0) {
    // Decode each weight row once, then reuse it for every token.
    pool.ParallelFor(rows, [&](int64_t begin, int64_t end) {
      std::vector<float> decoded(static_cast<size_t>(cols));
      for (int64_t r = begin; r < end; ++r) {
        DequantizeMatrixRow(w, r, decoded.data());
        for (int64_t t = 0; t < n_tokens; ++t) {
          y[t * rows + r] = table.f32(decoded.data(), x + t * cols, cols);
        }
      }
    });
    return;
  }
  size_t q_bytes = QuantizedRowBytes(format, cols);
  scratch.resize(q_bytes * static_cast<size_t>(n_tokens));
  const bool interleaved = w.interleaved && IsInterleavable(w.type);
  const bool need_sums = interleaved && w.type == TensorType::kQ4_0;
  const int64_t n_blocks = cols / 32;
  // 8 x the quant sum of every activation block (interleaved Q4_0 only); kept per thread so
  // that steady-state calls allocate nothing.
  thread_local std::vector<int32_t> block_sums;
  if (need_sums) block_sums.resize(static_cast<size_t>(n_tokens * n_blocks));
  int32_t* sums8 = need_sums ? block_sums.data() : nullptr;
  pool.ParallelFor(n_tokens, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      uint8_t* out = scratch.data() + static_cast<size_t>(t) * q_bytes;
      if (format == 1) {
        QuantizeRowQ8_0(x + t * cols, out, cols);
      } else {
        QuantizeRowQ8K(x + t * cols, out, cols);
      }
      if (need_sums) {
        const auto* blocks = reinterpret_cast<const BlockQ8_0*>(out);
        for (int64_t i = 0; i < n_blocks; ++i) {
          int32_t sum = 0;
          for (int8_t q : blocks[i].qs)
            sum += q;
          sums8[t * n_blocks + i] = 8 * sum;
        }
      }
    }
  });
  const DotFn dot = w.type == TensorType::kQ8_0   ? table.q8_0
                    : w.type == TensorType::kQ4_0 ? table.q4_0
                    : w.type == TensorType::kQ4_K ? table.q4_k
                                                  : table.q6_k;
  if (interleaved) {
    MatMulInterleaved(w, scratch.data(), q_bytes, sums8, n_tokens, y, pool, dot);
    return;
  }
  const size_t row_bytes = w.RowBytes();
  Dot8Fn dot8 = w.type == TensorType::kQ8_0   ? table.q8_0_x8
                : w.type == TensorType::kQ4_0 ? table.q4_0_x8
                                              : nullptr;
  const uint8_t* xq = scratch.data();
  // Rows go in groups of 8 so that a multi-row kernel can share each activation block.
  const int64_t groups = (rows + 7) / 8;
  // With several tokens, 4-bit rows are unpacked once per group and reused for every token.
  const bool unpack =
      w.type == TensorType::kQ4_0 && table.packed_q4_0_x8 != nullptr && n_tokens >= 4;
  pool.ParallelFor(groups, [&](int64_t begin, int64_t end) {
    float out[8];
    std::vector<uint8_t> unpacked(unpack ? static_cast<size_t>(cols) * 8 : 0);
    std::vector<float> scales(unpack ? static_cast<size_t>(cols / 32) * 8 : 0);
    for (int64_t g = begin; g < end; ++g) {
      const int64_t r0 = g * 8;
      const int64_t n_rows = std::min<int64_t>(8, rows - r0);
      if (unpack && n_rows == 8) {
        UnpackQ4_0x8(w.Row(r0), row_bytes, cols, unpacked.data(), scales.data());
        for (int64_t t = 0; t < n_tokens; ++t) {
          table.packed_q4_0_x8(unpacked.data(), scales.data(),
                               xq + static_cast<size_t>(t) * q_bytes, cols, out);
          std::copy(out, out + 8, y + t * rows + r0);
        }
        continue;
      }
      int64_t t = 0;
      if (w.type == TensorType::kQ8_0 && table.q8_0_x8x2 != nullptr && n_rows == 8) {
        // Token pairs share each weight block load.
        for (; t + 2 <= n_tokens; t += 2) {
          table.q8_0_x8x2(w.Row(r0), row_bytes, xq + static_cast<size_t>(t) * q_bytes, q_bytes,
                          cols, y + t * rows + r0, static_cast<size_t>(rows));
        }
      }
      for (; t < n_tokens; ++t) {
        const uint8_t* xt = xq + static_cast<size_t>(t) * q_bytes;
        float* yt = y + t * rows + r0;
        if (dot8 != nullptr && n_rows == 8) {
          dot8(w.Row(r0), row_bytes, xt, cols, out);
          std::copy(out, out + 8, yt);
        } else {
          for (int64_t r = 0; r < n_rows; ++r)
            yt[r] = dot(w.Row(r0 + r), xt, cols);
        }
      }
    }
  });
}

}  // namespace tandem::engine
