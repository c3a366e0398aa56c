/* The datastore (core/datastore.c): VM disks as named volumes on one host
 * block device, `[keel] datastore = DEVICE`. The format and its checks are
 * in include/keel/datastore_fmt.h and docs/datastore.md.
 *
 * A VM opens its volume when it starts (creating it, zeroed or from a boot
 * module, if the configuration says how big) and closes it when it stops;
 * one VM at a time may have a volume open. I/O is in 512-byte sectors,
 * synchronous, bounds-checked against the volume. */
#ifndef KEEL_DATASTORE_H
#define KEEL_DATASTORE_H

#include <keel/config.h>
#include <stddef.h>
#include <stdint.h>

struct ds_open;

/* Mount (or, if allowed, format) the configured device. 0 when there is no
 * datastore to mount or it mounted; -1 with a log line saying why not. */
int datastore_mount(const struct cfg *cfg);

/* Open volume NAME for VM; create it if missing and CREATE_SIZE (bytes) or
 * IMAGE (a boot module to copy in) says how. NULL with ERR filled. */
struct ds_open *datastore_open(const char *vm, const char *name, uint64_t create_size,
			       const char *image, char *err, size_t errlen);
void datastore_close(struct ds_open *v);

uint64_t datastore_sectors(const struct ds_open *v); /* 512-byte sectors */
uint32_t datastore_block_size(const struct ds_open *v); /* the device's */
const char *datastore_volume_name(const struct ds_open *v);
/* 0, or -1 on a device error or a request outside the volume or not
 * aligned to the device's block size. At most BLKDEV_MAX_IO bytes. */
int datastore_read(struct ds_open *v, uint64_t sector, uint32_t bytes, void *buf);
int datastore_write(struct ds_open *v, uint64_t sector, uint32_t bytes, const void *buf);
int datastore_flush(struct ds_open *v);

/* For the shell: print the device, the volumes and who has them open. */
void datastore_print(void);

#endif
