#ifndef KEEL_MMIO_H
#define KEEL_MMIO_H

#include <keel/vm.h>

/* A nested page fault on device memory: emulate the access. False if GPA
 * belongs to no device (the caller stops the VM). */
bool mmio_handle(struct vcpu *v, const struct vm_exit *e);

#endif
