/* virtio-rng (virtio 1.2, "Entropy Device"): one queue; every writable
 * byte the driver offers is filled from the host CPU's RDRAND, a
 * conditioned hardware source. A VM gets one with `rng = yes`; a CPU
 * without RDRAND refuses to start such a VM rather than give it weaker
 * bytes. */
#include <arch/random.h>
#include <keel/console.h>
#include <keel/vdev.h>
#include <keel/virtio_dev.h>

#define VIRTIO_ID_RNG 4
#define RNG_DEVFN 0x18 /* 00:03.0 */
#define RNG_BAR0 0xE0000000u /* the first BAR of the PCI window */
#define RNG_INTX_IRQ 11
#define RNG_QUEUE_SIZE 64
#define CHUNK 256 /* bytes generated per copy into the guest */
#define CHAIN_MAX 4096 /* bytes per request: the driver asks for less */

static void rng_notify(struct virtio_dev *d, unsigned q)
{
	uint64_t buf[CHUNK / 8];

	while (virtio_dev_pop(d, q) > 0) {
		uint64_t want = d->chain.write_len < CHAIN_MAX ? d->chain.write_len : CHAIN_MAX;
		uint32_t done = 0;
		while (done < want) {
			uint32_t n = want - done < CHUNK ? (uint32_t)(want - done) : CHUNK;
			unsigned words = (n + 7) / 8, got = 0;
			while (got < words && arch_random64(&buf[got]))
				got++;
			if (got * 8 < n)
				n = got * 8; /* the source ran dry: hand over what there is */
			if (!n || virtio_dev_write(d, done, buf, n) != n)
				break;
			done += n;
		}
		virtio_dev_push(d, q, done);
	}
}

static const struct virtio_model rng_model = {.name = "virtio-rng", .notify = rng_notify};

static int rng_create(struct vm *vm)
{
	const struct virtio_pci_params params = {
	    .device_id = VIRTIO_ID_RNG,
	    .class_code = 0x00FF00, /* unclassified device */
	    .features = VQ_F_INDIRECT_DESC | VQ_F_EVENT_IDX,
	    .num_queues = 1,
	    .queue_size = RNG_QUEUE_SIZE,
	};

	if (!vm->cfg->rng)
		return 0;
	if (!arch_has_random()) {
		klog("vm %s: rng = yes, but this CPU has no RDRAND to feed virtio-rng", vm->name);
		return -1;
	}
	vm->rng =
	    virtio_dev_create(vm, RNG_DEVFN, RNG_BAR0, RNG_INTX_IRQ, params, &rng_model, NULL);
	return vm->rng ? 0 : -1;
}

static void rng_destroy(struct vm *vm)
{
	if (vm->rng)
		virtio_dev_destroy(vm->rng);
	vm->rng = NULL;
}

const struct vdev_type vdev_virtio_rng = {
    .name = "virtio-rng",
    .create = rng_create,
    .destroy = rng_destroy,
};
