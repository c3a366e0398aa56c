/* virtio-blk (virtio 1.2, "Block Device"): one request queue over a
 * datastore volume (`disk = NAME`). Requests are served when the driver
 * notifies, synchronously: the vCPU that notified waits for the host disk,
 * as it would for a real controller's completion, and no other vCPU of the
 * VM is held up but one that touches this device meanwhile.
 *
 * Writes complete once the host device has them (possibly in its volatile
 * cache); VIRTIO_BLK_F_FLUSH tells the driver so, and a flush request
 * completes only after the host device's flush has: data a guest has
 * flushed survives a power cut. Every request is checked: its header, its
 * sector range against the volume, its lengths; a bad one gets IOERR or
 * UNSUPP, never touches other memory. */
#include <keel/blkdev.h>
#include <keel/console.h>
#include <keel/datastore.h>
#include <keel/heap.h>
#include <keel/string.h>
#include <keel/vdev.h>
#include <keel/virtio_dev.h>

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_SEG_MAX (1ULL << 2)
#define VIRTIO_BLK_F_BLK_SIZE (1ULL << 6)
#define VIRTIO_BLK_F_FLUSH (1ULL << 9)
#define BLK_DEVFN 0x30 /* 00:06.0 */
#define BLK_BAR0 0xE000C000u
#define BLK_INTX_IRQ 5
#define BLK_QUEUE_SIZE 128
#define BLK_SEG_MAX (BLK_QUEUE_SIZE - 2) /* data segments beside header and status */
#define CFG_LEN 24 /* capacity, size_max, seg_max, geometry, blk_size */

/* Request types and statuses (the spec's). */
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define HDR_LEN 16
#define SECTOR 512u
#define ID_LEN 20

struct blk {
	struct virtio_dev *dev;
	struct ds_open *vol;
	uint64_t sectors;
	uint32_t block_size;
	uint64_t reads, writes, flushes, errors;
	uint8_t *bounce; /* BLKDEV_MAX_IO bytes */
};

/* Data of an IN request into the chain's writable part, chunk by chunk. */
static uint8_t do_read(struct blk *b, struct virtio_dev *d, uint64_t sector, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		uint32_t n = len - done < BLKDEV_MAX_IO ? (uint32_t)(len - done) : BLKDEV_MAX_IO;
		if (datastore_read(b->vol, sector + done / SECTOR, n, b->bounce) ||
		    virtio_dev_write(d, done, b->bounce, n) != n)
			return S_IOERR;
		done += n;
	}
	b->reads++;
	return S_OK;
}

static uint8_t do_write(struct blk *b, struct virtio_dev *d, uint64_t sector, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		uint32_t n = len - done < BLKDEV_MAX_IO ? (uint32_t)(len - done) : BLKDEV_MAX_IO;
		if (virtio_dev_read(d, HDR_LEN + done, b->bounce, n) != n ||
		    datastore_write(b->vol, sector + done / SECTOR, n, b->bounce))
			return S_IOERR;
		done += n;
	}
	b->writes++;
	return S_OK;
}

/* Serve the chain in d->chain; returns the bytes written to its writable
 * part (data and status). */
static uint32_t serve(struct blk *b, struct virtio_dev *d)
{
	uint8_t hdr[HDR_LEN], status = S_UNSUPP;
	uint64_t rlen = d->chain.read_len, wlen = d->chain.write_len, data = 0;

	if (!wlen)
		return 0; /* nowhere to put a status: the driver is broken; nothing to do */
	if (rlen < HDR_LEN || virtio_dev_read(d, 0, hdr, HDR_LEN) != HDR_LEN) {
		status = S_IOERR;
		goto done;
	}
	uint32_t type = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
			(uint32_t)hdr[3] << 24;
	uint64_t sector = 0;
	for (int i = 7; i >= 0; i--)
		sector = sector << 8 | hdr[8 + i];
	switch (type) {
	case T_IN:
		data = wlen - 1;
		status =
		    data % SECTOR || sector >= b->sectors || data / SECTOR > b->sectors - sector
			? S_IOERR
			: do_read(b, d, sector, data);
		break;
	case T_OUT:
		data = rlen - HDR_LEN;
		status =
		    data % SECTOR || sector >= b->sectors || data / SECTOR > b->sectors - sector
			? S_IOERR
			: do_write(b, d, sector, data);
		data = 0; /* nothing written to the driver but the status */
		break;
	case T_FLUSH:
		status = datastore_flush(b->vol) ? S_IOERR : S_OK;
		b->flushes++;
		break;
	case T_GET_ID: {
		char id[ID_LEN] = {0};
		const char *name = datastore_volume_name(b->vol);
		memcpy(id, name, strnlen(name, ID_LEN));
		data = wlen - 1 < ID_LEN ? wlen - 1 : ID_LEN;
		status =
		    virtio_dev_write(d, 0, id, (uint32_t)data) == (int64_t)data ? S_OK : S_IOERR;
		break;
	}
	default:
		break;
	}
done:
	if (status != S_OK)
		b->errors++;
	virtio_dev_write(d, wlen - 1, &status, 1);
	return (uint32_t)(status == S_OK ? data + 1 : 1);
}

static void blk_notify(struct virtio_dev *d, unsigned q)
{
	struct blk *b = d->model_state;

	while (virtio_dev_pop(d, q) > 0)
		virtio_dev_push(d, q, serve(b, d));
}

static uint32_t blk_cfg_read(void *dev, unsigned off, unsigned size)
{
	const struct blk *b = dev;
	uint8_t cfg[CFG_LEN] = {0};
	uint32_t v = 0;

	for (int i = 0; i < 8; i++)
		cfg[i] = (uint8_t)(b->sectors >> (8 * i));
	for (int i = 0; i < 4; i++) {
		cfg[12 + i] = (uint8_t)((uint32_t)BLK_SEG_MAX >> (8 * i));
		cfg[20 + i] = (uint8_t)(b->block_size >> (8 * i));
	}
	for (unsigned i = 0; i < size; i++)
		if (off + i < CFG_LEN)
			v |= (uint32_t)cfg[off + i] << (8 * i);
	return v;
}

static void blk_cfg_write(void *dev, unsigned off, unsigned size, uint32_t value)
{
	(void)dev, (void)off, (void)size, (void)value; /* no writeback toggle is offered */
}

static const struct virtio_pci_device_ops blk_cfg_ops = {blk_cfg_read, blk_cfg_write};
static const struct virtio_model blk_model = {.name = "virtio-blk", .notify = blk_notify};

static void blk_destroy(struct vm *vm)
{
	struct blk *b = vm->blk;

	if (!b)
		return;
	if (b->dev)
		virtio_dev_destroy(b->dev);
	if (b->reads + b->writes + b->flushes)
		klog("vm %s: disk %s: %lu reads, %lu writes, %lu flushes, %lu errors", vm->name,
		     datastore_volume_name(b->vol), b->reads, b->writes, b->flushes, b->errors);
	datastore_close(b->vol);
	kfree(b->bounce);
	kfree(b);
	vm->blk = NULL;
}

static int blk_create(struct vm *vm)
{
	const struct cfg_vm *cfg = vm->cfg;
	char err[128];

	if (!cfg->disk[0])
		return 0;
	struct blk *b = kzalloc(sizeof(*b));
	if (!b)
		return -1;
	vm->blk = b;
	b->vol =
	    datastore_open(vm->name, cfg->disk, cfg->disk_size, cfg->disk_image, err, sizeof(err));
	if (!b->vol) {
		klog("vm %s: %s", vm->name, err);
		blk_destroy(vm);
		return -1;
	}
	b->sectors = datastore_sectors(b->vol);
	b->block_size = datastore_block_size(b->vol);
	b->bounce = kzalloc(BLKDEV_MAX_IO);
	const struct virtio_pci_params params = {
	    .device_id = VIRTIO_ID_BLOCK,
	    .class_code = 0x010000, /* mass storage, SCSI (what virtio-blk has always used) */
	    .features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH |
			VQ_F_EVENT_IDX | VQ_F_INDIRECT_DESC,
	    .num_queues = 1,
	    .queue_size = BLK_QUEUE_SIZE,
	    .cfg_len = CFG_LEN,
	    .ops = &blk_cfg_ops,
	    .dev = b,
	};
	if (b->bounce)
		b->dev =
		    virtio_dev_create(vm, BLK_DEVFN, BLK_BAR0, BLK_INTX_IRQ, params, &blk_model, b);
	if (!b->dev) {
		klog("vm %s: disk %s: out of memory", vm->name, cfg->disk);
		blk_destroy(vm);
		return -1;
	}
	return 0;
}

const struct vdev_type vdev_virtio_blk = {
    .name = "virtio-blk",
    .create = blk_create,
    .destroy = blk_destroy,
};
