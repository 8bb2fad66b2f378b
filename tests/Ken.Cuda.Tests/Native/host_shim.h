/* Host build of ken_patch.cu for the tests: the CUDA names the kernel uses, on a CPU.
 * Included before the kernel source (g++ -include host_shim.h -x c++ ken_patch.cu).
 *
 * A launch runs every warp's 32 lanes as coroutines in lock-step (host_shim.cpp): each lane runs
 * until it reaches a warp collective (__ballot_sync, __shfl_sync) or returns; when every lane has
 * stopped, the collective is checked (all lanes the member mask names must be waiting at the same
 * kind of collective with the same mask, as CUDA requires) and evaluated, and the lanes resume.
 * A kernel whose lanes diverge around a collective therefore fails the test instead of passing
 * by luck. Warps of a block run one after another: the kernel uses no shared memory and no
 * __syncthreads. */
#ifndef KEN_HOST_SHIM_H
#define KEN_HOST_SHIM_H

#include <stdint.h>

#define KEN_HOST_EMULATION 1
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(threads)
#define __restrict__ __restrict

struct ken_host_dim3 {
  unsigned int x, y, z;
};

/* The running lane's coordinates; the scheduler sets them before resuming a lane. */
extern ken_host_dim3 threadIdx;
extern ken_host_dim3 blockIdx;
extern ken_host_dim3 blockDim;
extern ken_host_dim3 gridDim;

static inline unsigned int __popc(unsigned int x) { return (unsigned int)__builtin_popcount(x); }
static inline int __ffs(unsigned int x) { return __builtin_ffs((int)x); }
unsigned int __ballot_sync(unsigned int mask, int predicate);
unsigned int __shfl_sync(unsigned int mask, unsigned int value, int lane);

#endif
