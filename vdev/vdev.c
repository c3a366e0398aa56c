/* The devices every VM gets, in creation order. */
#include <keel/string.h>
#include <keel/vdev.h>

static const struct vdev_type *const vm_devices[] = {
    &vdev_pc_platform, &vdev_uart16550,  &vdev_debug_exit,
    &vdev_virtio_rng, /* after the platform: they sit on its PCI bus */
    &vdev_virtio_net,  &vdev_virtio_blk, &vdev_virtio_console,
};
#define NDEV (sizeof(vm_devices) / sizeof(vm_devices[0]))

int vdev_create_all(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < NDEV; i++) {
		if (vm_devices[i]->create(vm)) {
			snprintf(err, errlen, "cannot create device %s", vm_devices[i]->name);
			return -1;
		}
	}
	return 0;
}

void vdev_destroy_all(struct vm *vm)
{
	for (unsigned i = NDEV; i-- > 0;)
		if (vm_devices[i]->destroy)
			vm_devices[i]->destroy(vm);
}

void vdev_flush_all(struct vm *vm)
{
	for (unsigned i = 0; i < NDEV; i++)
		if (vm_devices[i]->flush)
			vm_devices[i]->flush(vm);
}
