#ifndef KEEL_PIO_STRING_H
#define KEEL_PIO_STRING_H

#include <keel/vm.h>

/* INS/OUTS with or without REP (core/pio_string.c). */
void pio_string(struct vcpu *v, const struct vm_exit *e);
/* A page fault injected into the guest needs its faulting address in CR2. */
void pio_string_set_cr2(struct vcpu *v, uint64_t cr2);

#endif
