#ifndef ARCH_FPU_H
#define ARCH_FPU_H

#include <stdint.h>

/* Guests own the FPU/SSE/AVX registers; Keel never touches them, except to
 * switch them between vCPUs that share a physical CPU. */
void fpu_init_cpu(void); /* on every CPU: CR4 bits, XCR0 */
void *fpu_alloc_state(void); /* initial (reset) state for a new vCPU */
void fpu_free_state(void *state);
void fpu_save(void *state);
void fpu_restore(const void *state);
uint64_t fpu_xcr0_supported(void);

#endif
