/* The datastore's on-disk format (docs/datastore.md), pure: encoding,
 * checking and volume allocation, unit-tested on the host. The Keel side
 * that reads and writes the disk is core/datastore.c.
 *
 * A datastore is a whole host block device. Two copies of the metadata (a
 * 512-byte header and a table of DS_MAX_VOLUMES volume entries) sit at
 * DS_COPY_A and DS_COPY_B; volumes are contiguous extents from DS_DATA_START
 * on, each a multiple of DS_ALIGN bytes. An update writes copy B, flushes,
 * then writes copy A and flushes: at least one copy is whole at any moment,
 * and mounting takes the valid copy with the higher generation. */
#ifndef KEEL_DATASTORE_FMT_H
#define KEEL_DATASTORE_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DS_MAGIC "KEEL-DS\x01"
#define DS_VERSION 1u
#define DS_HEADER_BYTES 512
#define DS_MAX_VOLUMES 128
#define DS_ENTRY_BYTES 64
#define DS_NAME_MAX 32 /* including the NUL */
#define DS_META_BYTES (DS_HEADER_BYTES + DS_MAX_VOLUMES * DS_ENTRY_BYTES) /* 8704 */
#define DS_META_AREA (16u * 1024) /* room one copy takes on disk (any block size) */
#define DS_COPY_A 0ull
#define DS_COPY_B (64ull * 1024)
#define DS_ALIGN (1024ull * 1024) /* volumes start and end on 1 MiB boundaries */
#define DS_DATA_START DS_ALIGN
#define DS_MIN_DEVICE (DS_DATA_START + DS_ALIGN)

struct ds_volume {
	char name[DS_NAME_MAX]; /* "" for a free entry */
	uint64_t start; /* byte offset on the device, DS_ALIGN-aligned */
	uint64_t size; /* bytes, a multiple of DS_ALIGN */
	uint64_t created; /* generation of the update that created it */
};

struct ds_meta {
	uint64_t generation; /* bumped by every update */
	uint64_t device_bytes; /* the device's size when it was formatted */
	uint8_t uuid[16];
	struct ds_volume vol[DS_MAX_VOLUMES];
};

/* A fresh, empty datastore for a device of DEVICE_BYTES. */
void ds_format(struct ds_meta *m, uint64_t device_bytes, const uint8_t uuid[16]);

/* Metadata to its on-disk bytes (BUF: DS_META_BYTES), checksums included. */
void ds_encode(const struct ds_meta *m, uint8_t *buf);

enum ds_check {
	DS_OK,
	DS_NO_MAGIC, /* not a datastore at all */
	DS_BAD_VERSION, /* a datastore of a format this Keel does not know */
	DS_BAD_CHECKSUM, /* header or table checksum wrong: torn or corrupt */
	DS_BAD_LAYOUT, /* fields out of range, volumes overlapping or off the device */
};

/* Check and decode BUF (DS_META_BYTES) read from a device of DEVICE_BYTES.
 * WHY (if not NULL) gets a one-line reason when the result is not DS_OK. */
enum ds_check ds_decode(const uint8_t *buf, uint64_t device_bytes, struct ds_meta *m, char *why,
			size_t why_len);

/* The volume called NAME, or NULL. */
struct ds_volume *ds_find(struct ds_meta *m, const char *name);
/* Add volume NAME of at least SIZE bytes (rounded up to DS_ALIGN) in the
 * first gap big enough. NULL with WHY filled when the name is bad or taken,
 * the table is full or no gap is big enough. Bumps nothing: the caller
 * bumps the generation when it writes the update. */
struct ds_volume *ds_create(struct ds_meta *m, const char *name, uint64_t size, char *why,
			    size_t why_len);
/* Bytes not in any volume (the largest gap in *LARGEST if not NULL). */
uint64_t ds_free_bytes(const struct ds_meta *m, uint64_t *largest);
/* Whether NAME can name a volume: 1..31 of [A-Za-z0-9_.-]. */
bool ds_name_ok(const char *name);

#endif
