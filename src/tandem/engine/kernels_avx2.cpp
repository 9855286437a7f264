// AVX2 + FMA dot products, compiled for that target only and selected at run time.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "tandem/engine/kernels.h"

namespace tandem::engine::kernels_internal {
namespace {

#define TANDEM_AVX2 __attribute__((target("avx2,fma,f16c")))

TANDEM_AVX2 inline float HorizontalSum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

TANDEM_AVX2 inline int32_t HorizontalSumI32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

TANDEM_AVX2 inline float Half(uint16_t h) {
  return _cvtsh_ss(h);
}

TANDEM_AVX2 float DotF32(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  float sum = HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i)
    sum += a[i] * b[i];
  return sum;
}

// A multiply, then an add, rounded separately as in the portable loop: the empty asm keeps the
// compiler from fusing them (a fused multiply-add rounds once, and that alone moved a quantized
// reference model's greedy path: the next layer quantizes these sums to 8 bits).
TANDEM_AVX2 void AddScaledF32(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 product = _mm256_mul_ps(va, _mm256_loadu_ps(x + i));
    asm("" : "+x"(product));
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), product));
  }
  for (; i < n; ++i) {
    float product = a * x[i];
    asm("" : "+x"(product));
    y[i] += product;
  }
}

// Sum of products of signed bytes, as 8 int32 lanes converted to float.
TANDEM_AVX2 inline __m256 DotBytes(__m256i x, __m256i y) {
  __m256i ax = _mm256_sign_epi8(x, x);
  __m256i sy = _mm256_sign_epi8(y, x);
  __m256i pairs = _mm256_maddubs_epi16(ax, sy);
  __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
  return _mm256_cvtepi32_ps(quads);
}

TANDEM_AVX2 float DotQ8_0(const void* w, const void* x, int64_t n) {
  const auto* a = static_cast<const BlockQ8_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    __m256 d = _mm256_set1_ps(Half(a[i].d) * Half(b[i].d));
    __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs));
    __m256i qb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs));
    acc = _mm256_fmadd_ps(d, DotBytes(qa, qb), acc);
  }
  return HorizontalSum(acc);
}

// Q4_0 weights are accumulated block by block as acc = fma(block_sum, d_w * d_x, acc), the order
// the reference engine's interleaved Q4_0 kernels use, so that 8-bit activation roundings
// downstream agree with it.
TANDEM_AVX2 float DotQ4_0(const void* w, const void* x, int64_t n) {
  const auto* a = static_cast<const BlockQ4_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  const __m256i eight = _mm256_set1_epi8(8);
  const __m256i ones = _mm256_set1_epi16(1);
  float acc = 0.0f;
  for (int64_t i = 0; i < n / 32; ++i) {
    __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[i].qs));
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
    __m256i qa = _mm256_sub_epi8(_mm256_and_si256(both, low_mask), eight);
    __m256i qb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs));
    __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(qa, qa), _mm256_sign_epi8(qb, qa));
    __m256i quads = _mm256_madd_epi16(pairs, ones);
    acc = std::fma(static_cast<float>(HorizontalSumI32(quads)), Half(a[i].d) * Half(b[i].d), acc);
  }
  return acc;
}

// Sums each of the 8 vectors' int32 lanes: lane r of the result is the sum of v[r].
TANDEM_AVX2 inline __m256i ReduceRows8(const __m256i* v) {
  __m256i s01 = _mm256_hadd_epi32(v[0], v[1]);
  __m256i s23 = _mm256_hadd_epi32(v[2], v[3]);
  __m256i s45 = _mm256_hadd_epi32(v[4], v[5]);
  __m256i s67 = _mm256_hadd_epi32(v[6], v[7]);
  __m256i s0123 = _mm256_hadd_epi32(s01, s23);
  __m256i s4567 = _mm256_hadd_epi32(s45, s67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(s0123, s4567, 0x20),
                          _mm256_permute2x128_si256(s0123, s4567, 0x31));
}

// Eight Q4_0 rows at once: per block, the rows' integer sums land in one vector and are
// accumulated as acc = fma(sum, d_w * d_x, acc) — the same arithmetic as DotQ4_0, per row.
// The nibbles are used unsigned (0..15) and 8 x (sum of the activation block) is subtracted
// afterwards, which gives the same integers with fewer instructions.
TANDEM_AVX2 void DotQ4_0x8(const uint8_t* w, size_t row_bytes, const void* x, int64_t n,
                           float* out) {
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i shifts = _mm256_setr_epi64x(0, 0, 4, 4);
  const __m256i eights = _mm256_set1_epi8(8);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    const __m256i qb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs));
    // 8 x sum(qb), spread over 8 lanes; subtracted from every row's lanes.
    const __m256i correction = _mm256_madd_epi16(_mm256_maddubs_epi16(eights, qb), ones);
    __m256i v[8];
    for (int r = 0; r < 8; ++r) {
      const auto* a = reinterpret_cast<const BlockQ4_0*>(w + r * row_bytes) + i;
      const __m256i both =
          _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a->qs)));
      const __m256i qa = _mm256_and_si256(_mm256_srlv_epi64(both, shifts), low_mask);
      v[r] = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(qa, qb), ones), correction);
    }
    // Built in registers: a vector load of just-stored scalars would stall on store forwarding.
    auto d_of = [&](int r) {
      return static_cast<short>(
          (reinterpret_cast<const BlockQ4_0*>(w + static_cast<size_t>(r) * row_bytes) + i)->d);
    };
    const __m256 dw = _mm256_cvtph_ps(
        _mm_setr_epi16(d_of(0), d_of(1), d_of(2), d_of(3), d_of(4), d_of(5), d_of(6), d_of(7)));
    const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(Half(b[i].d)));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ReduceRows8(v)), scale, acc);
  }
  _mm256_storeu_ps(out, acc);
}

// DotQ4_0x8 on rows already unpacked by UnpackQ4_0x8: identical arithmetic, fewer instructions.
TANDEM_AVX2 void DotPackedQ4_0x8(const uint8_t* q, const float* d, const void* x, int64_t n,
                                 float* out) {
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i eights = _mm256_set1_epi8(8);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    const __m256i qb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs));
    const __m256i correction = _mm256_madd_epi16(_mm256_maddubs_epi16(eights, qb), ones);
    __m256i v[8];
    for (int r = 0; r < 8; ++r) {
      const __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + (i * 8 + r) * 32));
      v[r] = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(qa, qb), ones), correction);
    }
    const __m256 scale = _mm256_mul_ps(_mm256_loadu_ps(d + i * 8), _mm256_set1_ps(Half(b[i].d)));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ReduceRows8(v)), scale, acc);
  }
  _mm256_storeu_ps(out, acc);
}

TANDEM_AVX2 inline __m256i Broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}

// One interleaved group of 8 Q4_0 rows (InterleaveQ4_0) times kTokens activation rows. Each
// 32-byte slice holds 4 bytes of each row, so maddubs against 4 broadcast activation bytes leaves
// row r's partial sums in 32-bit lane r: no horizontal reductions. The 8 maddubs results of a
// block are summed as int16 (at most 8 x 2 x 15 x 127 = 30480 per lane, no overflow), widened
// once, and 8 x (activation block sum) is subtracted for the nibble offset: the same exact
// integers as DotQ4_0x8, then the same fma per block, so the results are identical.
template <int kTokens>
TANDEM_AVX2 void InterleavedQ4_0Tile(const uint8_t* group, const uint8_t* x, size_t x_stride,
                                     const int32_t* sums8, size_t sums_stride, int64_t n,
                                     float* out, size_t out_stride) {
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kTokens];
  for (int t = 0; t < kTokens; ++t)
    acc[t] = _mm256_setzero_ps();
  const int64_t n_blocks = n / 32;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const uint8_t* block = group + static_cast<size_t>(i) * kInterleavedQ4_0BlockBytes;
    PrefetchAhead(block, kInterleavedQ4_0BlockBytes);
    // Every per-token loop is unrolled so that s16 and acc live in registers (GCC -O2 leaves
    // these short loops rolled, and the arrays on the stack).
    const BlockQ8_0* xb[kTokens];
#pragma GCC unroll 4
    for (int t = 0; t < kTokens; ++t)
      xb[t] = reinterpret_cast<const BlockQ8_0*>(x + static_cast<size_t>(t) * x_stride) + i;
    __m256i s16[kTokens];
#pragma GCC unroll 4
    for (int t = 0; t < kTokens; ++t)
      s16[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m256i packed =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 16 + 32 * k));
      const __m256i lo = _mm256_and_si256(packed, low_mask);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask);
#pragma GCC unroll 4
      for (int t = 0; t < kTokens; ++t) {
        s16[t] = _mm256_add_epi16(s16[t], _mm256_maddubs_epi16(lo, Broadcast4(xb[t]->qs + 4 * k)));
        s16[t] =
            _mm256_add_epi16(s16[t], _mm256_maddubs_epi16(hi, Broadcast4(xb[t]->qs + 16 + 4 * k)));
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block)));
#pragma GCC unroll 4
    for (int t = 0; t < kTokens; ++t) {
      const __m256i s32 = _mm256_sub_epi32(
          _mm256_madd_epi16(s16[t], ones),
          _mm256_set1_epi32(sums8[static_cast<size_t>(t) * sums_stride + static_cast<size_t>(i)]));
      const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(Half(xb[t]->d)));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), scale, acc[t]);
    }
  }
  for (int t = 0; t < kTokens; ++t)
    _mm256_storeu_ps(out + static_cast<size_t>(t) * out_stride, acc[t]);
}

TANDEM_AVX2 void DotInterleavedQ4_0(const uint8_t* group, const uint8_t* x, size_t x_stride,
                                    const int32_t* sums8, size_t sums_stride, int n_tokens,
                                    int64_t n, float* out, size_t out_stride) {
  switch (n_tokens) {
    case 4:
      InterleavedQ4_0Tile<4>(group, x, x_stride, sums8, sums_stride, n, out, out_stride);
      return;
    case 3:
      InterleavedQ4_0Tile<3>(group, x, x_stride, sums8, sums_stride, n, out, out_stride);
      return;
    case 2:
      InterleavedQ4_0Tile<2>(group, x, x_stride, sums8, sums_stride, n, out, out_stride);
      return;
    default:
      InterleavedQ4_0Tile<1>(group, x, x_stride, sums8, sums_stride, n, out, out_stride);
      return;
  }
}

// RunInt8MacProbe's loop: the multiplies of InterleavedQ4_0Tile<4> without its loads and
// unpacking. Per round, 8 steps of one maddubs per token summed as int16, then each token's sum
// widened by madd and added into an int32 accumulator. The empty asm makes `w` opaque at every
// step, so that each step's maddubs are computed anew instead of being hoisted out of the loop,
// and pins the int16 sums, so that the adds are not regrouped into a schedule that spills
// registers.
TANDEM_AVX2 int64_t Int8MacProbe(int64_t rounds, int32_t* sink) {
  constexpr int kTokens = 4;
  constexpr int kSteps = 8;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i w = _mm256_set1_epi8(3);
  __m256i x[kTokens];
  for (__m256i& v : x)
    v = _mm256_set1_epi8(1);
  // Equal, but the compiler must not know it (it would merge the tokens' maddubs).
  __asm__("" : "+x"(x[0]), "+x"(x[1]), "+x"(x[2]), "+x"(x[3]));
  __m256i acc = _mm256_setzero_si256();
  for (int64_t r = 0; r < rounds; ++r) {
    __m256i s16[kTokens];
#pragma GCC unroll 4
    for (int t = 0; t < kTokens; ++t)
      s16[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int k = 0; k < kSteps; ++k) {
      __asm__ volatile("" : "+x"(w), "+x"(s16[0]), "+x"(s16[1]), "+x"(s16[2]), "+x"(s16[3]));
#pragma GCC unroll 4
      for (int t = 0; t < kTokens; ++t)
        s16[t] = _mm256_add_epi16(s16[t], _mm256_maddubs_epi16(w, x[t]));
    }
#pragma GCC unroll 4
    for (int t = 0; t < kTokens; ++t)
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(s16[t], ones));
  }
  *sink = HorizontalSumI32(acc);
  return rounds * kSteps * kTokens * 32;
}

// One interleaved group of 8 Q8_0 rows (Interleave) times kTokens activation rows, with DotQ8_0's
// arithmetic per row. DotQ8_0 keeps 8 float lanes per row, lane k accumulating the sums of bytes
// 4k..4k+3 of every block; here slice k holds exactly those 4 bytes of each row, so acc[t][k]
// lane r is row r's lane k, fed by the same integers and fma. The final reduction adds the
// 8 vectors in HorizontalSum's order, lane-wise, so every row's result is bit-identical.
template <int kTokens>
TANDEM_AVX2 void InterleavedQ8_0Tile(const uint8_t* group, const uint8_t* x, size_t x_stride,
                                     int64_t n, float* out, size_t out_stride) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kTokens][8];
  for (auto& token : acc) {
    for (__m256& a : token)
      a = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < n / 32; ++i) {
    const uint8_t* block = group + static_cast<size_t>(i) * kInterleavedQ8_0BlockBytes;
    PrefetchAhead(block, kInterleavedQ8_0BlockBytes);
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block)));
    const BlockQ8_0* xb[kTokens];
    __m256 scale[kTokens];
    for (int t = 0; t < kTokens; ++t) {
      xb[t] = reinterpret_cast<const BlockQ8_0*>(x + static_cast<size_t>(t) * x_stride) + i;
      scale[t] = _mm256_mul_ps(dw, _mm256_set1_ps(Half(xb[t]->d)));
    }
    // Unrolled so that acc[t][k] is a register, not a stack slot.
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 16 + 32 * k));
      const __m256i abs_a = _mm256_sign_epi8(qa, qa);
      for (int t = 0; t < kTokens; ++t) {
        const __m256i pairs =
            _mm256_maddubs_epi16(abs_a, _mm256_sign_epi8(Broadcast4(xb[t]->qs + 4 * k), qa));
        const __m256 sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
        acc[t][k] = _mm256_fmadd_ps(scale[t], sums, acc[t][k]);
      }
    }
  }
  for (int t = 0; t < kTokens; ++t) {
    const __m256* a = acc[t];
    const __m256 sum =
        _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a[0], a[4]), _mm256_add_ps(a[2], a[6])),
                      _mm256_add_ps(_mm256_add_ps(a[1], a[5]), _mm256_add_ps(a[3], a[7])));
    _mm256_storeu_ps(out + static_cast<size_t>(t) * out_stride, sum);
  }
}

TANDEM_AVX2 void DotInterleavedQ8_0(const uint8_t* group, const uint8_t* x, size_t x_stride,
                                    const int32_t* /*sums8*/, size_t /*sums_stride*/, int n_tokens,
                                    int64_t n, float* out, size_t out_stride) {
  // Pairs at most: each token holds 8 accumulator registers, and 4-token tiles, spilling them,
  // ran 1.6x the instructions of pairs.
  int t = 0;
  for (; t + 2 <= n_tokens; t += 2) {
    InterleavedQ8_0Tile<2>(group, x + static_cast<size_t>(t) * x_stride, x_stride, n,
                           out + static_cast<size_t>(t) * out_stride, out_stride);
  }
  if (t < n_tokens) {
    InterleavedQ8_0Tile<1>(group, x + static_cast<size_t>(t) * x_stride, x_stride, n,
                           out + static_cast<size_t>(t) * out_stride, out_stride);
  }
}

// Eight Q8_0 rows at once, each with its own 8-lane accumulator as in DotQ8_0.
TANDEM_AVX2 void DotQ8_0x8(const uint8_t* w, size_t row_bytes, const void* x, int64_t n,
                           float* out) {
  const auto* b = static_cast<const BlockQ8_0*>(x);
  __m256 acc[8];
  for (__m256& a : acc)
    a = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    const __m256i qb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs));
    const float dx = Half(b[i].d);
    for (int r = 0; r < 8; ++r) {
      const auto* a = reinterpret_cast<const BlockQ8_0*>(w + r * row_bytes) + i;
      __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a->qs));
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(Half(a->d) * dx), DotBytes(qa, qb), acc[r]);
    }
  }
  for (int r = 0; r < 8; ++r)
    out[r] = HorizontalSum(acc[r]);
}

// kRows Q8_0 rows times kTokens activation rows with DotQ8_0x8's arithmetic for each pair (one
// 8-lane accumulator per row and token, reduced by HorizontalSum at the end), so the results
// are identical; each weight block is loaded, and its absolute value taken, once for all kTokens
// tokens.
template <int kRows, int kTokens>
TANDEM_AVX2 void Q8_0Tile(const uint8_t* w, size_t row_bytes, const uint8_t* x, size_t x_stride,
                          int64_t n, float* out, size_t out_stride) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kRows][kTokens];
  for (auto& row : acc) {
    for (__m256& a : row)
      a = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < n / 32; ++i) {
    __m256i qx[kTokens];
    float dx[kTokens];
    for (int t = 0; t < kTokens; ++t) {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(x + static_cast<size_t>(t) * x_stride) + i;
      qx[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qs));
      dx[t] = Half(b->d);
    }
    for (int r = 0; r < kRows; ++r) {
      const auto* a =
          reinterpret_cast<const BlockQ8_0*>(w + static_cast<size_t>(r) * row_bytes) + i;
      const __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a->qs));
      const __m256i abs_a = _mm256_sign_epi8(qa, qa);
      const float dw = Half(a->d);
      for (int t = 0; t < kTokens; ++t) {
        const __m256i pairs = _mm256_maddubs_epi16(abs_a, _mm256_sign_epi8(qx[t], qa));
        const __m256 sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
        acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dx[t]), sums, acc[r][t]);
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int t = 0; t < kTokens; ++t)
      out[static_cast<size_t>(t) * out_stride + static_cast<size_t>(r)] = HorizontalSum(acc[r][t]);
  }
}

// Eight Q8_0 rows times two tokens (out[t * out_stride + r]).
TANDEM_AVX2 void DotQ8_0x8x2(const uint8_t* w, size_t row_bytes, const uint8_t* x, size_t x_stride,
                             int64_t n, float* out, size_t out_stride) {
  Q8_0Tile<4, 2>(w, row_bytes, x, x_stride, n, out, out_stride);
  Q8_0Tile<4, 2>(w + 4 * row_bytes, row_bytes, x, x_stride, n, out + 4, out_stride);
}

// K-quant dots keep 8 (and, for Q4_K minimums, 4) float lanes across blocks and reduce them at
// the end, lane contents and order matching the reference engine's AVX2 kernels.
TANDEM_AVX2 float DotQ4K(const void* w, const void* x, int64_t n) {
  const auto* a = static_cast<const BlockQ4K*>(w);
  const auto* b = static_cast<const BlockQ8K*>(x);
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    const float d = b[i].d * Half(a[i].d);
    const float dmin = -b[i].d * Half(a[i].dmin);
    int16_t sc[8], mn[8];
    const uint8_t* q = a[i].scales;
    for (int j = 0; j < 8; ++j) {
      if (j < 4) {
        sc[j] = q[j] & 63;
        mn[j] = q[j + 4] & 63;
      } else {
        sc[j] = static_cast<int16_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        mn[j] = static_cast<int16_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
      }
    }
    // Minimums: 4 lanes, lane k = m[2k] * sum32[2k] + m[2k+1] * sum32[2k+1].
    const __m128i mins = _mm_loadu_si128(reinterpret_cast<const __m128i*>(mn));
    const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].bsums));
    const __m128i sums32 =
        _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
    acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(_mm_madd_epi16(mins, sums32)), acc_m);
    __m256i sumi = _mm256_setzero_si256();
    const uint8_t* q4 = a[i].qs;
    const int8_t* q8 = b[i].qs;
    for (int j = 0; j < 4; ++j) {
      __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q4));
      __m256i lo = _mm256_and_si256(packed, low_mask);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask);
      __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8));
      __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8 + 32));
      __m256i p0 = _mm256_madd_epi16(_mm256_set1_epi16(sc[2 * j]), _mm256_maddubs_epi16(lo, y0));
      __m256i p1 =
          _mm256_madd_epi16(_mm256_set1_epi16(sc[2 * j + 1]), _mm256_maddubs_epi16(hi, y1));
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
      q4 += 32;
      q8 += 64;
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
  acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
  return HorizontalSum(acc) + _mm_cvtss_f32(acc_m);
}

TANDEM_AVX2 float DotQ6K(const void* w, const void* x, int64_t n) {
  const auto* a = static_cast<const BlockQ6K*>(w);
  const auto* b = static_cast<const BlockQ8K*>(x);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  const __m256i m32 = _mm256_set1_epi8(32);
  // Per group k: int16 lanes 0-7 pick scale 2k of the half, lanes 8-15 pick scale 2k + 1.
  __m256i pick[4];
  for (int k = 0; k < 4; ++k) {
    const char lo = static_cast<char>(4 * k), hi = static_cast<char>(4 * k + 2);
    pick[k] = _mm256_setr_epi8(lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo,
                               lo + 1, lo, lo + 1, lo, lo + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1,
                               hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1);
  }
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i) {
    PrefetchAhead(reinterpret_cast<const uint8_t*>(a + i), sizeof(BlockQ6K));
    const float d = b[i].d * Half(a[i].d);
    // The 16 scales as int16: lanes 0-7 of `all` (first half), 8-15 (second half); each half's
    // 8 copied into both 128-bit lanes.
    const __m256i all =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a[i].scales)));
    const __m256i half_scales[2] = {_mm256_permute2x128_si256(all, all, 0x00),
                                    _mm256_permute2x128_si256(all, all, 0x11)};
    __m256i sumi = _mm256_setzero_si256();
    const uint8_t* ql = a[i].ql;
    const uint8_t* qh = a[i].qh;
    const int8_t* q8 = b[i].qs;
    for (int half = 0; half < 2; ++half) {
      __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
      // Unsigned 6-bit values (0..63) of the four 32-element groups of this half.
      __m256i g[4] = {
          _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4)),
          _mm256_or_si256(_mm256_and_si256(l1, m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4)),
      };
      for (int k = 0; k < 4; ++k) {
        __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8 + 32 * k));
        // (u - 32) * q8 in pairs of int16, then scaled per 16 elements into int32 lanes.
        __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(g[k], y), _mm256_maddubs_epi16(m32, y));
        const __m256i scales = _mm256_shuffle_epi8(half_scales[half], pick[k]);
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(scales, p16));
      }
      ql += 64;
      qh += 32;
      q8 += 128;
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return HorizontalSum(acc);
}

}  // namespace

bool FillAvx2Table(DotTable& table) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") ||
      !__builtin_cpu_supports("f16c")) {
    return false;
  }
  table.f32 = DotF32;
  table.add_scaled_f32 = AddScaledF32;
  table.q8_0 = DotQ8_0;
  table.q4_0 = DotQ4_0;
  table.q4_k = DotQ4K;
  table.q6_k = DotQ6K;
  table.q4_0_x8 = DotQ4_0x8;
  table.q8_0_x8 = DotQ8_0x8;
  table.packed_q4_0_x8 = DotPackedQ4_0x8;
  table.interleaved_q4_0 = DotInterleavedQ4_0;
  table.interleaved_q8_0 = DotInterleavedQ8_0;
  table.q8_0_x8x2 = DotQ8_0x8x2;
  table.int8_mac_probe = Int8MacProbe;
  table.isa = "avx2";
  return true;
}

}  // namespace tandem::engine::kernels_internal
