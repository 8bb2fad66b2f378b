/* A fake libcuda.so.1 for the driver-layer tests: the CUDA driver API subset Ken.Cuda calls, with
 * "device" memory on the host and launches run by the host build of ken_patch.cu (host_shim.cpp).
 * It is strict where the real driver is undefined or merely lenient, so the tests catch misuse:
 *   - every memory, stream, module and launch call needs the retained primary context current on
 *     the calling thread (CUDA_ERROR_INVALID_CONTEXT otherwise);
 *   - asynchronous work really is deferred: copies and launches queue on their stream and run at
 *     cuStreamSynchronize / cuStreamDestroy, so a pinned buffer reused before the stream passed the
 *     copy that reads it uploads the wrong bytes, and memory freed while queued work uses it fails;
 *   - host-to-device and device-to-host copies must use pinned (cuMemAllocHost) memory;
 *   - every device range a copy or launch touches (including every pointer inside the kernel's
 *     descriptor tables) must lie inside a live allocation; allocations carry guard zones that are
 *     checked after every launch and at free; fresh allocations are filled with 0xCD garbage;
 *   - a destroyed stream, a freed pointer or an unknown handle is refused.
 * A failure found while running queued work becomes a sticky error (as on a GPU): every later call
 * returns it until fake_cuda_reset. Every call is appended to a log the tests read.
 * Test controls: fake_cuda_* at the end. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ken_patch.h"

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef void* CUcontext;
typedef void* CUstream;
typedef void* CUmodule;
typedef void* CUfunction;

#define EXPORT __attribute__((visibility("default")))

enum {
  SUCCESS = 0,
  ERROR_INVALID_VALUE = 1,
  ERROR_OUT_OF_MEMORY = 2,
  ERROR_NOT_INITIALIZED = 3,
  ERROR_NO_DEVICE = 100,
  ERROR_INVALID_DEVICE = 101,
  ERROR_INVALID_CONTEXT = 201,
  ERROR_INVALID_PTX = 218,
  ERROR_INVALID_HANDLE = 400,
  ERROR_NOT_FOUND = 500,
  ERROR_ILLEGAL_ADDRESS = 700,
  ERROR_LAUNCH_FAILED = 719,
};

static const struct { int code; const char* name; const char* text; } error_names[] = {
  {SUCCESS, "CUDA_SUCCESS", "no error"},
  {ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
  {ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
  {ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
  {ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
  {ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
  {ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
  {ERROR_INVALID_PTX, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
  {ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
  {ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
  {ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
  {ERROR_LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
};

extern int ken_host_patch_launch(unsigned int grid, unsigned int block, const ken_tensor_desc* tensors,
                                 uint32_t tensor_count, uint32_t chunk_total, float* const* weights,
                                 const ken_task_desc* from, const ken_task_desc* to, char* error_out,
                                 int error_capacity);

/* ---- state ---- */

#define GUARD 256
#define GUARD_BYTE 0xAB
#define MAX_ALLOCATIONS 4096
#define MAX_STREAMS 64
#define MAX_OPS 65536

typedef enum { DEVICE_MEMORY = 1, PINNED_MEMORY = 2 } MemoryKind;

typedef struct {
  unsigned char* raw;
  uintptr_t base;
  size_t size;
  MemoryKind kind;
} Allocation;

typedef enum { OP_HTOD, OP_DTOH, OP_DTOD, OP_LAUNCH } OpKind;

typedef struct {
  OpKind kind;
  uintptr_t destination, source;
  size_t bytes;
  unsigned int grid, block;
  uint64_t args[6];
} Op;

typedef struct {
  int alive;
  Op* ops;
  int count;
} Stream;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int initialized;
static int device_count = 1;
static int retains;
static int primary_context_tag;                       /* its address is the CUcontext */
static __thread void* current_context;
static Allocation allocations[MAX_ALLOCATIONS];
static int allocation_count;
static Stream streams[MAX_STREAMS];                   /* handle = index + 1 */
static int module_loaded;
static int module_tag, function_tag;
static CUresult sticky;
static char fail_call[64];
static CUresult fail_result;
static char* log_text;
static size_t log_length, log_capacity;
static char last_error[1024];

static void note(const char* format, ...) {
  char line[512];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (n < 0) return;
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  if (log_length + (size_t)n + 1 > log_capacity) {
    log_capacity = (log_capacity + (size_t)n + 1) * 2;
    log_text = realloc(log_text, log_capacity);
  }
  memcpy(log_text + log_length, line, (size_t)n);
  log_length += (size_t)n;
  log_text[log_length] = 0;
}

static CUresult fail(CUresult result, const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(last_error, sizeof last_error, format, args);
  va_end(args);
  note("  -> %d %s", result, last_error);
  return result;
}

/* Common entry checks: the injected failure, a sticky error, initialization, the context. */
static CUresult enter(const char* call, int needs_context) {
  if (fail_result != 0 && strcmp(fail_call, call) == 0) {
    CUresult injected = fail_result;
    fail_result = 0;
    return fail(injected, "%s: injected failure", call);
  }
  if (sticky != 0) return fail(sticky, "%s: sticky error from earlier work", call);
  if (!initialized) return fail(ERROR_NOT_INITIALIZED, "%s before cuInit", call);
  if (needs_context && (retains == 0 || current_context != &primary_context_tag)) {
    return fail(ERROR_INVALID_CONTEXT, "%s without the primary context current on this thread", call);
  }
  return SUCCESS;
}

static Allocation* find_allocation(uintptr_t address, size_t bytes, MemoryKind kind) {
  for (int i = 0; i < allocation_count; ++i) {
    Allocation* a = &allocations[i];
    if (a->kind == kind && address >= a->base && address - a->base <= a->size && bytes <= a->size - (address - a->base)) {
      return a;
    }
  }
  return NULL;
}

static int guards_intact(const Allocation* a) {
  for (size_t i = 0; i < GUARD; ++i) {
    if (a->raw[i] != GUARD_BYTE || a->raw[GUARD + a->size + i] != GUARD_BYTE) return 0;
  }
  return 1;
}

static CUresult check_stream(CUstream stream, Stream** out) {
  uintptr_t handle = (uintptr_t)stream;
  if (handle == 0) {
    *out = NULL;
    return SUCCESS;
  }
  if (handle > MAX_STREAMS || !streams[handle - 1].alive) {
    return fail(ERROR_INVALID_HANDLE, "stream %lu is not a live stream", (unsigned long)handle);
  }
  *out = &streams[handle - 1];
  return SUCCESS;
}

/* ---- running queued work ---- */

static CUresult check_range(uintptr_t address, size_t bytes, MemoryKind kind, const char* what) {
  if (find_allocation(address, bytes, kind) == NULL) {
    return fail(ERROR_ILLEGAL_ADDRESS, "%s: %zu bytes at %#lx are not inside a live %s allocation", what, bytes,
                (unsigned long)address, kind == DEVICE_MEMORY ? "device" : "pinned host");
  }
  return SUCCESS;
}

static CUresult check_task_table(const ken_task_desc* table, const ken_tensor_desc* tensors, uint32_t n, int is_target) {
  if (table == NULL) return SUCCESS;
  CUresult r = check_range((uintptr_t)table, n * sizeof(ken_task_desc), DEVICE_MEMORY, "task table");
  if (r) return r;
  for (uint32_t t = 0; t < n; ++t) {
    if (table[t].mask == NULL) continue;
    size_t words = tensors[t].words;
    if ((r = check_range((uintptr_t)table[t].mask, words * 4, DEVICE_MEMORY, "task mask"))) return r;
    if (!is_target) continue;
    if (table[t].value_type > KEN_VALUES_BF16) return fail(ERROR_ILLEGAL_ADDRESS, "tensor %u: value type %u", t, table[t].value_type);
    size_t size = table[t].value_type == KEN_VALUES_F32 ? 4 : 2;
    if ((r = check_range((uintptr_t)table[t].offsets, words * 4, DEVICE_MEMORY, "task offsets"))) return r;
    if (table[t].value_count > 0 &&
        (r = check_range((uintptr_t)table[t].values, table[t].value_count * size, DEVICE_MEMORY, "task values"))) return r;
  }
  return SUCCESS;
}

static CUresult run_launch(const Op* op) {
  const ken_tensor_desc* tensors = (const ken_tensor_desc*)(uintptr_t)op->args[0];
  uint32_t n = (uint32_t)op->args[1];
  uint32_t chunk_total = (uint32_t)op->args[2];
  float* const* weights = (float* const*)(uintptr_t)op->args[3];
  const ken_task_desc* from = (const ken_task_desc*)(uintptr_t)op->args[4];
  const ken_task_desc* to = (const ken_task_desc*)(uintptr_t)op->args[5];
  CUresult r;
  if (n == 0) return fail(ERROR_ILLEGAL_ADDRESS, "launch with 0 tensors");
  if ((r = check_range((uintptr_t)tensors, n * sizeof(ken_tensor_desc), DEVICE_MEMORY, "tensor table"))) return r;
  if ((r = check_range((uintptr_t)weights, n * sizeof(float*), DEVICE_MEMORY, "slot table"))) return r;
  uint32_t chunks = 0;
  for (uint32_t t = 0; t < n; ++t) {
    const ken_tensor_desc* d = &tensors[t];
    if (d->words != (d->count + 31) / 32 || d->chunk_count != (d->words + 31) / 32 || d->chunk_begin != chunks) {
      return fail(ERROR_ILLEGAL_ADDRESS, "tensor %u: inconsistent descriptor (count %u words %u chunks %u..+%u)", t, d->count, d->words, d->chunk_begin, d->chunk_count);
    }
    chunks += d->chunk_count;
    if ((r = check_range((uintptr_t)d->pristine, (size_t)d->count * 4, DEVICE_MEMORY, "pristine tensor"))) return r;
    if ((r = check_range((uintptr_t)weights[t], (size_t)d->count * 4, DEVICE_MEMORY, "slot weights"))) return r;
  }
  if (chunks != chunk_total) return fail(ERROR_ILLEGAL_ADDRESS, "chunk_total %u but the tensors have %u chunks", chunk_total, chunks);
  if ((r = check_task_table(from, tensors, n, 0))) return r;
  if ((r = check_task_table(to, tensors, n, 1))) return r;
  char message[512];
  if (ken_host_patch_launch(op->grid, op->block, tensors, n, chunk_total, weights, from, to, message, sizeof message) != 0) {
    return fail(ERROR_LAUNCH_FAILED, "kernel: %s", message);
  }
  for (int i = 0; i < allocation_count; ++i) {
    if (!guards_intact(&allocations[i])) {
      return fail(ERROR_ILLEGAL_ADDRESS, "kernel wrote outside allocation %#lx (%zu bytes)", (unsigned long)allocations[i].base, allocations[i].size);
    }
  }
  return SUCCESS;
}

static CUresult run_op(const Op* op) {
  CUresult r;
  switch (op->kind) {
    case OP_HTOD:
      if ((r = check_range(op->source, op->bytes, PINNED_MEMORY, "host-to-device source"))) return r;
      if ((r = check_range(op->destination, op->bytes, DEVICE_MEMORY, "host-to-device destination"))) return r;
      memcpy((void*)op->destination, (const void*)op->source, op->bytes);
      return SUCCESS;
    case OP_DTOH:
      if ((r = check_range(op->source, op->bytes, DEVICE_MEMORY, "device-to-host source"))) return r;
      if ((r = check_range(op->destination, op->bytes, PINNED_MEMORY, "device-to-host destination"))) return r;
      memcpy((void*)op->destination, (const void*)op->source, op->bytes);
      return SUCCESS;
    case OP_DTOD:
      if ((r = check_range(op->source, op->bytes, DEVICE_MEMORY, "device-to-device source"))) return r;
      if ((r = check_range(op->destination, op->bytes, DEVICE_MEMORY, "device-to-device destination"))) return r;
      memmove((void*)op->destination, (const void*)op->source, op->bytes);
      return SUCCESS;
    case OP_LAUNCH:
      return run_launch(op);
  }
  return ERROR_INVALID_VALUE;
}

static CUresult drain(Stream* s) {
  for (int i = 0; i < s->count; ++i) {
    CUresult r = run_op(&s->ops[i]);
    if (r != SUCCESS) {
      s->count = 0;
      sticky = r;
      return r;
    }
  }
  s->count = 0;
  return SUCCESS;
}

static CUresult enqueue(Stream* s, const Op* op) {
  if (s == NULL) {
    CUresult r = run_op(op);   /* the legacy stream: run now */
    if (r) sticky = r;
    return r;
  }
  if (s->count == MAX_OPS) return fail(ERROR_OUT_OF_MEMORY, "stream queue full");
  s->ops[s->count++] = *op;
  return SUCCESS;
}

/* ---- the driver API ---- */

#define BEGIN(call, needs_context, ...)           \
  pthread_mutex_lock(&lock);                      \
  note(call __VA_ARGS__);                         \
  CUresult result = enter(call, needs_context);   \
  if (result != SUCCESS) goto done;

#define END \
  done:     \
  pthread_mutex_unlock(&lock); \
  return result;

EXPORT CUresult cuInit(unsigned int flags) {
  pthread_mutex_lock(&lock);
  note("cuInit");
  CUresult result = SUCCESS;
  if (fail_result != 0 && strcmp(fail_call, "cuInit") == 0) {
    result = fail(fail_result, "cuInit: injected failure");
    fail_result = 0;
  } else if (flags != 0) {
    result = fail(ERROR_INVALID_VALUE, "cuInit flags %u", flags);
  } else if (device_count == 0) {
    result = fail(ERROR_NO_DEVICE, "no device");
  } else {
    initialized = 1;
  }
  pthread_mutex_unlock(&lock);
  return result;
}

EXPORT CUresult cuDriverGetVersion(int* version) {
  BEGIN("cuDriverGetVersion", 0)
  *version = 13000;
  END
}

EXPORT CUresult cuDeviceGetCount(int* count) {
  BEGIN("cuDeviceGetCount", 0)
  *count = device_count;
  END
}

EXPORT CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  BEGIN("cuDeviceGet", 0)
  if (ordinal < 0 || ordinal >= device_count) { result = fail(ERROR_INVALID_DEVICE, "ordinal %d", ordinal); goto done; }
  *device = ordinal;
  END
}

EXPORT CUresult cuDeviceGetName(char* name, int length, CUdevice device) {
  BEGIN("cuDeviceGetName", 0)
  if (device < 0 || device >= device_count) { result = fail(ERROR_INVALID_DEVICE, "device %d", device); goto done; }
  snprintf(name, (size_t)length, "Ken Fake GPU %d", device);
  END
}

EXPORT CUresult cuDeviceGetAttribute(int* value, int attribute, CUdevice device) {
  BEGIN("cuDeviceGetAttribute", 0)
  if (device < 0 || device >= device_count) { result = fail(ERROR_INVALID_DEVICE, "device %d", device); goto done; }
  switch (attribute) {
    case 16: *value = 4; break;   /* multiprocessors */
    case 75: *value = 9; break;   /* compute capability 9.0 */
    case 76: *value = 0; break;
    default: result = fail(ERROR_INVALID_VALUE, "attribute %d", attribute);
  }
  END
}

EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* context, CUdevice device) {
  BEGIN("cuDevicePrimaryCtxRetain", 0)
  if (device != 0) { result = fail(ERROR_INVALID_DEVICE, "device %d", device); goto done; }
  ++retains;
  *context = &primary_context_tag;
  END
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice device) {
  BEGIN("cuDevicePrimaryCtxRelease_v2", 0)
  if (device != 0 || retains == 0) { result = fail(ERROR_INVALID_CONTEXT, "release without retain"); goto done; }
  --retains;
  END
}

EXPORT CUresult cuCtxSetCurrent(CUcontext context) {
  BEGIN("cuCtxSetCurrent", 0)
  if (context != NULL && (context != &primary_context_tag || retains == 0)) {
    result = fail(ERROR_INVALID_CONTEXT, "not a retained context");
    goto done;
  }
  current_context = context;
  END
}

EXPORT CUresult cuCtxGetCurrent(CUcontext* context) {
  BEGIN("cuCtxGetCurrent", 0)
  *context = current_context;
  END
}

EXPORT CUresult cuStreamCreate(CUstream* stream, unsigned int flags) {
  BEGIN("cuStreamCreate", 1)
  (void)flags;
  for (int i = 0; i < MAX_STREAMS; ++i) {
    if (!streams[i].alive && streams[i].ops == NULL) {
      streams[i].alive = 1;
      streams[i].ops = calloc(MAX_OPS, sizeof(Op));
      streams[i].count = 0;
      *stream = (CUstream)(uintptr_t)(i + 1);
      note("  -> S%d", i + 1);
      goto done;
    }
  }
  result = fail(ERROR_OUT_OF_MEMORY, "too many streams");
  END
}

EXPORT CUresult cuStreamDestroy_v2(CUstream stream) {
  BEGIN("cuStreamDestroy_v2", 1, " S%lu", (unsigned long)(uintptr_t)stream)
  Stream* s;
  if ((result = check_stream(stream, &s)) != SUCCESS) goto done;
  if (s == NULL) { result = fail(ERROR_INVALID_HANDLE, "cannot destroy the legacy stream"); goto done; }
  result = drain(s);   /* queued work completes before the stream goes */
  s->alive = 0;        /* the slot is never reused, so a stale handle stays invalid */
  END
}

EXPORT CUresult cuStreamSynchronize(CUstream stream) {
  BEGIN("cuStreamSynchronize", 1, " S%lu", (unsigned long)(uintptr_t)stream)
  Stream* s;
  if ((result = check_stream(stream, &s)) != SUCCESS) goto done;
  if (s != NULL) result = drain(s);
  END
}

static CUresult allocate(uintptr_t* base, size_t bytes, MemoryKind kind) {
  if (bytes == 0) return fail(ERROR_INVALID_VALUE, "allocation of 0 bytes");
  if (allocation_count == MAX_ALLOCATIONS) return fail(ERROR_OUT_OF_MEMORY, "too many allocations");
  unsigned char* raw = NULL;
  if (posix_memalign((void**)&raw, GUARD, bytes + 2 * GUARD) != 0) return fail(ERROR_OUT_OF_MEMORY, "host out of memory");
  memset(raw, GUARD_BYTE, GUARD);
  memset(raw + GUARD, 0xCD, bytes);
  memset(raw + GUARD + bytes, GUARD_BYTE, GUARD);
  Allocation* a = &allocations[allocation_count++];
  a->raw = raw;
  a->base = (uintptr_t)(raw + GUARD);
  a->size = bytes;
  a->kind = kind;
  *base = a->base;
  return SUCCESS;
}

static CUresult release(uintptr_t base, MemoryKind kind, const char* call) {
  for (int i = 0; i < allocation_count; ++i) {
    if (allocations[i].base == base && allocations[i].kind == kind) {
      int intact = guards_intact(&allocations[i]);
      free(allocations[i].raw);
      allocations[i] = allocations[--allocation_count];
      return intact ? SUCCESS : fail(ERROR_ILLEGAL_ADDRESS, "%s: guard zone of %#lx overwritten", call, (unsigned long)base);
    }
  }
  return fail(ERROR_INVALID_VALUE, "%s: %#lx is not a live allocation", call, (unsigned long)base);
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* pointer, size_t bytes) {
  BEGIN("cuMemAlloc_v2", 1, " %zu", bytes)
  uintptr_t base;
  if ((result = allocate(&base, bytes, DEVICE_MEMORY)) == SUCCESS) *pointer = base;
  END
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr pointer) {
  BEGIN("cuMemFree_v2", 1)
  result = release((uintptr_t)pointer, DEVICE_MEMORY, "cuMemFree_v2");
  END
}

EXPORT CUresult cuMemAllocHost_v2(void** pointer, size_t bytes) {
  BEGIN("cuMemAllocHost_v2", 1, " %zu", bytes)
  uintptr_t base;
  if ((result = allocate(&base, bytes, PINNED_MEMORY)) == SUCCESS) *pointer = (void*)base;
  END
}

EXPORT CUresult cuMemFreeHost(void* pointer) {
  BEGIN("cuMemFreeHost", 1)
  result = release((uintptr_t)pointer, PINNED_MEMORY, "cuMemFreeHost");
  END
}

EXPORT CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total_bytes) {
  BEGIN("cuMemGetInfo_v2", 1)
  size_t used = 0;
  for (int i = 0; i < allocation_count; ++i) {
    if (allocations[i].kind == DEVICE_MEMORY) used += allocations[i].size;
  }
  *total_bytes = (size_t)80 << 30;
  *free_bytes = *total_bytes - used;
  END
}

static CUresult copy(const char* call, OpKind kind, uintptr_t destination, uintptr_t source, size_t bytes, CUstream stream) {
  Stream* s;
  CUresult result = check_stream(stream, &s);
  if (result) return result;
  /* Queue-time checks: what the real driver validates at the call (live allocations, right kinds). */
  MemoryKind from = kind == OP_HTOD ? PINNED_MEMORY : DEVICE_MEMORY;
  MemoryKind to = kind == OP_DTOH ? PINNED_MEMORY : DEVICE_MEMORY;
  if (find_allocation(source, bytes, from) == NULL) return fail(ERROR_INVALID_VALUE, "%s: source is not %zu bytes of a live %s allocation", call, bytes, from == PINNED_MEMORY ? "pinned" : "device");
  if (find_allocation(destination, bytes, to) == NULL) return fail(ERROR_INVALID_VALUE, "%s: destination is not %zu bytes of a live %s allocation", call, bytes, to == PINNED_MEMORY ? "pinned" : "device");
  Op op = {0};
  op.kind = kind;
  op.destination = destination;
  op.source = source;
  op.bytes = bytes;
  return enqueue(s, &op);
}

EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr destination, const void* source, size_t bytes, CUstream stream) {
  BEGIN("cuMemcpyHtoDAsync_v2", 1, " %zu S%lu", bytes, (unsigned long)(uintptr_t)stream)
  result = copy("cuMemcpyHtoDAsync_v2", OP_HTOD, (uintptr_t)destination, (uintptr_t)source, bytes, stream);
  END
}

EXPORT CUresult cuMemcpyDtoHAsync_v2(void* destination, CUdeviceptr source, size_t bytes, CUstream stream) {
  BEGIN("cuMemcpyDtoHAsync_v2", 1, " %zu S%lu", bytes, (unsigned long)(uintptr_t)stream)
  result = copy("cuMemcpyDtoHAsync_v2", OP_DTOH, (uintptr_t)destination, (uintptr_t)source, bytes, stream);
  END
}

EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr destination, CUdeviceptr source, size_t bytes, CUstream stream) {
  BEGIN("cuMemcpyDtoDAsync_v2", 1, " %zu S%lu", bytes, (unsigned long)(uintptr_t)stream)
  result = copy("cuMemcpyDtoDAsync_v2", OP_DTOD, (uintptr_t)destination, (uintptr_t)source, bytes, stream);
  END
}

EXPORT CUresult cuModuleLoadData(CUmodule* module, const void* image) {
  BEGIN("cuModuleLoadData", 1)
  const char* ptx = (const char*)image;
  if (strstr(ptx, ".version ") == NULL || strstr(ptx, ".target sm_80") == NULL || strstr(ptx, ".entry ken_patch(") == NULL) {
    result = fail(ERROR_INVALID_PTX, "image is not the ken_patch PTX");
    goto done;
  }
  module_loaded = 1;
  *module = &module_tag;
  END
}

EXPORT CUresult cuModuleGetFunction(CUfunction* function, CUmodule module, const char* name) {
  BEGIN("cuModuleGetFunction", 1, " %s", name)
  if (module != &module_tag || !module_loaded) { result = fail(ERROR_INVALID_HANDLE, "module not loaded"); goto done; }
  if (strcmp(name, "ken_patch") != 0) { result = fail(ERROR_NOT_FOUND, "no kernel %s", name); goto done; }
  *function = &function_tag;
  END
}

EXPORT CUresult cuModuleUnload(CUmodule module) {
  BEGIN("cuModuleUnload", 1)
  if (module != &module_tag || !module_loaded) { result = fail(ERROR_INVALID_HANDLE, "module not loaded"); goto done; }
  module_loaded = 0;
  END
}

EXPORT CUresult cuLaunchKernel(CUfunction function, unsigned int grid_x, unsigned int grid_y, unsigned int grid_z,
                               unsigned int block_x, unsigned int block_y, unsigned int block_z, unsigned int shared_bytes,
                               CUstream stream, void** parameters, void** extra) {
  BEGIN("cuLaunchKernel", 1, " ken_patch grid=%u block=%u S%lu", grid_x, block_x, (unsigned long)(uintptr_t)stream)
  Stream* s;
  if (function != &function_tag || !module_loaded) { result = fail(ERROR_INVALID_HANDLE, "not a loaded kernel"); goto done; }
  if ((result = check_stream(stream, &s)) != SUCCESS) goto done;
  if (grid_x == 0 || grid_y != 1 || grid_z != 1 || block_x == 0 || block_x > 1024 || block_y != 1 || block_z != 1 ||
      shared_bytes != 0 || parameters == NULL || extra != NULL) {
    result = fail(ERROR_INVALID_VALUE, "launch configuration");
    goto done;
  }
  Op op = {0};
  op.kind = OP_LAUNCH;
  op.grid = grid_x;
  op.block = block_x;
  /* The driver copies the parameter values at the call, as here. */
  op.args[0] = *(const uint64_t*)parameters[0];
  op.args[1] = *(const uint32_t*)parameters[1];
  op.args[2] = *(const uint32_t*)parameters[2];
  op.args[3] = *(const uint64_t*)parameters[3];
  op.args[4] = *(const uint64_t*)parameters[4];
  op.args[5] = *(const uint64_t*)parameters[5];
  result = enqueue(s, &op);
  END
}

EXPORT CUresult cuGetErrorName(CUresult error, const char** name) {
  for (size_t i = 0; i < sizeof error_names / sizeof error_names[0]; ++i) {
    if (error_names[i].code == error) { *name = error_names[i].name; return SUCCESS; }
  }
  return ERROR_INVALID_VALUE;
}

EXPORT CUresult cuGetErrorString(CUresult error, const char** text) {
  for (size_t i = 0; i < sizeof error_names / sizeof error_names[0]; ++i) {
    if (error_names[i].code == error) { *text = error_names[i].text; return SUCCESS; }
  }
  return ERROR_INVALID_VALUE;
}

/* ---- test controls ---- */

/* Clears the log, an injected failure and the sticky error; keeps allocations, streams, retains. */
EXPORT void fake_cuda_reset(void) {
  pthread_mutex_lock(&lock);
  log_length = 0;
  if (log_text) log_text[0] = 0;
  fail_result = 0;
  sticky = 0;
  last_error[0] = 0;
  device_count = 1;
  pthread_mutex_unlock(&lock);
}

EXPORT void fake_cuda_set_device_count(int count) {
  pthread_mutex_lock(&lock);
  device_count = count;
  if (count == 0) initialized = 0;
  pthread_mutex_unlock(&lock);
}

/* The next call named `call` returns `result` without doing anything. */
EXPORT void fake_cuda_fail_next(const char* call, int result) {
  pthread_mutex_lock(&lock);
  snprintf(fail_call, sizeof fail_call, "%s", call);
  fail_result = result;
  pthread_mutex_unlock(&lock);
}

/* The call log since the last reset, one call per line (indented lines are failures). The pointer
 * stays valid until the next call into the fake. */
EXPORT const char* fake_cuda_log(void) { return log_text ? log_text : ""; }

EXPORT const char* fake_cuda_last_error(void) { return last_error; }

EXPORT int fake_cuda_live_allocations(int kind) {
  pthread_mutex_lock(&lock);
  int n = 0;
  for (int i = 0; i < allocation_count; ++i) n += (int)allocations[i].kind == kind;
  pthread_mutex_unlock(&lock);
  return n;
}

EXPORT int fake_cuda_pending_ops(void) {
  pthread_mutex_lock(&lock);
  int n = 0;
  for (int i = 0; i < MAX_STREAMS; ++i) n += streams[i].alive ? streams[i].count : 0;
  pthread_mutex_unlock(&lock);
  return n;
}

EXPORT int fake_cuda_retains(void) { return retains; }
