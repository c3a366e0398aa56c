/* The list of host block devices and the checked entry points to them.
 * Devices are added at boot (host drivers' probe, on the boot CPU) and never
 * removed, so lookups need no lock; one request at a time per device holds
 * the device's lock, since drivers keep one command in flight. */
#include <keel/blkdev.h>
#include <keel/console.h>
#include <keel/string.h>
#include <stdbool.h>

static struct blkdev *devices[BLKDEV_MAX];
static unsigned ndevices;
static spinlock_t list_lock = SPINLOCK_INIT;

int blkdev_register(struct blkdev *b)
{
	if (!b->ops || !b->block_size || !b->nblocks || !b->name[0]) {
		klog("blkdev: %s: incomplete description; not added", b->name);
		return -1;
	}
	spin_lock(&list_lock);
	int ret = -1;
	if (ndevices == BLKDEV_MAX)
		klog("blkdev: %s: more than %u block devices; not added", b->name, BLKDEV_MAX);
	else if (blkdev_find(b->name))
		klog("blkdev: %s: name already taken; not added", b->name);
	else {
		b->lock = (spinlock_t)SPINLOCK_INIT;
		/* publish the filled entry before the count that makes it visible */
		devices[ndevices] = b;
		__atomic_store_n(&ndevices, ndevices + 1, __ATOMIC_RELEASE);
		ret = 0;
	}
	spin_unlock(&list_lock);
	return ret;
}

unsigned blkdev_count(void)
{
	return __atomic_load_n(&ndevices, __ATOMIC_ACQUIRE);
}

struct blkdev *blkdev_get(unsigned i)
{
	return i < blkdev_count() ? devices[i] : NULL;
}

struct blkdev *blkdev_find(const char *name)
{
	for (unsigned i = 0; i < blkdev_count(); i++)
		if (strncmp(devices[i]->name, name, BLKDEV_NAME_MAX) == 0)
			return devices[i];
	return NULL;
}

/* A request of COUNT blocks at LBA fits the device and BLKDEV_MAX_IO.
 * COUNT 0 is refused too: it is always a caller's mistake. */
static bool request_fits(const struct blkdev *b, uint64_t lba, uint32_t count, const void *buf,
			 const char *what)
{
	if (buf && count && lba < b->nblocks && count <= b->nblocks - lba &&
	    (uint64_t)count * b->block_size <= BLKDEV_MAX_IO)
		return true;
	klog("blkdev: %s: %s of %u blocks at %lu refused (device has %lu blocks, at most %u bytes "
	     "per request)",
	     b->name, what, count, lba, b->nblocks, BLKDEV_MAX_IO);
	return false;
}

int blkdev_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf)
{
	if (!request_fits(b, lba, count, buf, "read"))
		return -1;
	spin_lock(&b->lock);
	int ret = b->ops->read(b, lba, count, buf);
	spin_unlock(&b->lock);
	return ret;
}

int blkdev_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf)
{
	if (!request_fits(b, lba, count, buf, "write"))
		return -1;
	spin_lock(&b->lock);
	int ret = b->ops->write(b, lba, count, buf);
	spin_unlock(&b->lock);
	return ret;
}

int blkdev_flush(struct blkdev *b)
{
	spin_lock(&b->lock);
	int ret = b->ops->flush(b);
	spin_unlock(&b->lock);
	return ret;
}
