/* Linux x86 boot protocol (Documentation/x86/boot.rst): a bzImage is entered
 * through its 64-bit entry point (if its xloadflags offer one: long mode,
 * 0-4 GiB identity-mapped, at code32_start + 0x200) or else its 32-bit one
 * (protected mode, paging off), with a "zero page" (struct boot_params)
 * describing memory (e820), the command line and the initramfs. The image,
 * its header fields and the initramfs are all checked against the file and
 * the VM's RAM before anything is copied. */
#include <keel/backend.h>
#include <keel/loader.h>
#include <keel/pci_host.h>
#include <keel/string.h>

/* Offsets in the image and in boot_params (they share the setup header). */
#define HDR_SETUP_SECTS 0x1F1
#define HDR_BOOT_FLAG 0x1FE
#define HDR_JUMP_END 0x201 /* byte: length of the header past 0x202 */
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21C
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22C
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_INIT_SIZE 0x260
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_ALT_MEM_K 0x1E0
#define ACPI_RSDP_GPA 0xF0000 /* vdev/pc_platform.c puts the tables there */
#define BP_E820_ENTRIES 0x1E8
#define BP_E820_TABLE 0x2D0
#define BP_SIZE 0x1000
#define LOADFLAG_LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x01 /* the 64-bit entry at code32_start + 0x200 exists */
#define ENTRY_64_OFFSET 0x200

/* Guest-physical layout Keel uses for Linux guests. */
#define GDT_GPA 0x5000
#define PAGE_TABLES_GPA 0x9000 /* PML4, PDPT, 4 PDs: 0-4 GiB in 2 MiB pages */
#define BOOT_PARAMS_GPA 0x7000
#define CMDLINE_GPA 0x8000
#define KERNEL_GPA 0x100000
#define BOOT_CS 0x10
#define BOOT_DS 0x18

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

bool loader_is_bzimage(const uint8_t *img, uint64_t size)
{
	return size >= 0x264 && img[HDR_BOOT_FLAG] == 0x55 && img[HDR_BOOT_FLAG + 1] == 0xAA &&
	       !memcmp(img + HDR_MAGIC, "HdrS", 4);
}

/* The identity map the 64-bit entry needs (the kernel, the zero page and
 * the command line; all of 0-4 GiB here), in low memory the kernel may
 * reuse once it has its own tables. */
static int write_page_tables(struct vm *vm)
{
	const uint64_t rw = 0x3, large = 0x80;
	uint64_t e[64];

	/* Guest RAM is zeroed before loading: only the used entries are written. */
	e[0] = (PAGE_TABLES_GPA + 0x1000) | rw; /* PML4[0] -> PDPT */
	if (copy_to_guest(vm, PAGE_TABLES_GPA, e, 8))
		return -1;
	for (unsigned i = 0; i < 4; i++) {
		uint64_t pd = PAGE_TABLES_GPA + 0x2000 + 0x1000 * i;
		e[0] = pd | rw; /* PDPT[i] -> PD i */
		if (copy_to_guest(vm, PAGE_TABLES_GPA + 0x1000 + 8 * i, e, 8))
			return -1;
		for (unsigned j = 0; j < 512; j += 64) {
			for (unsigned k = 0; k < 64; k++)
				e[k] = ((uint64_t)i << 30) | ((uint64_t)(j + k) << 21) | rw | large;
			if (copy_to_guest(vm, pd + 8 * j, e, sizeof(e)))
				return -1;
		}
	}
	return 0;
}

static void set_linux_entry(struct vcpu *v, uint32_t entry, bool long_mode)
{
	struct vcpu_sregs s = {0};
	const uint64_t gdt[4] = {0, 0, long_mode ? 0x00AF9B000000FFFFULL : 0x00CF9B000000FFFFULL,
				 0x00CF93000000FFFFULL};

	copy_to_guest(v->vm, GDT_GPA, gdt, sizeof(gdt));
	s.cs = (struct seg){.sel = BOOT_CS, .ar = long_mode ? 0xA9B : 0xC9B, .limit = 0xFFFFFFFF};
	s.ds = (struct seg){.sel = BOOT_DS, .ar = 0xC93, .limit = 0xFFFFFFFF};
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct seg){.sel = 0, .ar = 0x8B, .limit = 0xFFFF};
	s.ldtr = (struct seg){.sel = 0, .ar = 0x82, .limit = 0xFFFF};
	s.gdtr = (struct seg){.base = GDT_GPA, .limit = sizeof(gdt) - 1};
	s.cr0 = 0x11;
	if (long_mode) {
		s.cr0 |= 0x80000000ULL; /* PG */
		s.cr3 = PAGE_TABLES_GPA;
		s.cr4 = 0x20; /* PAE */
		s.efer = 0x500; /* LME, LMA */
	}
	s.pat = 0x0007040600070406ULL;
	backend->set_sregs(v, &s);
	memset(&v->regs, 0, sizeof(v->regs));
	v->regs.rip = entry;
	v->regs.rsi = BOOT_PARAMS_GPA;
	v->regs.rflags = 0x2;
}

int loader_load_linux(struct vm *vm, const uint8_t *img, uint64_t size, const uint8_t *initrd,
		      uint64_t initrd_size, char *err, size_t errlen)
{
	uint8_t bp[BP_SIZE] = {0};
	uint16_t version = (uint16_t)(img[HDR_VERSION] | img[HDR_VERSION + 1] << 8);
	unsigned setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	uint64_t setup_size = (uint64_t)(setup_sects + 1) * 512;
	uint64_t hdr_end = 0x202 + img[HDR_JUMP_END];
	const char *cmd = vm->cfg->cmdline;
	uint64_t cmd_len = strlen(cmd) + 1;

	if (version < 0x20C)
		return ERR("Linux boot protocol %x.%02x is too old (Keel needs 2.12 or later)",
			   version >> 8, version & 0xFF);
	if (!(img[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH))
		return ERR("the kernel does not load at 1 MiB (zImage): use a bzImage");
	if (setup_size >= size || hdr_end > 0x290)
		return ERR("the bzImage setup header is inconsistent with the file size");
	uint64_t kernel_size = size - setup_size;
	uint64_t init_size = rd32(img + HDR_INIT_SIZE);
	if (init_size < kernel_size)
		init_size = kernel_size;
	if (KERNEL_GPA + init_size > vm_ram_low(vm))
		return ERR("the kernel needs %lu MiB to decompress; the VM has %lu MiB",
			   (KERNEL_GPA + init_size + (1 << 20) - 1) >> 20, vm_ram_low(vm) >> 20);
	if (cmd_len > rd32(img + HDR_CMDLINE_SIZE) + 1)
		return ERR("the command line is longer than this kernel accepts (%u bytes)",
			   rd32(img + HDR_CMDLINE_SIZE));

	memcpy(bp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	bp[HDR_TYPE_OF_LOADER] = 0xFF; /* a boot loader without an assigned ID */
	wr32(bp + HDR_CMD_LINE_PTR, CMDLINE_GPA);
	wr32(bp + HDR_CODE32_START, KERNEL_GPA);

	if (initrd) {
		uint64_t top = vm_ram_low(vm), max = (uint64_t)rd32(img + HDR_INITRD_ADDR_MAX) + 1;
		if (top > max)
			top = max;
		if (initrd_size > top)
			return ERR("the initramfs (%lu MiB) does not fit in the VM's RAM",
				   initrd_size >> 20);
		uint64_t at = (top - initrd_size) & ~0xFFFULL;
		if (at < KERNEL_GPA + init_size)
			return ERR(
			    "the kernel and the initramfs (%lu MiB) do not fit in %lu MiB of "
			    "RAM together",
			    initrd_size >> 20, vm_ram_low(vm) >> 20);
		if (copy_to_guest(vm, at, initrd, initrd_size))
			return ERR("cannot copy the initramfs into guest memory");
		wr32(bp + HDR_RAMDISK_IMAGE, (uint32_t)at);
		wr32(bp + HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
	}

	/* The memory map matches the VM: conventional memory, the legacy
	 * BIOS hole, RAM from 1 MiB to the PCI hole, the PCI ECAM window, and
	 * (last, if there is any) RAM from 4 GiB up. */
	const struct e820_entry map[] = {
	    {0, 0x9FC00, 1},
	    {0x9FC00, 0x400, 2},
	    {0xF0000, 0x10000, 2},
	    {0x100000, vm_ram_low(vm) - 0x100000, 1},
	    {PCI_HOST_ECAM_BASE, PCI_HOST_ECAM_SIZE, 2},
	    {VM_HIGH_RAM_START, vm_ram_high(vm), 1},
	};
	unsigned n = sizeof(map) / sizeof(map[0]) - (vm_ram_high(vm) ? 0 : 1);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	memcpy(bp + BP_E820_TABLE, map, n * sizeof(map[0]));
	wr32(bp + BP_ALT_MEM_K, (uint32_t)((vm_ram_low(vm) - 0x100000) >> 10));
	wr32(bp + BP_ACPI_RSDP_ADDR, ACPI_RSDP_GPA); /* boot protocol 2.14 */

	if (copy_to_guest(vm, KERNEL_GPA, img + setup_size, kernel_size) ||
	    copy_to_guest(vm, BOOT_PARAMS_GPA, bp, sizeof(bp)) ||
	    copy_to_guest(vm, CMDLINE_GPA, cmd, cmd_len))
		return ERR("cannot copy the kernel into guest memory");
	bool long_mode = (img[HDR_XLOADFLAGS] & XLF_KERNEL_64) != 0;
	if (long_mode && write_page_tables(vm))
		return ERR("cannot write the page tables into guest memory");
	set_linux_entry(vm->vcpu[0], long_mode ? KERNEL_GPA + ENTRY_64_OFFSET : KERNEL_GPA,
			long_mode);
	return 0;
}
