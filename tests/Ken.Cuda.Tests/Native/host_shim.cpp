/* Lock-step warp emulation for the host build of ken_patch.cu (see host_shim.h), and the
 * C entry point the tests and the fake driver call to launch the kernel on the host. */
#include "host_shim.h"
#include "ken_patch.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

extern "C" void ken_patch(const ken_tensor_desc* tensors, uint32_t tensor_count, uint32_t chunk_total,
                          float* const* weights, const ken_task_desc* from, const ken_task_desc* to);

ken_host_dim3 threadIdx;
ken_host_dim3 blockIdx;
ken_host_dim3 blockDim;
ken_host_dim3 gridDim;

namespace {

enum LaneState { Runnable, AtCollective, Finished };
enum Collective { Ballot = 1, Shuffle = 2 };

constexpr size_t StackBytes = 64 * 1024;

struct Lane {
  ucontext_t context;
  jmp_buf resume;     /* where the lane continues after a collective */
  bool started;
  LaneState state;
  Collective op;
  unsigned int mask;
  unsigned int value;
  int source;
  unsigned int result;
  char* stack;
};

struct Arguments {
  const ken_tensor_desc* tensors;
  uint32_t tensor_count;
  uint32_t chunk_total;
  float* const* weights;
  const ken_task_desc* from;
  const ken_task_desc* to;
};

Lane lanes[32];
int current = -1;
jmp_buf scheduler;
Arguments arguments;
char error[512];

/* Lane switches use _setjmp/_longjmp (no signal-mask syscalls); ucontext only builds each lane's
 * first frame on its own stack. */
void lane_main() {
  ken_patch(arguments.tensors, arguments.tensor_count, arguments.chunk_total, arguments.weights,
            arguments.from, arguments.to);
  lanes[current].state = Finished;
  _longjmp(scheduler, 1);
}

unsigned int collective(Collective op, unsigned int mask, unsigned int value, int source) {
  Lane& lane = lanes[current];
  lane.state = AtCollective;
  lane.op = op;
  lane.mask = mask;
  lane.value = value;
  lane.source = source;
  if (_setjmp(lane.resume) == 0) {
    _longjmp(scheduler, 1);
  }
  return lanes[current].result;
}

void resume(int index, unsigned int warp_base) {
  current = index;
  threadIdx.x = warp_base + (unsigned int)index;
  Lane& lane = lanes[index];
  if (_setjmp(scheduler) != 0) {
    return;
  }
  if (!lane.started) {
    lane.started = true;
    getcontext(&lane.context);
    lane.context.uc_stack.ss_sp = lane.stack;
    lane.context.uc_stack.ss_size = StackBytes;
    lane.context.uc_link = nullptr;
    makecontext(&lane.context, lane_main, 0);
    setcontext(&lane.context);
  }
  _longjmp(lane.resume, 1);
}

/* Runs one warp to completion; false (with error set) when its lanes break a collective's rules. */
bool run_warp(unsigned int warp_base, unsigned int lane_count) {
  for (unsigned int l = 0; l < 32; ++l) {
    lanes[l].started = false;
    lanes[l].state = l < lane_count ? Runnable : Finished;
  }
  for (;;) {
    for (unsigned int l = 0; l < lane_count; ++l) {
      if (lanes[l].state == Runnable) {
        resume((int)l, warp_base);
      }
    }
    int first = -1;
    for (unsigned int l = 0; l < lane_count; ++l) {
      if (lanes[l].state == AtCollective) {
        first = (int)l;
        break;
      }
    }
    if (first < 0) {
      return true;
    }
    const Lane& leader = lanes[first];
    unsigned int waiting = 0;
    for (unsigned int l = 0; l < lane_count; ++l) {
      const Lane& lane = lanes[l];
      if (lane.state != AtCollective) {
        continue;
      }
      waiting |= 1u << l;
      if (lane.op != leader.op || lane.mask != leader.mask) {
        snprintf(error, sizeof error, "block %u warp %u: lanes %d and %u wait at different collectives (op %d mask %08x vs op %d mask %08x)",
                 blockIdx.x, warp_base / 32, first, l, leader.op, leader.mask, lane.op, lane.mask);
        return false;
      }
    }
    if ((leader.mask & ~waiting) != 0 || (waiting & ~leader.mask) != 0) {
      snprintf(error, sizeof error, "block %u warp %u: collective with member mask %08x but lanes %08x arrived (the others returned or diverged)",
               blockIdx.x, warp_base / 32, leader.mask, waiting);
      return false;
    }
    unsigned int ballot = 0;
    for (unsigned int l = 0; l < lane_count; ++l) {
      if (lanes[l].value != 0) {
        ballot |= (leader.op == Ballot ? 1u : 0u) << l;
      }
    }
    for (unsigned int l = 0; l < lane_count; ++l) {
      Lane& lane = lanes[l];
      if (lane.op == Ballot) {
        lane.result = ballot;
      } else {
        if (lane.source < 0 || lane.source > 31 || (leader.mask & (1u << lane.source)) == 0) {
          snprintf(error, sizeof error, "block %u warp %u lane %u: __shfl_sync reads lane %d outside the member mask %08x",
                   blockIdx.x, warp_base / 32, l, lane.source, leader.mask);
          return false;
        }
        lane.result = lanes[lane.source].value;
      }
      lane.state = Runnable;
    }
  }
}

}  // namespace

unsigned int __ballot_sync(unsigned int mask, int predicate) { return collective(Ballot, mask, predicate != 0 ? 1u : 0u, 0); }

unsigned int __shfl_sync(unsigned int mask, unsigned int value, int lane) { return collective(Shuffle, mask, value, lane); }

/* Launches ken_patch on the host with the given grid (x only) and block size. Returns 0, or -1
 * with a message in error_out when the kernel broke a warp-collective rule. */
extern "C" __attribute__((visibility("default"))) int ken_host_patch_launch(
    unsigned int grid, unsigned int block, const ken_tensor_desc* tensors, uint32_t tensor_count,
    uint32_t chunk_total, float* const* weights, const ken_task_desc* from, const ken_task_desc* to,
    char* error_out, int error_capacity) {
  if (grid == 0 || block == 0 || block > 1024) {
    snprintf(error_out, (size_t)error_capacity, "invalid launch: grid %u block %u", grid, block);
    return -1;
  }
  for (auto& lane : lanes) {
    if (lane.stack == nullptr) {
      lane.stack = (char*)malloc(StackBytes);
    }
  }
  arguments = Arguments{tensors, tensor_count, chunk_total, weights, from, to};
  gridDim = ken_host_dim3{grid, 1, 1};
  blockDim = ken_host_dim3{block, 1, 1};
  threadIdx = ken_host_dim3{0, 0, 0};
  error[0] = 0;
  for (unsigned int b = 0; b < grid; ++b) {
    blockIdx = ken_host_dim3{b, 0, 0};
    for (unsigned int base = 0; base < block; base += 32) {
      unsigned int count = block - base < 32 ? block - base : 32;
      if (!run_warp(base, count)) {
        snprintf(error_out, (size_t)error_capacity, "%s", error);
        return -1;
      }
    }
  }
  return 0;
}
