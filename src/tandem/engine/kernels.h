// Numeric kernels of the engine: half-precision conversion, block (de)quantization for the
// supported ggml weight types, and the matrix-times-activations product every layer uses.
//
//   WeightMatrix w = {TensorType::kQ4_0, data, rows, cols};
//   MatMul(w, x, n_tokens, y, pool, ComputeMode::kNative, scratch);  // y = x * w^T
//
// Dot products are chosen once at run time: AVX-512 with VNNI where the CPU has it, else AVX2
// (+FMA), else portable code. All functions are thread-safe; MatMul uses the pool it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tandem/engine/gguf_reader.h"
#include "tandem/engine/thread_pool.h"

namespace tandem::engine {

// How quantized weights meet activations.
enum class ComputeMode {
  kNative,  // Activations quantized per block to 8 bits, integer block dot products (fast; the
            // reference engine's arithmetic).
  kFloat,   // Weights decoded to f32 and multiplied with f32 activations (slow, exact decode).
};

float F16ToF32(uint16_t h);
uint16_t F32ToF16(float f);  // round to nearest even
float Bf16ToF32(uint16_t h);

// Weight types MatMul and DequantizeRow handle.
bool IsSupportedWeightType(TensorType type);
// Whether MatMul multiplies `type` weights as 8-bit integers in `mode` (the quantized types in
// native mode), which is what RunInt8MacProbe's peak bounds.
bool MultipliesAsInt8(TensorType type, ComputeMode mode);

// A row-major matrix as stored in the file: `rows` rows of `cols` elements each.
//
// A Q4_0 or Q8_0 matrix may instead be `interleaved` (written by Interleave): each full group of
// 8 rows occupies the same 8 x RowBytes() bytes, block-major; per block column, the 8 rows' f16
// scales come first, then the quants in 32-byte slices that hold 4 bytes of each of the 8 rows
// (4 slices for Q4_0, 8 for Q8_0), so that one 32-byte load feeds 8 rows at once; rows after the
// last full group stay plain. Row() is meaningless for such a matrix (use DequantizeMatrixRow);
// the total size and RowBytes() are unchanged.
struct WeightMatrix {
  TensorType type = TensorType::kF32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  bool interleaved = false;
  size_t RowBytes() const;
  const uint8_t* Row(int64_t r) const { return data + static_cast<size_t>(r) * RowBytes(); }
};

// Whether Interleave handles `type` (Q4_0 and Q8_0).
bool IsInterleavable(TensorType type);
// Writes the plain matrix `w` (an interleavable type) into `out` (w.rows * w.RowBytes() bytes)
// in the interleaved layout; `out` then holds a matrix {w.type, out, w.rows, w.cols,
// interleaved = true}.
void Interleave(const WeightMatrix& w, uint8_t* out);
// Decodes row `r` of `w` (plain or interleaved) into `dst` (w.cols floats).
void DequantizeMatrixRow(const WeightMatrix& w, int64_t r, float* dst);

// Decodes `n` elements (a whole number of blocks) of `type` into f32.
void DequantizeRow(TensorType type, const uint8_t* src, float* dst, int64_t n);

// y[t * rows + r] = dot(w.Row(r), x[t * cols ...]) for t < n_tokens. `scratch` is reused between
// calls to hold quantized activations.
void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            ComputeMode mode, std::vector<uint8_t>& scratch);

// The instruction set the dot products run with ("avx512-vnni", "avx2" or "generic").
std::string_view KernelIsaName();

// Peak-rate probe for the benchmark: `rounds` rounds of the int8 multiply-add instruction
// sequence of this CPU's kernels, on registers only (no memory traffic). Returns the
// multiply-adds done, 0 where the portable kernels run (nothing is measured then). The operands
// are all 3 (unsigned) times 1 (signed); `*sink` receives the sum of all the products, 3 x the
// count (modulo 2^32), so that no work can be optimised away and a test can check it.
int64_t RunInt8MacProbe(int64_t rounds, int32_t* sink);

// Exposed for tests and benchmarks: quantize an f32 row as activations (32-element Q8_0 blocks,
// or 256-element Q8_K blocks) and the quantized-weight dot products on those.
void QuantizeRowQ8_0(const float* x, uint8_t* out, int64_t n);
void QuantizeRowQ8K(const float* x, uint8_t* out, int64_t n);
// Reference (portable) dot of a weight row with an activation row in the matching format.
float DotGeneric(TensorType type, const uint8_t* w, const uint8_t* x_quantized, int64_t n);
// Dispatched dot (the one MatMul uses).
float DotDispatched(TensorType type, const uint8_t* w, const uint8_t* x_quantized, int64_t n);
// Attention's vector steps on this CPU's best kernels: the dot product of two f32 rows (query
// with key), and y += a * x (weighted values into the output).
float DotF32(const float* a, const float* b, int64_t n);
void AddScaledF32(float a, const float* x, float* y, int64_t n);

namespace kernels_internal {
// Block layouts (ggml's).
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
struct BlockQ4K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
struct BlockQ6K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
struct BlockQ8K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4K) == 144 &&
              sizeof(BlockQ6K) == 210 && sizeof(BlockQ8K) == 292);

using DotFn = float (*)(const void* w, const void* x, int64_t n);
// One interleaved group of 8 rows (Interleave) times `n_tokens` (1 to 4) Q8_0 activation rows
// `x_stride` bytes apart; out[t * out_stride + r] receives row r's dot with token t. `sums8` is
// for Q4_0 only (null for Q8_0): sums8[t * sums_stride + b] is 8 x the sum of block b's quants
// of token t, which undoes the kernels' unsigned nibbles.
using InterleavedFn = void (*)(const uint8_t* group, const uint8_t* x, size_t x_stride,
                               const int32_t* sums8, size_t sums_stride, int n_tokens, int64_t n,
                               float* out, size_t out_stride);
// Bytes of one block column of an interleaved group: 8 f16 scales, then the 8 rows' quants.
inline constexpr size_t kInterleavedQ4_0BlockBytes = 8 * sizeof(BlockQ4_0);
inline constexpr size_t kInterleavedQ8_0BlockBytes = 8 * sizeof(BlockQ8_0);
// Two adjacent interleaved groups (16 rows; the second starts `group_bytes` after the first)
// times `n_tokens` (1 to 4) activation rows, as InterleavedFn: out[t * out_stride + r] for
// r < 16, with the 8-row kernels' arithmetic per row, so the results are identical.
using InterleavedPairFn = void (*)(const uint8_t* groups, size_t group_bytes, const uint8_t* x,
                                   size_t x_stride, const int32_t* sums8, size_t sums_stride,
                                   int n_tokens, int64_t n, float* out, size_t out_stride);
// Portable forms of DotTable::interleaved_q4_0 / interleaved_q8_0 (the references for the SIMD
// ones): the same arithmetic per row as DotGeneric.
void DotInterleavedQ4_0Generic(const uint8_t* group, const uint8_t* x, size_t x_stride,
                               const int32_t* sums8, size_t sums_stride, int n_tokens, int64_t n,
                               float* out, size_t out_stride);
void DotInterleavedQ8_0Generic(const uint8_t* group, const uint8_t* x, size_t x_stride,
                               const int32_t* sums8, size_t sums_stride, int n_tokens, int64_t n,
                               float* out, size_t out_stride);
// The interleaved kernel MatMul runs on this CPU for `type` (Q4_0 or Q8_0).
InterleavedFn DispatchedInterleaved(TensorType type);
// The pair kernel MatMul runs on this CPU for `type`, or nullptr where there is none.
InterleavedPairFn DispatchedInterleavedPair(TensorType type);
// out[r] = dot(row r, x) for the 8 rows starting at `w`, `row_bytes` apart.
using Dot8Fn = void (*)(const uint8_t* w, size_t row_bytes, const void* x, int64_t n, float* out);
struct DotTable {
  float (*f32)(const float* a, const float* b, int64_t n);
  void (*add_scaled_f32)(float a, const float* x, float* y, int64_t n);  // y += a * x
  DotFn q8_0;
  DotFn q4_0;
  DotFn q4_k;
  DotFn q6_k;
  Dot8Fn q4_0_x8 = nullptr;  // optional; MatMul falls back to single rows
  Dot8Fn q8_0_x8 = nullptr;
  // Eight Q4_0 rows pre-unpacked by UnpackQ4_0x8 (used when a batch reuses them across tokens).
  void (*packed_q4_0_x8)(const uint8_t* q, const float* d, const void* x, int64_t n,
                         float* out) = nullptr;
  // Interleaved groups (InterleavedFn). Q4_0: exact integer block sums, then one fma per block
  // and row, as q4_0_x8. Q8_0: per row the same 8 float lanes and final reduction as the SIMD
  // q8_0, so results are identical to the plain layout's.
  InterleavedFn interleaved_q4_0 = nullptr;
  InterleavedFn interleaved_q8_0 = nullptr;
  // Pairs of interleaved groups in one 512-bit vector (optional; MatMul then goes 16 rows at a
  // time and uses the 8-row kernels for a last odd group).
  InterleavedPairFn interleaved_pair_q4_0 = nullptr;
  InterleavedPairFn interleaved_pair_q8_0 = nullptr;
  // Eight Q8_0 rows (`row_bytes` apart) times two activation rows (`x_stride` apart):
  // out[t * out_stride + r], identical to two q8_0_x8 calls. Optional.
  void (*q8_0_x8x2)(const uint8_t* w, size_t row_bytes, const uint8_t* x, size_t x_stride,
                    int64_t n, float* out, size_t out_stride) = nullptr;
  // RunInt8MacProbe's loop (optional).
  int64_t (*int8_mac_probe)(int64_t rounds, int32_t* sink) = nullptr;
  std::string_view isa;
};
// For kernels that stream through one pointer (an interleaved group, a Q6_K row): prefetches
// every cache line of the block (`block_bytes` long) that lies about 2 KB after `block`. One
// prefetch per interleaved block column (2.25 to 4.25 lines) left most lines to the hardware
// prefetcher, and a one-token Q8_0 group product took 1.6x as long; a Q6_K matrix-vector
// product without any took 1.15x as long.
inline void PrefetchAhead(const uint8_t* block, size_t block_bytes) {
  constexpr size_t kDistance = 2048;
  const uint8_t* ahead = block + (kDistance / block_bytes + 1) * block_bytes;
  for (size_t line = 0; line < block_bytes; line += 64)
    __builtin_prefetch(ahead + line, 0, 3);
}

// Unpacks 8 Q4_0 rows (`row_bytes` apart, `n` columns) into unsigned nibbles, block-major:
// q[(block * 8 + row) * 32 + j], and their scales as floats: d[block * 8 + row].
void UnpackQ4_0x8(const uint8_t* w, size_t row_bytes, int64_t n, uint8_t* q, float* d);

// Defined in kernels_avx2.cpp / kernels_avx512.cpp; each returns false (leaving the table as
// it was) when the CPU lacks the instructions.
bool FillAvx2Table(DotTable& table);
bool FillAvx512Table(DotTable& table);
}  // namespace kernels_internal

}  // namespace tandem::engine
