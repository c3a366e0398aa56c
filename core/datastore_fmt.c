/* The datastore's on-disk format (include/keel/datastore_fmt.h,
 * docs/datastore.md). Everything read from the disk is distrusted: a
 * header that decodes has the right magic, version and checksums, and
 * every volume in it lies inside the device and overlaps no other. */
#include <keel/crc32c.h>
#include <keel/datastore_fmt.h>
#include <keel/string.h>

/* Header fields (little-endian). */
#define H_MAGIC 0
#define H_VERSION 8
#define H_HEADER_BYTES 12
#define H_GENERATION 16
#define H_DEVICE_BYTES 24
#define H_DATA_START 32
#define H_MAX_VOLUMES 40
#define H_ENTRY_BYTES 44
#define H_TABLE_CRC 48
#define H_HEADER_CRC 52
#define H_UUID 56
/* Volume entry fields. */
#define E_NAME 0
#define E_START 32
#define E_SIZE 40
#define E_CREATED 48

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

bool ds_name_ok(const char *name)
{
	size_t n = 0;

	for (; name[n]; n++) {
		char c = name[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
		if (!ok || n + 1 >= DS_NAME_MAX)
			return false;
	}
	return n > 0;
}

void ds_format(struct ds_meta *m, uint64_t device_bytes, const uint8_t uuid[16])
{
	memset(m, 0, sizeof(*m));
	m->generation = 1;
	m->device_bytes = device_bytes;
	memcpy(m->uuid, uuid, 16);
}

void ds_encode(const struct ds_meta *m, uint8_t *buf)
{
	uint8_t *table = buf + DS_HEADER_BYTES;

	memset(buf, 0, DS_META_BYTES);
	for (unsigned i = 0; i < DS_MAX_VOLUMES; i++) {
		const struct ds_volume *v = &m->vol[i];
		uint8_t *e = table + i * DS_ENTRY_BYTES;
		if (!v->name[0])
			continue;
		memcpy(e + E_NAME, v->name, strnlen(v->name, DS_NAME_MAX - 1));
		put64(e + E_START, v->start);
		put64(e + E_SIZE, v->size);
		put64(e + E_CREATED, v->created);
	}
	memcpy(buf + H_MAGIC, DS_MAGIC, 8);
	put32(buf + H_VERSION, DS_VERSION);
	put32(buf + H_HEADER_BYTES, DS_HEADER_BYTES);
	put64(buf + H_GENERATION, m->generation);
	put64(buf + H_DEVICE_BYTES, m->device_bytes);
	put64(buf + H_DATA_START, DS_DATA_START);
	put32(buf + H_MAX_VOLUMES, DS_MAX_VOLUMES);
	put32(buf + H_ENTRY_BYTES, DS_ENTRY_BYTES);
	memcpy(buf + H_UUID, m->uuid, 16);
	put32(buf + H_TABLE_CRC, crc32c(0, table, DS_MAX_VOLUMES * DS_ENTRY_BYTES));
	put32(buf + H_HEADER_CRC, crc32c(0, buf, DS_HEADER_BYTES));
}

#define WHY(...) ((why) ? (void)snprintf(why, why_len, __VA_ARGS__) : (void)0)

static enum ds_check decode_volumes(const uint8_t *table, uint64_t device_bytes, struct ds_meta *m,
				    char *why, size_t why_len)
{
	for (unsigned i = 0; i < DS_MAX_VOLUMES; i++) {
		const uint8_t *e = table + i * DS_ENTRY_BYTES;
		struct ds_volume *v = &m->vol[i];
		if (!e[E_NAME])
			continue;
		if (e[E_NAME + DS_NAME_MAX - 1]) {
			WHY("volume entry %u: name is not terminated", i);
			return DS_BAD_LAYOUT;
		}
		memcpy(v->name, e + E_NAME, DS_NAME_MAX);
		v->start = get64(e + E_START);
		v->size = get64(e + E_SIZE);
		v->created = get64(e + E_CREATED);
		if (!ds_name_ok(v->name)) {
			WHY("volume entry %u: bad name", i);
			return DS_BAD_LAYOUT;
		}
		if (v->start < DS_DATA_START || v->start % DS_ALIGN || !v->size ||
		    v->size % DS_ALIGN || v->size > device_bytes ||
		    v->start > device_bytes - v->size) {
			WHY("volume '%s': extent %#llx+%#llx is not inside the %llu-byte device",
			    v->name, (unsigned long long)v->start, (unsigned long long)v->size,
			    (unsigned long long)device_bytes);
			return DS_BAD_LAYOUT;
		}
		for (unsigned j = 0; j < i; j++) {
			const struct ds_volume *w = &m->vol[j];
			if (!w->name[0])
				continue;
			if (!strcmp(w->name, v->name)) {
				WHY("volume name '%s' appears twice", v->name);
				return DS_BAD_LAYOUT;
			}
			if (v->start < w->start + w->size && w->start < v->start + v->size) {
				WHY("volumes '%s' and '%s' overlap", w->name, v->name);
				return DS_BAD_LAYOUT;
			}
		}
	}
	return DS_OK;
}

enum ds_check ds_decode(const uint8_t *buf, uint64_t device_bytes, struct ds_meta *m, char *why,
			size_t why_len)
{
	uint8_t hdr[DS_HEADER_BYTES];
	const uint8_t *table = buf + DS_HEADER_BYTES;

	memset(m, 0, sizeof(*m));
	if (memcmp(buf + H_MAGIC, DS_MAGIC, 8)) {
		WHY("no datastore signature");
		return DS_NO_MAGIC;
	}
	if (get32(buf + H_VERSION) != DS_VERSION) {
		WHY("format version %u (this Keel reads version %u)", get32(buf + H_VERSION),
		    DS_VERSION);
		return DS_BAD_VERSION;
	}
	memcpy(hdr, buf, DS_HEADER_BYTES);
	put32(hdr + H_HEADER_CRC, 0);
	if (crc32c(0, hdr, DS_HEADER_BYTES) != get32(buf + H_HEADER_CRC)) {
		WHY("header checksum mismatch");
		return DS_BAD_CHECKSUM;
	}
	if (crc32c(0, table, DS_MAX_VOLUMES * DS_ENTRY_BYTES) != get32(buf + H_TABLE_CRC)) {
		WHY("volume table checksum mismatch");
		return DS_BAD_CHECKSUM;
	}
	if (get32(buf + H_HEADER_BYTES) != DS_HEADER_BYTES ||
	    get32(buf + H_MAX_VOLUMES) != DS_MAX_VOLUMES ||
	    get32(buf + H_ENTRY_BYTES) != DS_ENTRY_BYTES ||
	    get64(buf + H_DATA_START) != DS_DATA_START) {
		WHY("header sizes differ from version %u's", DS_VERSION);
		return DS_BAD_LAYOUT;
	}
	m->generation = get64(buf + H_GENERATION);
	m->device_bytes = get64(buf + H_DEVICE_BYTES);
	memcpy(m->uuid, buf + H_UUID, 16);
	if (m->device_bytes > device_bytes || m->device_bytes < DS_MIN_DEVICE) {
		WHY("formatted for %llu bytes; the device has %llu",
		    (unsigned long long)m->device_bytes, (unsigned long long)device_bytes);
		return DS_BAD_LAYOUT;
	}
	return decode_volumes(table, m->device_bytes, m, why, why_len);
}

struct ds_volume *ds_find(struct ds_meta *m, const char *name)
{
	for (unsigned i = 0; i < DS_MAX_VOLUMES; i++)
		if (m->vol[i].name[0] && !strcmp(m->vol[i].name, name))
			return &m->vol[i];
	return NULL;
}

/* The first volume starting at or after POS (NULL if none). */
static const struct ds_volume *next_volume(const struct ds_meta *m, uint64_t pos)
{
	const struct ds_volume *best = NULL;

	for (unsigned i = 0; i < DS_MAX_VOLUMES; i++) {
		const struct ds_volume *v = &m->vol[i];
		if (v->name[0] && v->start >= pos && (!best || v->start < best->start))
			best = v;
	}
	return best;
}

/* Walk the gaps between volumes in address order: the first of at least
 * WANT bytes (0: none wanted) in *AT; the total free and largest gap out. */
static bool walk_gaps(const struct ds_meta *m, uint64_t want, uint64_t *at, uint64_t *total,
		      uint64_t *largest)
{
	uint64_t pos = DS_DATA_START, end = m->device_bytes & ~(DS_ALIGN - 1);
	bool found = false;

	*total = *largest = 0;
	while (pos < end) {
		const struct ds_volume *v = next_volume(m, pos);
		uint64_t gap_end = v ? v->start : end;
		uint64_t gap = gap_end > pos ? gap_end - pos : 0;
		*total += gap;
		if (gap > *largest)
			*largest = gap;
		if (!found && want && gap >= want) {
			*at = pos;
			found = true;
		}
		if (!v)
			break;
		pos = v->start + v->size;
	}
	return found;
}

uint64_t ds_free_bytes(const struct ds_meta *m, uint64_t *largest)
{
	uint64_t total, big, at;

	walk_gaps(m, 0, &at, &total, &big);
	if (largest)
		*largest = big;
	return total;
}

struct ds_volume *ds_create(struct ds_meta *m, const char *name, uint64_t size, char *why,
			    size_t why_len)
{
	struct ds_volume *slot = NULL;
	uint64_t total, largest, at = 0;

	if (!ds_name_ok(name)) {
		WHY("'%s' cannot name a volume (1 to %d letters, digits, '_', '-' or '.')", name,
		    DS_NAME_MAX - 1);
		return NULL;
	}
	if (ds_find(m, name)) {
		WHY("a volume called '%s' exists", name);
		return NULL;
	}
	if (!size || size > m->device_bytes) {
		WHY("volume '%s': %llu bytes cannot fit the device", name,
		    (unsigned long long)size);
		return NULL;
	}
	size = (size + DS_ALIGN - 1) & ~(DS_ALIGN - 1);
	for (unsigned i = 0; i < DS_MAX_VOLUMES && !slot; i++)
		if (!m->vol[i].name[0])
			slot = &m->vol[i];
	if (!slot) {
		WHY("the datastore holds %d volumes already", DS_MAX_VOLUMES);
		return NULL;
	}
	if (!walk_gaps(m, size, &at, &total, &largest)) {
		WHY("no room for %llu MiB (free: %llu MiB, the largest gap %llu MiB)",
		    (unsigned long long)(size >> 20), (unsigned long long)(total >> 20),
		    (unsigned long long)(largest >> 20));
		return NULL;
	}
	memset(slot, 0, sizeof(*slot));
	memcpy(slot->name, name, strlen(name) + 1);
	slot->start = at;
	slot->size = size;
	slot->created = m->generation + 1;
	return slot;
}
