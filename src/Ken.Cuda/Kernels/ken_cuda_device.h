/* The few CUDA names ken_patch.cu uses, for clang's device-only compile with -nocudainc
 * (no CUDA SDK headers): clang's own builtin variables and NVVM builtins, nothing that needs
 * libdevice. nvcc and the host test build bring their own definitions instead. */
#ifndef KEN_CUDA_DEVICE_H
#define KEN_CUDA_DEVICE_H

#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __forceinline__ __inline__ __attribute__((always_inline))
#define __launch_bounds__(threads) __attribute__((launch_bounds(threads)))

#include <__clang_cuda_builtin_vars.h>

static __device__ __forceinline__ unsigned int __popc(unsigned int x) { return (unsigned int)__builtin_popcount(x); }
static __device__ __forceinline__ unsigned int __ballot_sync(unsigned int mask, int predicate) { return __nvvm_vote_ballot_sync(mask, predicate != 0); }
static __device__ __forceinline__ unsigned int __shfl_sync(unsigned int mask, unsigned int value, int lane) {
  return (unsigned int)__nvvm_shfl_sync_idx_i32(mask, (int)value, lane, 0x1f);
}
static __device__ __forceinline__ int __ffs(unsigned int x) { return x == 0 ? 0 : __builtin_ctz(x) + 1; }

#endif
