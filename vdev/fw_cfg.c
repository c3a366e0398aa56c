/* QEMU's fw_cfg interface, traditional I/O ports (see include/keel/fw_cfg.h).
 *
 * Nothing is serialised into a buffer: each data byte is computed from the
 * selected item and the offset, so the file directory costs no memory and
 * can never disagree with the file table. */
#include <keel/fw_cfg.h>
#include <keel/string.h>

#define KEY_MASK 0xBFFF /* all but the write-channel bit */

static uint32_t ones(unsigned size)
{
	return size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu;
}

static uint16_t key(const struct fw_cfg *fc)
{
	return fc->selector & KEY_MASK;
}

/* The file at KEY, or NULL. */
static const struct fw_cfg_file *file_at(const struct fw_cfg *fc, uint16_t k)
{
	if (k < FW_CFG_FILE_FIRST || (uint32_t)(k - FW_CFG_FILE_FIRST) >= fc->nfiles)
		return NULL;
	return &fc->files[k - FW_CFG_FILE_FIRST];
}

/* Byte I of a SIZE-byte unsigned integer V, little- or big-endian. */
static uint8_t le_byte(uint64_t v, uint32_t i)
{
	return (uint8_t)(v >> (8 * i));
}

static uint8_t be_byte(uint64_t v, uint32_t size, uint32_t i)
{
	return (uint8_t)(v >> (8 * (size - 1 - i)));
}

static uint32_t item_size(const struct fw_cfg *fc, uint16_t k)
{
	const struct fw_cfg_file *f = file_at(fc, k);

	if (f)
		return f->size;
	switch (k) {
	case FW_CFG_SIGNATURE:
	case FW_CFG_ID:
		return 4;
	case FW_CFG_RAM_SIZE:
		return 8;
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS:
		return 2;
	case FW_CFG_FILE_DIR:
		return 4 + fc->nfiles * FW_CFG_DIR_ENTRY_SIZE;
	default:
		return 0;
	}
}

/* Byte I of the directory: be32 count, then {be32 size, be16 select,
 * be16 reserved, char name[56]} per file. I is below the item's size. */
static uint8_t dir_byte(const struct fw_cfg *fc, uint32_t i)
{
	const struct fw_cfg_file *f;
	uint32_t n, at;

	if (i < 4)
		return be_byte(fc->nfiles, 4, i);
	n = (i - 4) / FW_CFG_DIR_ENTRY_SIZE;
	at = (i - 4) % FW_CFG_DIR_ENTRY_SIZE;
	f = &fc->files[n];
	if (at < 4)
		return be_byte(f->size, 4, at);
	if (at < 6)
		return be_byte(FW_CFG_FILE_FIRST + n, 2, at - 4);
	if (at < 8)
		return 0;
	return (uint8_t)f->name[at - 8];
}

/* Byte I of item K; I is below item_size(). */
static uint8_t item_byte(const struct fw_cfg *fc, uint16_t k, uint32_t i)
{
	static const char sig[4] = {'Q', 'E', 'M', 'U'};
	const struct fw_cfg_file *f = file_at(fc, k);

	if (f)
		return f->data[i];
	switch (k) {
	case FW_CFG_SIGNATURE:
		return (uint8_t)sig[i];
	case FW_CFG_ID:
		return le_byte(FW_CFG_ID_TRADITIONAL, i);
	case FW_CFG_RAM_SIZE:
		return le_byte(fc->ram_size, i);
	case FW_CFG_NB_CPUS:
	case FW_CFG_MAX_CPUS:
		return le_byte(fc->ncpus, i);
	case FW_CFG_FILE_DIR:
		return dir_byte(fc, i);
	default:
		return 0;
	}
}

static uint8_t next_byte(struct fw_cfg *fc)
{
	uint16_t k = key(fc);

	if (fc->offset >= item_size(fc, k))
		return 0;
	return item_byte(fc, k, fc->offset++);
}

void fw_cfg_init(struct fw_cfg *fc, uint16_t ncpus, uint64_t ram_size)
{
	memset(fc, 0, sizeof(*fc));
	fc->ncpus = ncpus;
	fc->ram_size = ram_size;
	fc->selector = FW_CFG_SIGNATURE;
}

int fw_cfg_add_file(struct fw_cfg *fc, const char *name, const void *data, uint32_t size)
{
	struct fw_cfg_file *f;
	size_t len;

	if (!name || (!data && size) || fc->nfiles >= FW_CFG_MAX_FILES)
		return -1;
	len = strlen(name);
	if (len == 0 || len >= FW_CFG_NAME_SIZE)
		return -1;
	for (uint32_t i = 0; i < fc->nfiles; i++)
		if (!memcmp(fc->files[i].name, name, len + 1))
			return -1;
	f = &fc->files[fc->nfiles];
	memset(f, 0, sizeof(*f));
	memcpy(f->name, name, len);
	f->data = data;
	f->size = size;
	return FW_CFG_FILE_FIRST + (int)fc->nfiles++;
}

void fw_cfg_write(struct fw_cfg *fc, uint16_t port, unsigned size, uint32_t value)
{
	if (port != FW_CFG_PORT_SEL || size != 2)
		return; /* data writes: ignored, as in current QEMU */
	fc->selector = (uint16_t)value;
	fc->offset = 0;
}

uint32_t fw_cfg_read(struct fw_cfg *fc, uint16_t port, unsigned size)
{
	uint32_t v = 0;

	if (port != FW_CFG_PORT_DATA || (size != 1 && size != 2 && size != 4))
		return ones(size);
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)next_byte(fc) << (8 * i);
	return v;
}
