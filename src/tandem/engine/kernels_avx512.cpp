// AVX-512 (F, BW, VL, VNNI) dot products for 8-bit and 4-bit weights, selected at run time.
// Integer sums use VNNI's dpbusd; the float accumulation is the same as the AVX2 kernels', so
// results are identical across the two.
// GCC 12's 512-bit intrinsics seed their results with self-initialised "undefined" vectors,
// which its own uninitialised-use warnings flag inside the header (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "tandem/engine/kernels.h"

namespace tandem::engine::kernels_internal {
namespace {

#define TANDEM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c")))

TANDEM_AVX512 inline float Half(uint16_t h) {
  return _cvtsh_ss(h);
}

TANDEM_AVX512 inline float HorizontalSum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

// Signed bytes x signed bytes, 4 products per int32 lane.
TANDEM_AVX512 inline __m256i DotBytesI32(__m256i x, __m256i y) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(x, x),
                             _mm256_sign_epi8(y, x));
}

TANDEM_AVX512 inline __m256i ReduceRows8(const __m256i* v) {
  __m256i s01 = _mm256_hadd_epi32(v[0], v[1]);
  __m256i s23 = _mm256_hadd_epi32(v[2], v[3]);
  __m256i s45 = _mm256_hadd_epi32(v[4], v[5]);
  __m256i s67 = _mm256_hadd_epi32(v[6], v[7]);
  __m256i s0123 = _mm256_hadd_epi32(s01, s23);
  __m256i s4567 = _mm256_hadd_epi32(s45, s67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(s0123, s4567, 0x20),
                          _mm256_permute2x128_si256(s0123, s4567, 0x31));
}

// As the AVX2 kernel: unsigned nibbles, 8 x sum(activations) subtracted, dpbusd for the sums.
TANDEM_AVX512 void DotQ4_0x8(const uint8_t* w, size_t row_bytes, const void* x, int64_t n,
                             float* out) {
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  const __m256i shifts = _mm256_setr_epi64x(0, 0, 4, 4);
  const __m256i eights = _mm256_set1_epi8(8);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    const __m256i qb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs));
    const __m256i correction = _mm256_dpbusd_epi32(_mm256_setzero_si256(), eights, qb);
    __m256i v[8];
    for (int r = 0; r < 8; ++r) {
      const auto* a = reinterpret_cast<const BlockQ4_0*>(w + r * row_bytes) + i;
      const __m256i both =
          _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a->qs)));
      const __m256i qa = _mm256_and_si256(_mm256_srlv_epi64(both, shifts), low_mask);
      v[r] = _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), qa, qb), correction);
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

TANDEM_AVX512 void DotPackedQ4_0x8(const uint8_t* q, const float* d, const void* x, int64_t n,
                                   float* out) {
  const auto* b = static_cast<const BlockQ8_0*>(x);
  const __m256i eights = _mm256_set1_epi8(8);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    const __m256i qb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs));
    const __m256i correction = _mm256_dpbusd_epi32(_mm256_setzero_si256(), eights, qb);
    __m256i v[8];
    for (int r = 0; r < 8; ++r) {
      const __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + (i * 8 + r) * 32));
      v[r] = _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), qa, qb), correction);
    }
    const __m256 scale = _mm256_mul_ps(_mm256_loadu_ps(d + i * 8), _mm256_set1_ps(Half(b[i].d)));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ReduceRows8(v)), scale, acc);
  }
  _mm256_storeu_ps(out, acc);
}

TANDEM_AVX512 void DotQ8_0x8(const uint8_t* w, size_t row_bytes, const void* x, int64_t n,
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
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(Half(a->d) * dx),
                               _mm256_cvtepi32_ps(DotBytesI32(qa, qb)), acc[r]);
    }
  }
  for (int r = 0; r < 8; ++r)
    out[r] = HorizontalSum(acc[r]);
}

// The same 32 bytes of two adjacent interleaved groups: the first group's in the low half (rows
// 0-7 of the pair), the second's in the high half (rows 8-15).
TANDEM_AVX512 inline __m512i LoadPair(const uint8_t* p, size_t group_bytes) {
  const __m256i first = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i second = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + group_bytes));
  return _mm512_inserti64x4(_mm512_castsi256_si512(first), second, 1);
}

// The 16 rows' f16 scales of a block column of two adjacent groups, as floats.
TANDEM_AVX512 inline __m512 ScalesOfPair(const uint8_t* block, size_t group_bytes) {
  const __m128i first = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block));
  const __m128i second = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + group_bytes));
  return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(first), second, 1));
}

// Four activation bytes in every 32-bit lane.
TANDEM_AVX512 inline __m512i Broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

// Two interleaved Q4_0 groups times kTokens activation rows. Each 32-bit lane of a slice holds
// 4 nibbles of one row, so dpbusd against 4 broadcast activation bytes adds that row's products
// straight into its int32 lane, starting from minus 8 x the activation block's sum (the nibble
// offset): the exact integers of the 8-row kernels, then the same fma per block and row.
template <int kTokens>
TANDEM_AVX512 void PairedQ4_0Tile(const uint8_t* groups, size_t group_bytes, const uint8_t* x,
                                  size_t x_stride, const int32_t* sums8, size_t sums_stride,
                                  int64_t n, float* out, size_t out_stride) {
  const __m512i low_mask = _mm512_set1_epi8(0x0F);
  __m512 acc[kTokens];
  for (int t = 0; t < kTokens; ++t)
    acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    const uint8_t* block = groups + static_cast<size_t>(i) * kInterleavedQ4_0BlockBytes;
    PrefetchAhead(block, kInterleavedQ4_0BlockBytes);
    PrefetchAhead(block + group_bytes, kInterleavedQ4_0BlockBytes);
    const BlockQ8_0* xb[kTokens];
    __m512i sums[kTokens];
#pragma GCC unroll 4
    for (int t = 0; t < kTokens; ++t) {
      xb[t] = reinterpret_cast<const BlockQ8_0*>(x + static_cast<size_t>(t) * x_stride) + i;
      sums[t] =
          _mm512_set1_epi32(-sums8[static_cast<size_t>(t) * sums_stride + static_cast<size_t>(i)]);
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m512i packed = LoadPair(block + 16 + 32 * k, group_bytes);
      const __m512i lo = _mm512_and_si512(packed, low_mask);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_mask);
#pragma GCC unroll 4
      for (int t = 0; t < kTokens; ++t) {
        sums[t] = _mm512_dpbusd_epi32(sums[t], lo, Broadcast4(xb[t]->qs + 4 * k));
        sums[t] = _mm512_dpbusd_epi32(sums[t], hi, Broadcast4(xb[t]->qs + 16 + 4 * k));
      }
    }
    const __m512 dw = ScalesOfPair(block, group_bytes);
#pragma GCC unroll 4
    for (int t = 0; t < kTokens; ++t) {
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(Half(xb[t]->d)));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[t]), scale, acc[t]);
    }
  }
  for (int t = 0; t < kTokens; ++t)
    _mm512_storeu_ps(out + static_cast<size_t>(t) * out_stride, acc[t]);
}

TANDEM_AVX512 void DotInterleavedPairQ4_0(const uint8_t* groups, size_t group_bytes,
                                          const uint8_t* x, size_t x_stride, const int32_t* sums8,
                                          size_t sums_stride, int n_tokens, int64_t n, float* out,
                                          size_t out_stride) {
  switch (n_tokens) {
    case 4:
      PairedQ4_0Tile<4>(groups, group_bytes, x, x_stride, sums8, sums_stride, n, out, out_stride);
      return;
    case 3:
      PairedQ4_0Tile<3>(groups, group_bytes, x, x_stride, sums8, sums_stride, n, out, out_stride);
      return;
    case 2:
      PairedQ4_0Tile<2>(groups, group_bytes, x, x_stride, sums8, sums_stride, n, out, out_stride);
      return;
    default:
      PairedQ4_0Tile<1>(groups, group_bytes, x, x_stride, sums8, sums_stride, n, out, out_stride);
      return;
  }
}

// Two interleaved Q8_0 groups times kTokens activation rows, with the 8-row kernels' arithmetic
// per row: acc[t][k] lane r is row r's float lane k (bytes 4k..4k+3 of every block), fed by the
// same integers (|w| unsigned times x with w's sign, as the AVX2 kernels' sign trick; 512-bit
// vectors have no sign instruction, so x is negated under a mask) and the same fma, and reduced
// in the same order at the end.
template <int kTokens>
TANDEM_AVX512 void PairedQ8_0Tile(const uint8_t* groups, size_t group_bytes, const uint8_t* x,
                                  size_t x_stride, int64_t n, float* out, size_t out_stride) {
  const __m512i zero = _mm512_setzero_si512();
  __m512 acc[kTokens][8];
  for (auto& token : acc) {
    for (__m512& a : token)
      a = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < n / 32; ++i) {
    const uint8_t* block = groups + static_cast<size_t>(i) * kInterleavedQ8_0BlockBytes;
    PrefetchAhead(block, kInterleavedQ8_0BlockBytes);
    PrefetchAhead(block + group_bytes, kInterleavedQ8_0BlockBytes);
    const __m512 dw = ScalesOfPair(block, group_bytes);
    const BlockQ8_0* xb[kTokens];
    __m512 scale[kTokens];
    for (int t = 0; t < kTokens; ++t) {
      xb[t] = reinterpret_cast<const BlockQ8_0*>(x + static_cast<size_t>(t) * x_stride) + i;
      scale[t] = _mm512_mul_ps(dw, _mm512_set1_ps(Half(xb[t]->d)));
    }
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const __m512i qa = LoadPair(block + 16 + 32 * k, group_bytes);
      const __m512i abs_a = _mm512_abs_epi8(qa);
      const __mmask64 negative = _mm512_movepi8_mask(qa);
      for (int t = 0; t < kTokens; ++t) {
        const __m512i xt = Broadcast4(xb[t]->qs + 4 * k);
        const __m512i signed_x = _mm512_mask_sub_epi8(xt, negative, zero, xt);
        const __m512 sums = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, abs_a, signed_x));
        acc[t][k] = _mm512_fmadd_ps(scale[t], sums, acc[t][k]);
      }
    }
  }
  for (int t = 0; t < kTokens; ++t) {
    const __m512* a = acc[t];
    const __m512 sum =
        _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[4]), _mm512_add_ps(a[2], a[6])),
                      _mm512_add_ps(_mm512_add_ps(a[1], a[5]), _mm512_add_ps(a[3], a[7])));
    _mm512_storeu_ps(out + static_cast<size_t>(t) * out_stride, sum);
  }
}

TANDEM_AVX512 void DotInterleavedPairQ8_0(const uint8_t* groups, size_t group_bytes,
                                          const uint8_t* x, size_t x_stride,
                                          const int32_t* /*sums8*/, size_t /*sums_stride*/,
                                          int n_tokens, int64_t n, float* out, size_t out_stride) {
  // Pairs of tokens at most: each token holds 8 accumulator registers.
  int t = 0;
  for (; t + 2 <= n_tokens; t += 2) {
    PairedQ8_0Tile<2>(groups, group_bytes, x + static_cast<size_t>(t) * x_stride, x_stride, n,
                      out + static_cast<size_t>(t) * out_stride, out_stride);
  }
  if (t < n_tokens) {
    PairedQ8_0Tile<1>(groups, group_bytes, x + static_cast<size_t>(t) * x_stride, x_stride, n,
                      out + static_cast<size_t>(t) * out_stride, out_stride);
  }
}

// acc += the dot products of w's unsigned and x's signed byte quads, as the instruction itself:
// around the intrinsic in a loop GCC copies the accumulator twice, and those moves would cap a
// peak measurement at the front end's rate instead of the multipliers'. Volatile keeps identical
// calls from being merged or hoisted.
TANDEM_AVX512 inline void DpbusdAsm(__m512i& acc, __m512i w, __m512i x) {
  __asm__ volatile("vpdpbusd %[x], %[w], %[acc]" : [acc] "+v"(acc) : [w] "v"(w), [x] "v"(x));
}

// RunInt8MacProbe's loop with this family's instruction, dpbusd on 512-bit vectors as the pair
// kernels use it (maddubs, madd and the int32 add in one). Its accumulator is also an input, so 12
// independent ones cover its latency (4 to 5 cycles) at up to two per cycle. Named variables, not
// an array: GCC keeps an array that asm operands touch in memory.
TANDEM_AVX512 int64_t Int8MacProbe(int64_t rounds, int32_t* sink) {
  const __m512i w = _mm512_set1_epi8(3);
  const __m512i x = _mm512_set1_epi8(1);
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  __m512i a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  for (int64_t r = 0; r < rounds; ++r) {
    DpbusdAsm(a0, w, x);
    DpbusdAsm(a1, w, x);
    DpbusdAsm(a2, w, x);
    DpbusdAsm(a3, w, x);
    DpbusdAsm(a4, w, x);
    DpbusdAsm(a5, w, x);
    DpbusdAsm(a6, w, x);
    DpbusdAsm(a7, w, x);
    DpbusdAsm(a8, w, x);
    DpbusdAsm(a9, w, x);
    DpbusdAsm(a10, w, x);
    DpbusdAsm(a11, w, x);
  }
  __m512i all = a0;
  for (__m512i a : {a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11})
    all = _mm512_add_epi32(all, a);
  // Reduced with vector adds, which wrap: the header's _mm512_reduce_add_epi32 adds as int, and
  // the sum is meant modulo 2^32.
  const __m256i half =
      _mm256_add_epi32(_mm512_castsi512_si256(all), _mm512_extracti64x4_epi64(all, 1));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  *sink = _mm_cvtsi128_si32(s);
  return rounds * 12 * 64;
}

}  // namespace

bool FillAvx512Table(DotTable& table) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512vnni") ||
      !__builtin_cpu_supports("fma") || !__builtin_cpu_supports("f16c") ||
      !__builtin_cpu_supports("avx2")) {
    return false;
  }
  table.q4_0_x8 = DotQ4_0x8;
  table.q8_0_x8 = DotQ8_0x8;
  table.packed_q4_0_x8 = DotPackedQ4_0x8;
  table.interleaved_pair_q4_0 = DotInterleavedPairQ4_0;
  table.interleaved_pair_q8_0 = DotInterleavedPairQ8_0;
  table.int8_mac_probe = Int8MacProbe;
  table.isa = "avx512-vnni";
  return true;
}

}  // namespace tandem::engine::kernels_internal
