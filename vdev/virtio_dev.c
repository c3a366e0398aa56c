/* A virtio device wired into its VM (include/keel/virtio_dev.h): the
 * transport's events turned into virtqueue set-up, model notifications and
 * interrupts; guest memory reached only through the checked accessors. */
#include <keel/apic.h>
#include <keel/console.h>
#include <keel/heap.h>
#include <keel/pci_host.h>
#include <keel/platform.h>
#include <keel/virtio_dev.h>

/* ---- Guest memory for the virtqueue engine ---- */

static int gm_read(void *ctx, uint64_t gpa, void *buf, uint32_t len)
{
	return copy_from_guest(ctx, buf, gpa, len);
}

static int gm_write(void *ctx, uint64_t gpa, const void *buf, uint32_t len)
{
	return copy_to_guest(ctx, gpa, buf, len);
}

static int gm_check(void *ctx, uint64_t gpa, uint32_t len, bool write)
{
	(void)write; /* all guest RAM is writable */
	return guest_range_ok(ctx, gpa, len) ? 0 : -1;
}

/* x86 keeps stores in order and loads in order: a compiler barrier orders
 * the used element before the used index; store-then-load needs mfence. */
static void gm_fence(void *ctx, int kind)
{
	(void)ctx;
	if (kind == VQ_FENCE_FULL)
		__asm__ volatile("mfence" ::: "memory");
	else
		__asm__ volatile("" ::: "memory");
}

static const struct vq_mem_ops guest_mem = {gm_read, gm_write, gm_check, gm_fence};

/* ---- Events and interrupts ---- */

static void broken(struct virtio_dev *d, unsigned q)
{
	const struct virtqueue *vq = q < VIRTIO_PCI_MAX_QUEUES ? &d->vq[q] : NULL;

	klog("vm %s: %s: queue %u broken by the guest (%s); device needs reset", d->vm->name,
	     d->model->name, q, vq && vq->why ? vq->why : "bad ring");
	virtio_pci_needs_reset(&d->pci);
}

/* Under the lock: act on what the transport reports, until it is quiet
 * (a model's notify can raise more events: they are bounded by the ring). */
static void drain_locked(struct virtio_dev *d)
{
	struct virtio_pci_event ev;

	while (virtio_pci_take_event(&d->pci, &ev)) {
		switch (ev.kind) {
		case VIRTIO_PCI_EV_RESET:
			for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
				vq_init(&d->vq[q]);
			break;
		case VIRTIO_PCI_EV_QUEUE_ENABLED:
			if (ev.queue >= VIRTIO_PCI_MAX_QUEUES ||
			    vq_setup(&d->vq[ev.queue], ev.size, ev.desc, ev.driver, ev.device,
				     d->pci.driver_features))
				broken(d, ev.queue);
			break;
		case VIRTIO_PCI_EV_QUEUE_NOTIFY:
			if (ev.queue < VIRTIO_PCI_MAX_QUEUES && !d->vq[ev.queue].broken)
				d->model->notify(d, ev.queue);
			break;
		case VIRTIO_PCI_EV_MSI:
			if (d->nout < VIRTIO_DEV_OUTBOX)
				d->out[d->nout++] = ev.msi;
			break;
		case VIRTIO_PCI_EV_INTX:
			d->intx_level = ev.value;
			break;
		default:
			break;
		}
	}
}

/* Drop the lock, then deliver what the device raised. */
static void unlock_and_deliver(struct virtio_dev *d)
{
	struct virtio_pci_msi out[VIRTIO_DEV_OUTBOX];
	unsigned n = d->nout;
	int intx = d->intx_level;

	for (unsigned i = 0; i < n; i++)
		out[i] = d->out[i];
	d->nout = 0;
	d->intx_level = -1;
	spin_unlock(&d->lock);
	for (unsigned i = 0; i < n; i++)
		apic_deliver_msi(d->vm, out[i].addr, out[i].data);
	if (intx >= 0)
		vm_irq_line(d->vm, d->intx_irq, intx);
}

/* ---- PCI: configuration space and BAR 0 ---- */

static uint32_t cfg_read(void *dev, unsigned off, unsigned size)
{
	struct virtio_dev *d = dev;
	uint32_t v;

	spin_lock(&d->lock);
	v = virtio_pci_cfg_ops.cfg_read(&d->pci, off, size);
	drain_locked(d);
	spin_unlock(&d->lock); /* under the platform lock: deliver later */
	return v;
}

static void cfg_write(void *dev, unsigned off, unsigned size, uint32_t value)
{
	struct virtio_dev *d = dev;

	spin_lock(&d->lock);
	virtio_pci_cfg_ops.cfg_write(&d->pci, off, size, value);
	drain_locked(d);
	spin_unlock(&d->lock);
}

static bool in_bar(struct virtio_dev *d, uint64_t addr, uint64_t *off)
{
	uint64_t base;

	if (!virtio_pci_bar0(&d->pci, &base) || addr < base || addr - base >= VIRTIO_PCI_BAR_SIZE)
		return false;
	*off = addr - base;
	return true;
}

/* A BAR 0 access: false if BAR 0 does not decode ADDR. */
static bool mem_access(struct virtio_dev *d, uint64_t addr, unsigned size, uint32_t *value,
		       bool write)
{
	uint64_t off;

	spin_lock(&d->lock);
	if (!in_bar(d, addr, &off)) {
		spin_unlock(&d->lock);
		return false;
	}
	if (write)
		virtio_pci_mmio_write(&d->pci, (uint32_t)off, size, *value);
	else
		*value = virtio_pci_mmio_read(&d->pci, (uint32_t)off, size);
	drain_locked(d);
	unlock_and_deliver(d);
	if (d->model->flush)
		d->model->flush(d);
	return true;
}

static bool mem_read(void *dev, uint64_t addr, unsigned size, uint32_t *value)
{
	return mem_access(dev, addr, size, value, false);
}

static bool mem_write(void *dev, uint64_t addr, unsigned size, uint32_t value)
{
	return mem_access(dev, addr, size, &value, true);
}

static const struct pci_dev_ops virtio_dev_pci_ops = {cfg_read, cfg_write, mem_read, mem_write};

/* ---- For device models ---- */

int virtio_dev_pop(struct virtio_dev *d, unsigned q)
{
	int rc = vq_pop(&d->vq[q], &guest_mem, d->vm, &d->chain);

	if (rc < 0)
		broken(d, q);
	return rc;
}

void virtio_dev_push(struct virtio_dev *d, unsigned q, uint32_t written)
{
	int rc = vq_push(&d->vq[q], &guest_mem, d->vm, d->chain.head, written);

	if (rc < 0)
		broken(d, q);
	else if (rc > 0)
		virtio_pci_signal_queue(&d->pci, q);
}

int64_t virtio_dev_read(struct virtio_dev *d, uint64_t offset, void *buf, uint32_t len)
{
	return vq_chain_read(&d->chain, &guest_mem, d->vm, offset, buf, len);
}

void virtio_dev_begin(struct virtio_dev *d)
{
	spin_lock(&d->lock);
}

void virtio_dev_end(struct virtio_dev *d)
{
	drain_locked(d);
	unlock_and_deliver(d);
}

bool virtio_dev_live(const struct virtio_dev *d)
{
	return (d->pci.status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) ==
	       VIRTIO_STATUS_DRIVER_OK;
}

int64_t virtio_dev_write(struct virtio_dev *d, uint64_t offset, const void *buf, uint32_t len)
{
	return vq_chain_write(&d->chain, &guest_mem, d->vm, offset, buf, len);
}

/* ---- Life cycle ---- */

struct virtio_dev *virtio_dev_create(struct vm *vm, unsigned devfn, uint32_t bar0,
				     unsigned intx_irq, struct virtio_pci_params params,
				     const struct virtio_model *model, void *model_state)
{
	struct virtio_dev *d = kzalloc(sizeof(*d));

	if (!d)
		return NULL;
	d->vm = vm;
	d->model = model;
	d->model_state = model_state;
	d->intx_irq = intx_irq;
	d->intx_level = -1;
	for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
		vq_init(&d->vq[q]);
	params.bar0 = bar0;
	if (virtio_pci_init(&d->pci, &params) ||
	    platform_pci_add(vm, devfn, &virtio_dev_pci_ops, d)) {
		kfree(d);
		return NULL;
	}
	return d;
}

void virtio_dev_destroy(struct virtio_dev *d)
{
	kfree(d);
}
