/* Ken patch kernel: the descriptor tables a switch reads. Shared by the CUDA kernel
 * (ken_patch.cu), its host build in the tests, the fake driver, and mirrored in C#
 * (Ken.Cuda/Patching/TensorDescriptor.cs and TaskDescriptor.cs). Plain C layout, 64-bit pointers, little-endian.
 *
 * A switch of one slot from task A to task B reads four tables, all uploaded before the switch:
 *   tensors[t]   the backbone: pristine copy, element count, where tensor t's chunks start
 *   weights[t]   the slot: its weight buffer for tensor t
 *   from[t]      task A (NULL: the slot holds the base weights)
 *   to[t]        task B (NULL: restore the base weights)
 * so a switch uploads nothing and is exactly one launch. */
#ifndef KEN_PATCH_H
#define KEN_PATCH_H

#include <stdint.h>

/* Elements per mask word, and mask words per chunk (the unit of work of one warp). */
#define KEN_WORD_BITS 32u
#define KEN_CHUNK_WORDS 32u
#define KEN_CHUNK_ELEMENTS (KEN_WORD_BITS * KEN_CHUNK_WORDS)

/* Value encodings of a task's kept values. */
#define KEN_VALUES_F32 0u
#define KEN_VALUES_F16 1u
#define KEN_VALUES_BF16 2u

/* One backbone tensor (32 bytes). */
typedef struct ken_tensor_desc {
  const float* pristine;  /* the untouched base weights, count elements */
  uint32_t count;         /* elements */
  uint32_t words;         /* mask words: ceil(count / 32) */
  uint32_t chunk_begin;   /* first global chunk of this tensor; ascending over the table */
  uint32_t chunk_count;   /* ceil(words / KEN_CHUNK_WORDS) */
  uint64_t reserved;
} ken_tensor_desc;

/* One tensor of a bound task (32 bytes); mask == NULL when the task leaves the tensor alone. */
typedef struct ken_task_desc {
  const uint32_t* mask;     /* words of the LSB-first bitmap; bits past count are zero */
  const uint32_t* offsets;  /* offsets[w]: set bits in words 0..w-1 (rank of word w's first value) */
  const void* values;       /* kept values, ascending element order, encoded as value_type */
  uint32_t value_type;      /* KEN_VALUES_* */
  uint32_t value_count;     /* set bits in the whole mask */
} ken_task_desc;

#endif
