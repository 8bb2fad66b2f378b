/* Ken patch kernel: switches one slot's weights from task A to task B in a single launch
 * over every backbone tensor. For every element i of every tensor t:
 *   bit i of B's mask set      -> weight[i] = B's value of rank_B(i), converted to float
 *   else bit i of A's mask set -> weight[i] = pristine[i]
 *   else                       -> untouched
 * A = NULL (the slot holds the base) and B = NULL (restore the base) are allowed.
 *
 * Work split: a tensor's mask words are grouped in chunks of 32 words (1024 elements); one warp
 * takes one chunk at a time (grid-stride). Lane j loads word j of the chunk from both masks
 * (coalesced), a ballot finds the words either mask touches, and the warp walks those words: for
 * word k, lane j owns element 32*k + j, so the 32 lanes read and write 128 consecutive bytes.
 * A kept value's index is B's prefix count of word k plus __popc of the word's bits below the
 * lane. Four words are loaded before any is stored, so each warp keeps several loads in flight.
 *
 * Built three ways: clang-14 to PTX (build-ptx.sh, with ken_cuda_device.h), g++ for the host
 * tests (with tests/Ken.Cuda.Tests/Native/host_shim.h, which runs the 32 lanes of a warp in
 * lock-step), and nvcc if anyone wants to (its own headers). */
#include "ken_patch.h"

#if defined(__CUDA_ARCH__) && !defined(__CUDACC__)
#include "ken_cuda_device.h"
#endif

#define KEN_FULL_WARP 0xffffffffu
#define KEN_WORDS_IN_FLIGHT 4

static __device__ __forceinline__ float ken_bits_to_float(uint32_t bits) {
  union { uint32_t u; float f; } v;
  v.u = bits;
  return v.f;
}

/* IEEE binary16 to binary32, exact, in integer ops (no libdevice, same code on the host). */
static __device__ __forceinline__ float ken_half_to_float(uint32_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1fu) {
    return ken_bits_to_float(sign | 0x7f800000u | (mantissa << 13));
  }
  if (exponent != 0) {
    return ken_bits_to_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  }
  /* Zero or subnormal: mantissa * 2^-24, exact in float. */
  float magnitude = (float)mantissa * 5.9604644775390625e-8f;
  return sign != 0 ? -magnitude : magnitude;
}

static __device__ __forceinline__ float ken_load_value(const void* values, uint32_t type, uint32_t index) {
  if (type == KEN_VALUES_F16) {
    return ken_half_to_float(((const uint16_t*)values)[index]);
  }
  if (type == KEN_VALUES_BF16) {
    return ken_bits_to_float((uint32_t)((const uint16_t*)values)[index] << 16);
  }
  return ((const float*)values)[index];
}

/* The tensor whose chunk range holds chunk: the last t with chunk_begin <= chunk. */
static __device__ __forceinline__ uint32_t ken_find_tensor(const ken_tensor_desc* tensors, uint32_t tensor_count, uint32_t chunk) {
  uint32_t low = 0;
  uint32_t high = tensor_count - 1;
  while (low < high) {
    uint32_t middle = (low + high + 1) >> 1;
    if (tensors[middle].chunk_begin <= chunk) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  return low;
}

extern "C" __global__ void __launch_bounds__(256)
ken_patch(const ken_tensor_desc* __restrict__ tensors, uint32_t tensor_count, uint32_t chunk_total,
          float* const* __restrict__ weights, const ken_task_desc* __restrict__ from,
          const ken_task_desc* __restrict__ to) {
  const uint32_t lane = threadIdx.x & 31u;
  const uint32_t below = (1u << lane) - 1u;
  const uint32_t warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const uint32_t warp_count = (gridDim.x * blockDim.x) >> 5;

  for (uint32_t chunk = warp; chunk < chunk_total; chunk += warp_count) {
    /* Everything up to the word loop is uniform across the warp. */
    const uint32_t t = ken_find_tensor(tensors, tensor_count, chunk);
    const uint32_t* mask_a = from != 0 ? from[t].mask : 0;
    const uint32_t* mask_b = to != 0 ? to[t].mask : 0;
    if (mask_a == 0 && mask_b == 0) {
      continue;
    }

    const ken_tensor_desc tensor = tensors[t];
    const uint32_t first_word = (chunk - tensor.chunk_begin) * KEN_CHUNK_WORDS;
    const uint32_t my_word = first_word + lane;
    const int in_tensor = my_word < tensor.words;
    const uint32_t a = (mask_a != 0 && in_tensor) ? mask_a[my_word] : 0u;
    const uint32_t b = (mask_b != 0 && in_tensor) ? mask_b[my_word] : 0u;
    const uint32_t offset = (b != 0u) ? to[t].offsets[my_word] : 0u;
    const void* values = mask_b != 0 ? to[t].values : 0;
    const uint32_t value_type = mask_b != 0 ? to[t].value_type : KEN_VALUES_F32;
    float* __restrict__ weight = weights[t];
    const float* __restrict__ pristine = tensor.pristine;

    uint32_t pending = __ballot_sync(KEN_FULL_WARP, (a | b) != 0u);
    while (pending != 0u) {
      uint32_t element[KEN_WORDS_IN_FLIGHT];
      float value[KEN_WORDS_IN_FLIGHT];
      int store[KEN_WORDS_IN_FLIGHT];
#pragma unroll
      for (int u = 0; u < KEN_WORDS_IN_FLIGHT; ++u) {
        /* pending is uniform, so every lane takes the same word and joins the same shuffles. */
        const int has_word = pending != 0u;
        const uint32_t k = has_word ? (uint32_t)(__ffs(pending) - 1) : 0u;
        pending &= pending - 1u;
        const uint32_t word_a = __shfl_sync(KEN_FULL_WARP, a, (int)k);
        const uint32_t word_b = __shfl_sync(KEN_FULL_WARP, b, (int)k);
        const uint32_t rank = __shfl_sync(KEN_FULL_WARP, offset, (int)k) + __popc(word_b & below);
        const uint32_t i = (first_word + k) * KEN_WORD_BITS + lane;
        const uint32_t bit = 1u << lane;
        const int take_b = has_word && (word_b & bit) != 0u && i < tensor.count;
        const int take_a = has_word && !take_b && (word_a & bit) != 0u && i < tensor.count;
        element[u] = i;
        store[u] = take_b || take_a;
        value[u] = take_b ? ken_load_value(values, value_type, rank) : (take_a ? pristine[i] : 0.0f);
      }
#pragma unroll
      for (int u = 0; u < KEN_WORDS_IN_FLIGHT; ++u) {
        if (store[u]) {
          weight[element[u]] = value[u];
        }
      }
    }
  }
}
