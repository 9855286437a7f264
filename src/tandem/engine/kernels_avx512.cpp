// AVX-512 (F, BW, VL, VNNI) dot products for 8-bit and 4-bit weights, selected at run time.
// Integer sums use VNNI's dpbusd; the float accumulation is the same as the AVX2 kernels', so
// results are identical across the two.
#include <immintrin.h>

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

// acc += the dot products of w's unsigned and x's signed byte quads, as the instruction itself:
// around the intrinsic in a loop GCC copies the accumulator twice, and those moves would cap a
// peak measurement at the front end's rate instead of the multipliers'. Volatile keeps identical
// calls from being merged or hoisted.
TANDEM_AVX512 inline void DpbusdAsm(__m256i& acc, __m256i w, __m256i x) {
  __asm__ volatile("vpdpbusd %[x], %[w], %[acc]" : [acc] "+v"(acc) : [w] "v"(w), [x] "v"(x));
}

// RunInt8MacProbe's loop with this family's instruction, dpbusd on 256-bit vectors (maddubs,
// madd and the int32 add in one). Its accumulator is also an input, so 12 independent ones cover
// its latency (4 to 5 cycles) at up to two per cycle. Named variables, not an array: GCC keeps
// an array that asm operands touch in memory.
TANDEM_AVX512 int64_t Int8MacProbe(int64_t rounds, int32_t* sink) {
  const __m256i w = _mm256_set1_epi8(3);
  const __m256i x = _mm256_set1_epi8(1);
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  __m256i a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
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
  __m256i all = a0;
  for (__m256i a : {a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11})
    all = _mm256_add_epi32(all, a);
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(all), _mm256_extracti128_si256(all, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  *sink = _mm_cvtsi128_si32(s);
  return rounds * 12 * 32;
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
  table.int8_mac_probe = Int8MacProbe;
  table.isa = "avx512-vnni";
  return true;
}

}  // namespace tandem::engine::kernels_internal
