#ifndef KEEL_LOADER_H
#define KEEL_LOADER_H

#include <keel/vm.h>

/* Load the VM's payload (Multiboot v1 kernel or flat binary) from its boot
 * module into guest RAM and set vCPU 0's entry state. 0, or -1 with a reason. */
int loader_load(struct vm *vm, const void *image, uint64_t size, char *err, size_t errlen);

#endif
