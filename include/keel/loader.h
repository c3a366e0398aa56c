#ifndef KEEL_LOADER_H
#define KEEL_LOADER_H

#include <keel/vm.h>

/* Load the VM's payload (Multiboot v1 kernel or flat binary) from its boot
 * module into guest RAM and set vCPU 0's entry state. 0, or -1 with a reason. */
int loader_load(struct vm *vm, const void *image, uint64_t size, const void *initrd,
		uint64_t initrd_size, char *err, size_t errlen);
/* Linux bzImage (core/loader_linux.c). */
bool loader_is_bzimage(const uint8_t *img, uint64_t size);
int loader_load_linux(struct vm *vm, const uint8_t *img, uint64_t size, const uint8_t *initrd,
		      uint64_t initrd_size, char *err, size_t errlen);

#endif
