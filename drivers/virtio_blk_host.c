/* Host virtio-blk disks (virtio 1.2, "Block Device"), registered as block
 * devices "vda", "vdb", ... for the datastore.
 *
 * Requests are synchronous and polled: blkdev callers (the datastore, a
 * vCPU's disk request) wait for the answer anyway, and one request is in
 * flight per disk (the blkdev lock), so an interrupt would only wake a
 * CPU that is already spinning on the used ring. A request is a chain of
 * header (read by the device), data (the caller's buffer: Keel is
 * identity-mapped, so it is physically contiguous), status (written).
 * A request that does not complete in REQUEST_TIMEOUT_NS leaves the disk
 * unusable: the device may still write into the buffers, so Keel stops
 * using it (after a reset attempt) rather than reuse them. */
#include <arch/time.h>
#include <keel/blkdev.h>
#include <keel/console.h>
#include <keel/heap.h>
#include <keel/host_driver.h>
#include <keel/pmm.h>
#include <keel/string.h>
#include <keel/virtio_host.h>

/* Feature bits (virtio 1.2, 5.2.3). */
#define BLK_F_SIZE_MAX 1
#define BLK_F_SEG_MAX 2
#define BLK_F_RO 5
#define BLK_F_BLK_SIZE 6
#define BLK_F_FLUSH 9
/* Device configuration offsets (5.2.4). */
#define CFG_CAPACITY 0 /* le64, in 512-byte sectors whatever blk_size is */
#define CFG_SIZE_MAX 8
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
/* Request types and status (5.2.6). */
#define REQ_IN 0
#define REQ_OUT 1
#define REQ_FLUSH 4
#define STATUS_OK 0
#define STATUS_IOERR 1
#define STATUS_UNSUPP 2
#define STATUS_NONE 0xFF /* ours: the device has not written it */

#define SECTOR 512u
#define QUEUE_MAX 64u /* one request at a time: a few descriptors suffice */
#define MAX_DATA_SEGS 16u
#define REQUEST_TIMEOUT_NS (30ull * 1000000000ull) /* generous: TCG is slow */

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* Header and status in one page of Keel memory the device reads/writes. */
struct blk_dma {
	struct blk_req_hdr hdr;
	uint8_t status;
};

struct vblk {
	struct blkdev bdev;
	struct virtio_host vio;
	struct virtio_host_queue q;
	struct blk_dma *dma;
	uint32_t seg_bytes_max; /* size_max: 0 for no limit */
	uint32_t data_segs_max; /* data descriptors per request */
	bool broken; /* a request timed out or the ring broke: refuse all */
	bool read_only;
};

static unsigned ndisks;

static uint64_t phys(const void *p)
{
	return (uint64_t)(uintptr_t)p; /* identity-mapped */
}

/* Send one request and wait for it: 0, or -1 (logged). */
static int submit(struct vblk *b, uint32_t type, uint64_t sector, void *data, uint32_t len,
		  const char *what)
{
	struct vqdrv_seg segs[MAX_DATA_SEGS + 2];
	unsigned n = 0;
	bool device_writes = type == REQ_IN;

	if (b->broken)
		return -1;
	b->dma->hdr = (struct blk_req_hdr){.type = type, .sector = sector};
	b->dma->status = STATUS_NONE;
	segs[n++] = (struct vqdrv_seg){phys(&b->dma->hdr), sizeof(b->dma->hdr)};
	for (uint32_t done = 0; done < len;) {
		uint32_t chunk = len - done;
		if (b->seg_bytes_max && chunk > b->seg_bytes_max)
			chunk = b->seg_bytes_max;
		segs[n++] = (struct vqdrv_seg){phys((uint8_t *)data + done), chunk};
		done += chunk;
	}
	segs[n++] = (struct vqdrv_seg){phys(&b->dma->status), 1};
	unsigned nout = device_writes ? 1 : n - 1;
	if (vqdrv_add(&b->q.vq, segs, nout, n - nout, b) < 0) {
		klog("%s: %s at sector %lu: the queue refused the request", b->bdev.name, what,
		     (unsigned long)sector);
		return -1;
	}
	virtio_host_kick(&b->q);

	void *token;
	uint32_t written;
	uint64_t end = time_ns() + REQUEST_TIMEOUT_NS;
	int rc;
	while ((rc = vqdrv_get_used(&b->q.vq, &token, &written)) == 0 && time_ns() < end)
		__builtin_ia32_pause();
	if (rc <= 0 || token != b) {
		klog("%s: %s at sector %lu: %s; the disk is out of service", b->bdev.name, what,
		     (unsigned long)sector,
		     rc == 0 ? "no answer within 30 s" : "the device broke the queue");
		b->broken = true;
		virtio_host_fail(&b->vio, &b->q, 1);
		return -1;
	}
	/* The status byte is the last thing written: at least 1 byte. */
	uint8_t status = b->dma->status;
	if (written < 1 || status != STATUS_OK) {
		klog("%s: %s at sector %lu failed: %s", b->bdev.name, what, (unsigned long)sector,
		     status == STATUS_IOERR    ? "I/O error"
		     : status == STATUS_UNSUPP ? "unsupported"
		     : status == STATUS_NONE   ? "no status written"
					       : "bad status");
		return -1;
	}
	return 0;
}

/* Split a transfer into requests the device accepts (seg_max, size_max,
 * and BLKDEV_MAX_IO), in whole blocks. */
static int transfer(struct blkdev *bd, uint32_t type, uint64_t lba, uint32_t count, void *buf)
{
	struct vblk *b = bd->priv;
	uint32_t per_block = bd->block_size / SECTOR;
	uint64_t max_bytes = BLKDEV_MAX_IO;
	const char *what = type == REQ_IN ? "read" : "write";

	if (b->seg_bytes_max && (uint64_t)b->seg_bytes_max * b->data_segs_max < max_bytes)
		max_bytes = (uint64_t)b->seg_bytes_max * b->data_segs_max;
	uint32_t max_blocks = (uint32_t)(max_bytes / bd->block_size);
	if (max_blocks == 0) {
		klog("%s: %s: the device's segment limits are below one block", bd->name, what);
		return -1;
	}
	while (count) {
		uint32_t n = count < max_blocks ? count : max_blocks;
		if (submit(b, type, lba * per_block, buf, n * bd->block_size, what))
			return -1;
		lba += n;
		count -= n;
		buf = (uint8_t *)buf + (size_t)n * bd->block_size;
	}
	return 0;
}

static int vblk_read(struct blkdev *bd, uint64_t lba, uint32_t count, void *buf)
{
	return transfer(bd, REQ_IN, lba, count, buf);
}

static int vblk_write(struct blkdev *bd, uint64_t lba, uint32_t count, const void *buf)
{
	const struct vblk *b = bd->priv;

	if (b->read_only) {
		klog("%s: write refused: the device is read-only", bd->name);
		return -1;
	}
	/* The device only reads this buffer (the descriptors say so). */
	return transfer(bd, REQ_OUT, lba, count, (void *)(uintptr_t)buf);
}

static int vblk_flush(struct blkdev *bd)
{
	struct vblk *b = bd->priv;

	/* A device that does not offer VIRTIO_BLK_F_FLUSH has no volatile
	 * write cache to flush (virtio 1.x, block device initialization):
	 * a completed write is already on stable media. */
	if (!(b->vio.features & (1ull << BLK_F_FLUSH)))
		return b->broken ? -1 : 0;
	return submit(b, REQ_FLUSH, 0, NULL, 0, "flush");
}

static const struct blkdev_ops vblk_ops = {
    .read = vblk_read, .write = vblk_write, .flush = vblk_flush};

static bool vblk_match(const struct hostpci_dev *d)
{
	return d->vendor == VIRTIO_HOST_VENDOR && d->device == VIRTIO_HOST_DEVICE_BLK;
}

/* Capacity, block size and segment limits from the device configuration,
 * each checked. 0, or -1 (logged). */
static int read_geometry(struct vblk *b)
{
	uint64_t sectors;
	uint32_t v;
	struct virtio_host *vio = &b->vio;

	if (virtio_host_read_config(vio, CFG_CAPACITY, &sectors, 8, 4)) {
		klog("%s: virtio-blk configuration unreadable", b->bdev.name);
		return -1;
	}
	b->bdev.block_size = SECTOR;
	if ((vio->features & (1ull << BLK_F_BLK_SIZE)) &&
	    !virtio_host_read_config(vio, CFG_BLK_SIZE, &v, 4, 4) && v != SECTOR) {
		/* blkdev users take 512 or 4096; any other size stays at the
		 * 512-byte sectors every virtio-blk device addresses. */
		if (v == 4096)
			b->bdev.block_size = v;
		else
			klog("%s: block size %u ignored; using 512-byte sectors", b->bdev.name, v);
	}
	uint32_t per_block = b->bdev.block_size / SECTOR;
	b->bdev.nblocks = sectors / per_block;
	if (b->bdev.nblocks == 0 || sectors > UINT64_MAX / SECTOR) {
		klog("%s: implausible capacity of %lu sectors", b->bdev.name,
		     (unsigned long)sectors);
		return -1;
	}
	b->seg_bytes_max = 0;
	if ((vio->features & (1ull << BLK_F_SIZE_MAX)) &&
	    !virtio_host_read_config(vio, CFG_SIZE_MAX, &v, 4, 4) && v) {
		/* Segments end on block boundaries so requests stay whole blocks. */
		b->seg_bytes_max = v & ~(b->bdev.block_size - 1);
		if (!b->seg_bytes_max) {
			klog("%s: size_max %u is below one block", b->bdev.name, v);
			return -1;
		}
	}
	b->data_segs_max = MAX_DATA_SEGS;
	if ((vio->features & (1ull << BLK_F_SEG_MAX)) &&
	    !virtio_host_read_config(vio, CFG_SEG_MAX, &v, 4, 4) && v < b->data_segs_max) {
		if (v == 0) {
			klog("%s: seg_max 0 leaves no room for data", b->bdev.name);
			return -1;
		}
		b->data_segs_max = v;
	}
	/* Without size_max the data is one segment whatever its size. */
	if (!b->seg_bytes_max)
		b->data_segs_max = 1;
	return 0;
}

static int vblk_probe(struct hostpci_dev *d)
{
	struct vblk *b = kzalloc(sizeof(*b));

	if (!b)
		return -1;
	b->bdev.name[0] = 'v', b->bdev.name[1] = 'd';
	b->bdev.name[2] = (char)('a' + ndisks % 26);
	uint64_t wanted = 1ull << BLK_F_SIZE_MAX | 1ull << BLK_F_SEG_MAX | 1ull << BLK_F_RO |
			  1ull << BLK_F_BLK_SIZE | 1ull << BLK_F_FLUSH;
	b->dma = page_alloc_zeroed(0);
	if (!b->dma || ndisks >= 26 || virtio_host_start(&b->vio, d, b->bdev.name, 0, wanted) ||
	    read_geometry(b) || virtio_host_queue_setup(&b->vio, &b->q, 0, QUEUE_MAX))
		goto fail;
	unsigned ndesc = vqdrv_free_count(&b->q.vq);
	if (ndesc < 3) {
		klog("%s: a queue of %u entries cannot hold a request", b->bdev.name, ndesc);
		goto fail;
	}
	if (b->data_segs_max > ndesc - 2) /* header and status take two */
		b->data_segs_max = ndesc - 2;
	virtio_host_ready(&b->vio);
	b->read_only = b->vio.features & (1ull << BLK_F_RO);
	b->bdev.ops = &vblk_ops;
	b->bdev.priv = b;
	if (blkdev_register(&b->bdev)) /* it logged why */
		goto fail;
	ndisks++;
	bool flush = b->vio.features & (1ull << BLK_F_FLUSH);
	uint64_t bytes = b->bdev.nblocks * b->bdev.block_size;
	klog("%s: virtio-blk, %lu blocks of %u bytes (%lu MiB)%s%s", b->bdev.name,
	     (unsigned long)b->bdev.nblocks, b->bdev.block_size, (unsigned long)(bytes >> 20),
	     b->read_only ? ", read-only" : "",
	     flush ? "" : ", no flush command: writes are write-through (virtio spec)");
	return 0;
fail:
	if (virtio_host_fail(&b->vio, &b->q, 1) == 0) {
		if (b->dma)
			page_free(b->dma, 0);
		kfree(b);
	}
	return -1;
}

HOST_DRIVER(virtio_blk_host_driver) = {
    .name = "virtio-blk", .match = vblk_match, .probe = vblk_probe};
