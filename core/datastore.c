/* The datastore on a host block device (include/keel/datastore.h). One
 * lock serialises metadata updates and volume creation; volume I/O takes
 * only the block device's own lock (blkdev_read/write). */
#include <arch/random.h>
#include <arch/time.h>
#include <arch/x86.h>
#include <keel/blkdev.h>
#include <keel/bootinfo.h>
#include <keel/console.h>
#include <keel/datastore.h>
#include <keel/datastore_fmt.h>
#include <keel/heap.h>
#include <keel/spinlock.h>
#include <keel/string.h>

#define SECTOR 512u
#define PROGRESS_BYTES (256ull << 20) /* a progress line per this much copied */

struct ds_open {
	struct ds_volume *vol; /* its entry in the mounted metadata */
	char vm[CFG_NAME_MAX];
	uint64_t first_block, nblocks; /* on the device */
};

static struct {
	spinlock_t lock;
	struct blkdev *dev;
	struct ds_meta meta;
	struct ds_open *open[DS_MAX_VOLUMES]; /* by volume entry index */
	uint8_t *meta_buf; /* DS_META_AREA bytes */
	uint8_t *bounce; /* BLKDEV_MAX_IO bytes, for creation */
} ds = {.lock = SPINLOCK_INIT};

static uint64_t dev_bytes(void)
{
	return ds.dev->nblocks * ds.dev->block_size;
}

/* Bytes at byte OFFSET of the device; both multiples of its block size. */
static int dev_io(bool write, uint64_t offset, uint64_t bytes, void *buf)
{
	uint32_t bs = ds.dev->block_size;
	uint8_t *p = buf;

	while (bytes) {
		uint32_t n = bytes < BLKDEV_MAX_IO ? (uint32_t)bytes : BLKDEV_MAX_IO;
		int rc = write ? blkdev_write(ds.dev, offset / bs, n / bs, p)
			       : blkdev_read(ds.dev, offset / bs, n / bs, p);
		if (rc)
			return -1;
		offset += n, bytes -= n, p += n;
	}
	return 0;
}

/* Write the metadata: copy B, flush, copy A, flush (see datastore_fmt.h). */
static int write_meta(void)
{
	ds.meta.generation++;
	memset(ds.meta_buf, 0, DS_META_AREA);
	ds_encode(&ds.meta, ds.meta_buf);
	if (dev_io(true, DS_COPY_B, DS_META_AREA, ds.meta_buf) || blkdev_flush(ds.dev) ||
	    dev_io(true, DS_COPY_A, DS_META_AREA, ds.meta_buf) || blkdev_flush(ds.dev)) {
		klog("datastore %s: cannot write its metadata (device error)", ds.dev->name);
		return -1;
	}
	return 0;
}

static enum ds_check read_copy(uint64_t at, struct ds_meta *m, char *why, size_t len)
{
	if (dev_io(false, at, DS_META_AREA, ds.meta_buf)) {
		snprintf(why, len, "read error");
		return DS_BAD_CHECKSUM;
	}
	return ds_decode(ds.meta_buf, dev_bytes(), m, why, len);
}

static int format_device(void)
{
	uint8_t uuid[16];

	for (unsigned i = 0; i < 2; i++) {
		uint64_t r = 0;
		if (!arch_random64(&r))
			r = rdtsc() * 0x9E3779B97F4A7C15ull + i;
		memcpy(uuid + 8 * i, &r, 8);
	}
	ds_format(&ds.meta, dev_bytes(), uuid);
	ds.meta.generation = 0; /* write_meta makes it 1 */
	if (write_meta())
		return -1;
	klog("datastore %s: formatted (%lu MiB, version %u); it holds no volumes yet", ds.dev->name,
	     dev_bytes() >> 20, DS_VERSION);
	return 0;
}

static int mount_locked(const struct cfg *cfg)
{
	struct ds_meta *b = kzalloc(sizeof(*b));
	char why_a[96], why_b[96];

	if (!b)
		return -1;
	enum ds_check ra = read_copy(DS_COPY_A, &ds.meta, why_a, sizeof(why_a));
	enum ds_check rb = read_copy(DS_COPY_B, b, why_b, sizeof(why_b));
	int rc = 0;
	if (ra == DS_OK && rb == DS_OK && b->generation > ds.meta.generation)
		memcpy(&ds.meta, b, sizeof(*b)); /* an update stopped between B and A */
	else if (ra != DS_OK && rb == DS_OK)
		memcpy(&ds.meta, b, sizeof(*b));
	if (ra == DS_OK || rb == DS_OK) {
		if (ra != rb || ds.meta.generation != b->generation) {
			klog("datastore %s: copy %c of the metadata is stale or damaged (%s); "
			     "rewriting it",
			     ds.dev->name, ra == DS_OK ? 'B' : 'A', ra == DS_OK ? why_b : why_a);
			rc = write_meta();
		}
	} else if (ra == DS_NO_MAGIC && rb == DS_NO_MAGIC) {
		if (cfg->datastore_format)
			rc = format_device();
		else {
			klog("datastore %s: the device holds no datastore; add 'datastore-format = "
			     "yes' to [keel] to create one (it erases the device)",
			     ds.dev->name);
			rc = -1;
		}
	} else {
		klog("datastore %s: damaged, not mounted and not touched (copy A: %s; copy B: "
		     "%s)",
		     ds.dev->name, why_a, why_b);
		rc = -1;
	}
	kfree(b);
	return rc;
}

int datastore_mount(const struct cfg *cfg)
{
	if (!cfg->datastore[0])
		return 0;
	struct blkdev *dev = blkdev_find(cfg->datastore);
	if (!dev) {
		klog("datastore: no host block device called '%s' (found %u: see the driver lines "
		     "above); VMs with disks will not start",
		     cfg->datastore, blkdev_count());
		return -1;
	}
	if (dev->block_size > DS_META_AREA || DS_META_AREA % dev->block_size ||
	    dev->nblocks * dev->block_size < DS_MIN_DEVICE) {
		klog("datastore %s: a %lu-byte device with %u-byte blocks cannot hold one",
		     dev->name, dev->nblocks * dev->block_size, dev->block_size);
		return -1;
	}
	ds.meta_buf = kzalloc(DS_META_AREA);
	ds.bounce = kzalloc(BLKDEV_MAX_IO);
	if (!ds.meta_buf || !ds.bounce)
		return -1;
	spin_lock(&ds.lock);
	ds.dev = dev;
	int rc = mount_locked(cfg);
	if (rc)
		ds.dev = NULL;
	spin_unlock(&ds.lock);
	if (!rc) {
		unsigned n = 0;
		for (unsigned i = 0; i < DS_MAX_VOLUMES; i++)
			n += ds.meta.vol[i].name[0] != 0;
		klog("datastore %s: mounted, %u volume%s, %lu MiB free", dev->name, n,
		     n == 1 ? "" : "s", ds_free_bytes(&ds.meta, NULL) >> 20);
	}
	return rc;
}

/* Fill a new volume: the image's bytes, zeros after them. Zeroing matters:
 * the device may hold an earlier tenant's data. */
static int fill_volume(const struct ds_volume *v, const struct boot_module *image)
{
	uint64_t img = image ? image->end - image->start : 0, next_note = PROGRESS_BYTES;
	uint64_t t0 = time_ns();

	for (uint64_t off = 0; off < v->size; off += BLKDEV_MAX_IO) {
		uint64_t n = v->size - off < BLKDEV_MAX_IO ? v->size - off : BLKDEV_MAX_IO;
		memset(ds.bounce, 0, BLKDEV_MAX_IO);
		if (off < img)
			memcpy(ds.bounce, (const void *)(uintptr_t)(image->start + off),
			       img - off < n ? img - off : n);
		if (dev_io(true, v->start + off, n, ds.bounce))
			return -1;
		if (off + n >= next_note && off + n < v->size) {
			klog("datastore: volume %s: %lu of %lu MiB written", v->name,
			     (off + n) >> 20, v->size >> 20);
			next_note += PROGRESS_BYTES;
		}
	}
	if (blkdev_flush(ds.dev))
		return -1;
	klog("datastore: volume %s: %lu MiB %s in %lu ms", v->name, v->size >> 20,
	     image ? "imported" : "zeroed", (time_ns() - t0) / 1000000);
	return 0;
}

static struct ds_volume *create_locked(const char *name, uint64_t size, const char *image_name,
				       char *err, size_t errlen)
{
	const struct boot_module *image = NULL;

	if (image_name[0]) {
		image = boot_find_module(image_name);
		if (!image) {
			snprintf(err, errlen, "disk-image %s is not among the boot modules",
				 image_name);
			return NULL;
		}
		uint64_t img = image->end - image->start;
		if (size && size < img) {
			snprintf(err, errlen, "disk-image %s (%lu bytes) is bigger than disk-size",
				 image_name, img);
			return NULL;
		}
		if (!size)
			size = img;
	}
	if (!size) {
		snprintf(err, errlen,
			 "volume %s does not exist; give disk-size (or disk-image) to create it",
			 name);
		return NULL;
	}
	struct ds_volume *v = ds_create(&ds.meta, name, size, err, errlen);
	if (!v)
		return NULL;
	klog("datastore: creating volume %s (%lu MiB%s%s)", name, v->size >> 20,
	     image ? " from " : "", image ? image_name : "");
	if (fill_volume(v, image) || write_meta()) {
		snprintf(err, errlen, "device error while creating volume %s", name);
		memset(v, 0, sizeof(*v));
		return NULL;
	}
	return v;
}

struct ds_open *datastore_open(const char *vm, const char *name, uint64_t create_size,
			       const char *image, char *err, size_t errlen)
{
	struct ds_open *o = NULL;

	spin_lock(&ds.lock);
	if (!ds.dev) {
		snprintf(err, errlen, "disk %s: no datastore is mounted (see [keel] datastore)",
			 name);
		goto out;
	}
	struct ds_volume *v = ds_find(&ds.meta, name);
	if (v && (create_size > v->size || image[0]))
		klog("vm %s: volume %s exists (%lu MiB): disk-size and disk-image apply only "
		     "when it is created",
		     vm, name, v->size >> 20);
	if (!v)
		v = create_locked(name, create_size, image, err, errlen);
	if (!v)
		goto out;
	unsigned idx = (unsigned)(v - ds.meta.vol);
	if (ds.open[idx]) {
		snprintf(err, errlen, "volume %s is in use by vm %s", name, ds.open[idx]->vm);
		goto out;
	}
	o = kzalloc(sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	o->vol = v;
	strlcpy(o->vm, vm, sizeof(o->vm));
	o->first_block = v->start / ds.dev->block_size;
	o->nblocks = v->size / ds.dev->block_size;
	ds.open[idx] = o;
out:
	spin_unlock(&ds.lock);
	return o;
}

void datastore_close(struct ds_open *o)
{
	if (!o)
		return;
	spin_lock(&ds.lock);
	ds.open[o->vol - ds.meta.vol] = NULL;
	spin_unlock(&ds.lock);
	kfree(o);
}

uint64_t datastore_sectors(const struct ds_open *o)
{
	return o->vol->size / SECTOR;
}

uint32_t datastore_block_size(const struct ds_open *o)
{
	(void)o;
	return ds.dev->block_size;
}

const char *datastore_volume_name(const struct ds_open *o)
{
	return o->vol->name;
}

/* Blocks for [sector, sector + bytes) inside the volume, or -1. */
static int64_t volume_block(const struct ds_open *o, uint64_t sector, uint32_t bytes)
{
	uint32_t bs = ds.dev->block_size;
	uint64_t sectors = o->vol->size / SECTOR;

	if (!bytes || bytes > BLKDEV_MAX_IO || bytes % bs || (sector * SECTOR) % bs ||
	    sector >= sectors || bytes / SECTOR > sectors - sector)
		return -1;
	return (int64_t)(o->first_block + sector * SECTOR / bs);
}

int datastore_read(struct ds_open *o, uint64_t sector, uint32_t bytes, void *buf)
{
	int64_t lba = volume_block(o, sector, bytes);
	return lba < 0 ? -1 : blkdev_read(ds.dev, (uint64_t)lba, bytes / ds.dev->block_size, buf);
}

int datastore_write(struct ds_open *o, uint64_t sector, uint32_t bytes, const void *buf)
{
	int64_t lba = volume_block(o, sector, bytes);
	return lba < 0 ? -1 : blkdev_write(ds.dev, (uint64_t)lba, bytes / ds.dev->block_size, buf);
}

int datastore_flush(struct ds_open *o)
{
	(void)o;
	return blkdev_flush(ds.dev);
}

void datastore_print(void)
{
	if (!ds.dev) {
		kprintf("no datastore mounted\n");
		return;
	}
	spin_lock(&ds.lock);
	kprintf("datastore on %s: %lu MiB, %lu MiB free, generation %lu\n", ds.dev->name,
		ds.meta.device_bytes >> 20, ds_free_bytes(&ds.meta, NULL) >> 20,
		ds.meta.generation);
	kprintf("%-31s %10s %s\n", "VOLUME", "SIZE-MIB", "IN-USE-BY");
	for (unsigned i = 0; i < DS_MAX_VOLUMES; i++) {
		const struct ds_volume *v = &ds.meta.vol[i];
		if (v->name[0])
			kprintf("%-31s %10lu %s\n", v->name, v->size >> 20,
				ds.open[i] ? ds.open[i]->vm : "-");
	}
	spin_unlock(&ds.lock);
}
