/* Host block devices (drivers/blkdev.c keeps the list): what the host
 * drivers (NVMe, virtio-blk) offer and the datastore (core/datastore.c)
 * uses. A request is synchronous: it returns once the device has answered,
 * and a write that returned 0 is in the device's (volatile) cache at least;
 * flush returns once everything written before it is on stable media.
 *
 * Buffers are Keel memory (identity-mapped, so a buffer is physically
 * contiguous) of count * block_size bytes, at most BLKDEV_MAX_IO bytes per
 * request; drivers split or refuse larger ones. */
#ifndef KEEL_BLKDEV_H
#define KEEL_BLKDEV_H

#include <keel/spinlock.h>
#include <stdint.h>

#define BLKDEV_NAME_MAX 16
#define BLKDEV_MAX_IO (128u * 1024u)
#define BLKDEV_MAX 8

struct blkdev;

struct blkdev_ops {
	/* 0, or -1 after a device error (logged by the driver). */
	int (*read)(struct blkdev *b, uint64_t lba, uint32_t count, void *buf);
	int (*write)(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf);
	int (*flush)(struct blkdev *b);
};

struct blkdev {
	char name[BLKDEV_NAME_MAX]; /* "nvme0n1", "vda": unique, for the config */
	uint32_t block_size; /* bytes: 512 or 4096 */
	uint64_t nblocks;
	const struct blkdev_ops *ops;
	void *priv; /* the driver's */
	spinlock_t lock; /* held by blkdev_read/write/flush: one request at a time */
};

/* Drivers: add B (name, sizes, ops filled in) to the list; -1 when full. */
int blkdev_register(struct blkdev *b);
unsigned blkdev_count(void);
struct blkdev *blkdev_get(unsigned i);
struct blkdev *blkdev_find(const char *name);

/* Users: checked against the device's size; take the device's lock. */
int blkdev_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf);
int blkdev_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf);
int blkdev_flush(struct blkdev *b);

#endif
