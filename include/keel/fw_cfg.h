/* QEMU's firmware configuration interface (fw_cfg), traditional I/O port
 * form only, as a pure device model: firmware and boot loaders written for
 * QEMU (SeaBIOS, OVMF, Linux's qemu_fw_cfg driver) find the CPU count, the
 * RAM size and named blobs (ACPI tables, boot order, kernel images) here.
 * Protocol as documented in QEMU's docs/specs/fw_cfg.rst:
 *
 * - Port 0x510, the selector: a 16-bit write chooses an item and rewinds
 *   the data offset to 0. Bit 14 (the write channel) is ignored, so such a
 *   key reads like the item without it; bit 15 selects architecture-local
 *   items, of which there are none (they read as zeros). Selector writes of
 *   other sizes are ignored; reads of 0x510 return all ones (nothing there).
 * - Port 0x511, the data: each byte read returns the next byte of the
 *   selected item and advances the offset; past the end (or for an unknown
 *   item) it reads 0 and the offset stays put. A 2- or 4-byte read returns
 *   that many consecutive bytes, the first in bits 7:0 (so a string reads in
 *   order). Data writes are ignored (QEMU deprecated them too).
 * - No DMA interface: FW_CFG_ID reports bit 0 (traditional) only, and the
 *   DMA address port 0x514 is not decoded here.
 * - Items: FW_CFG_SIGNATURE "QEMU", FW_CFG_ID (u32 LE), FW_CFG_RAM_SIZE
 *   (u64 LE), FW_CFG_NB_CPUS and FW_CFG_MAX_CPUS (u16 LE, both the CPU count
 *   given at init), FW_CFG_FILE_DIR (big-endian: u32 count, then per file
 *   {u32 size, u16 select, u16 reserved, char name[56]}), and the files
 *   added with fw_cfg_add_file(), at selectors 0x0020 upwards in the order
 *   added (the directory is not sorted; firmware searches it by name).
 *
 * State is the plain struct below except for the files' data pointers,
 * which belong to the caller and must stay valid (and unchanged, as the
 * directory records their size) for the device's lifetime. A snapshot
 * saves `selector` and `offset`; the files are re-added on restore. */
#ifndef KEEL_FW_CFG_H
#define KEEL_FW_CFG_H

#include <stdint.h>

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511

#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID 0x0001
#define FW_CFG_RAM_SIZE 0x0003
#define FW_CFG_NB_CPUS 0x0005
#define FW_CFG_MAX_CPUS 0x000f
#define FW_CFG_FILE_DIR 0x0019
#define FW_CFG_FILE_FIRST 0x0020
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL 0x8000

#define FW_CFG_ID_TRADITIONAL 0x1 /* FW_CFG_ID bit 0 */
#define FW_CFG_MAX_FILES 32
#define FW_CFG_NAME_SIZE 56 /* including the terminating NUL */
#define FW_CFG_DIR_ENTRY_SIZE 64

struct fw_cfg_file {
	const uint8_t *data; /* the caller's */
	uint32_t size;
	char name[FW_CFG_NAME_SIZE]; /* NUL-terminated, NUL-padded */
};

struct fw_cfg {
	uint16_t selector; /* as last written, all 16 bits */
	uint32_t offset; /* into the selected item, never past its end */
	uint16_t ncpus;
	uint64_t ram_size;
	uint32_t nfiles;
	struct fw_cfg_file files[FW_CFG_MAX_FILES];
};

/* NCPUS CPUs and RAM_SIZE bytes of RAM, no files, FW_CFG_SIGNATURE
 * selected. */
void fw_cfg_init(struct fw_cfg *fc, uint16_t ncpus, uint64_t ram_size);
/* Add file NAME (1-55 bytes, unique) of SIZE bytes at DATA (kept, not
 * copied; may be NULL if SIZE is 0). Returns its selector (0x0020 up), or
 * -1 if the name is empty, too long or taken, or the table is full. */
int fw_cfg_add_file(struct fw_cfg *fc, const char *name, const void *data, uint32_t size);
/* Port access at 0x510/0x511, SIZE 1, 2 or 4 (other ports and sizes read
 * all ones and ignore writes). */
void fw_cfg_write(struct fw_cfg *fc, uint16_t port, unsigned size, uint32_t value);
uint32_t fw_cfg_read(struct fw_cfg *fc, uint16_t port, unsigned size);

#endif
