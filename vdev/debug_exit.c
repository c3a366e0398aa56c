/* QEMU's isa-debug-exit at port 0xF4: writing v ends the VM with status
 * (v << 1) | 1, so test kernels written for QEMU can report a result. */
#include <keel/vdev.h>

#define DEBUG_EXIT_PORT 0xF4

static void debug_exit_write(void *dev, uint64_t off, unsigned size, uint32_t value)
{
	struct vm *vm = dev;

	(void)off;
	(void)size;
	vm->exit_status = (int)((value << 1) | 1);
	vm_stop(vm, "exited with status %d", vm->exit_status);
}

static uint32_t debug_exit_read(void *dev, uint64_t off, unsigned size)
{
	(void)dev;
	(void)off;
	(void)size;
	return 0xFFFFFFFF;
}

static int debug_exit_create(struct vm *vm)
{
	struct io_range r = {DEBUG_EXIT_PORT, 4, vm, debug_exit_read, debug_exit_write};

	return io_bus_register(&vm->pio, &r);
}

const struct vdev_type vdev_debug_exit = {
    .name = "debug-exit",
    .create = debug_exit_create,
};
