#ifndef KEEL_PIO_STRING_H
#define KEEL_PIO_STRING_H

#include <keel/vm.h>

/* INS/OUTS with or without REP (core/pio_string.c). */
void pio_string(struct vcpu *v, const struct vm_exit *e);

#endif
