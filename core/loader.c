/* Guest payloads: Multiboot v1 kernels (ELF32, or the a.out-kludge load
 * addresses of their header) and flat binaries. Images come from boot
 * modules, which the operator supplied but which may still be malformed:
 * every offset and size is checked against the image and the VM's RAM. */
#include <keel/backend.h>
#include <keel/loader.h>
#include <keel/string.h>

#define MB1_MAGIC 0x1BADB002
#define MB1_BOOT_MAGIC 0x2BADB002
#define MB1_AOUT_KLUDGE (1u << 16)
#define MB1_SEARCH 8192

/* Where Keel puts the Multiboot information in guest RAM (below 640 KiB). */
#define MBI_GPA 0x9000
#define MBI_CMDLINE_GPA 0x9200
#define MBI_MMAP_GPA 0x9400
#define MBI_NAME_GPA 0x9600
#define MBI_END 0xA000

struct elf32_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version, entry, phoff, shoff, flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
} __attribute__((packed));

struct elf32_phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
} __attribute__((packed));

struct mb1_mmap {
	uint32_t size;
	uint64_t base, len;
	uint32_t type;
} __attribute__((packed));

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static bool fits(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* Copy LEN bytes of the image at OFF to guest-physical GPA; refuse the
 * Multiboot info area so a kernel cannot be overwritten by it. */
static int place(struct vm *vm, uint64_t gpa, const uint8_t *src, uint64_t len, uint64_t memsz,
		 char *err, size_t errlen)
{
	if (memsz < len)
		memsz = len;
	if (gpa < MBI_END && gpa + memsz > MBI_GPA)
		return ERR("image overlaps guest-physical %#x-%#x, where Keel puts the Multiboot "
			   "information",
			   MBI_GPA, MBI_END);
	if (gpa + memsz < gpa || gpa + memsz > vm_ram_low(vm))
		return ERR("image needs guest-physical %#lx-%#lx but the VM has %lu MiB of RAM",
			   gpa, gpa + memsz, vm->ram_size >> 20);
	return copy_to_guest(vm, gpa, src, len) ? ERR("copy to guest memory failed") : 0;
}

static int load_elf32(struct vm *vm, const uint8_t *img, uint64_t size, uint32_t *entry, char *err,
		      size_t errlen)
{
	const struct elf32_ehdr *eh = (const void *)img;

	if (size < sizeof(*eh) ||
	    memcmp(eh->ident,
		   "\x7f"
		   "ELF",
		   4) ||
	    eh->ident[4] != 1)
		return ERR("not an ELF32 file and no a.out addresses in its Multiboot header");
	if (eh->machine != 3 || eh->phentsize != sizeof(struct elf32_phdr))
		return ERR("ELF file is not for i386");
	if (!fits(eh->phoff, (uint64_t)eh->phnum * sizeof(struct elf32_phdr), size))
		return ERR("ELF program headers lie outside the file");
	unsigned loaded = 0;
	for (unsigned i = 0; i < eh->phnum; i++) {
		const struct elf32_phdr *ph =
		    (const void *)(img + eh->phoff + i * sizeof(struct elf32_phdr));
		if (ph->type != 1 || !ph->memsz)
			continue;
		if (!fits(ph->offset, ph->filesz, size) || ph->filesz > ph->memsz)
			return ERR("ELF segment %u lies outside the file", i);
		if (place(vm, ph->paddr, img + ph->offset, ph->filesz, ph->memsz, err, errlen))
			return -1;
		loaded++;
	}
	if (!loaded)
		return ERR("ELF file has no loadable segment");
	*entry = eh->entry;
	return 0;
}

static int load_multiboot(struct vm *vm, const uint8_t *img, uint64_t size, uint32_t *entry,
			  char *err, size_t errlen)
{
	const uint32_t *h = NULL;
	uint64_t hoff = 0;

	for (uint64_t off = 0; off + 12 <= size && off < MB1_SEARCH; off += 4) {
		const uint32_t *w = (const void *)(img + off);
		if (w[0] == MB1_MAGIC && w[0] + w[1] + w[2] == 0) {
			h = w;
			hoff = off;
			break;
		}
	}
	if (!h)
		return ERR("no Multiboot v1 header in the first 8 KiB");
	if (h[1] & 0xFFFCu) /* required bits Keel cannot satisfy (video mode, ...) */
		return ERR("Multiboot header asks for features Keel does not provide (flags %#x)",
			   h[1]);
	if (!(h[1] & MB1_AOUT_KLUDGE))
		return load_elf32(vm, img, size, entry, err, errlen);
	if (hoff + 32 > size)
		return ERR("Multiboot header is truncated");
	uint32_t header_addr = h[3], load_addr = h[4], load_end = h[5], bss_end = h[6];
	if (load_addr > header_addr || header_addr - load_addr > hoff)
		return ERR("Multiboot a.out addresses are inconsistent");
	uint64_t file_off = hoff - (header_addr - load_addr);
	uint64_t len = load_end ? (uint64_t)load_end - load_addr : size - file_off;
	if (load_end && load_end < load_addr)
		return ERR("Multiboot load_end_addr is below load_addr");
	if (!fits(file_off, len, size))
		return ERR("Multiboot a.out load range lies outside the file");
	uint64_t memsz = bss_end > load_addr ? (uint64_t)bss_end - load_addr : len;
	if (place(vm, load_addr, img + file_off, len, memsz, err, errlen))
		return -1;
	*entry = h[7];
	return 0;
}

static int write_mbi(struct vm *vm, char *err, size_t errlen)
{
	uint32_t mbi[22] = {0};
	const char *cmd = vm->cfg->cmdline;
	struct mb1_mmap map[] = {
	    {20, 0, 0x9FC00, 1},
	    {20, 0x9FC00, 0x400, 2},
	    {20, 0xF0000, 0x10000, 2},
	    {20, 0x100000, vm_ram_low(vm) - 0x100000, 1},
	    {20, VM_HIGH_RAM_START, vm_ram_high(vm), 1},
	};

	mbi[0] = (1u << 0) | (1u << 2) | (1u << 6) | (1u << 9); /* mem, cmdline, mmap, name */
	mbi[1] = 639;
	mbi[2] = (uint32_t)((vm_ram_low(vm) - 0x100000) >> 10);
	mbi[4] = MBI_CMDLINE_GPA;
	/* The last entry (RAM from 4 GiB up) only if there is some. */
	uint32_t map_len = (uint32_t)(sizeof(map) - (vm_ram_high(vm) ? 0 : sizeof(map[0])));
	mbi[11] = map_len;
	mbi[12] = MBI_MMAP_GPA;
	mbi[16] = MBI_NAME_GPA;
	if (copy_to_guest(vm, MBI_GPA, mbi, sizeof(mbi)) ||
	    copy_to_guest(vm, MBI_CMDLINE_GPA, cmd, strlen(cmd) + 1) ||
	    copy_to_guest(vm, MBI_MMAP_GPA, map, map_len) ||
	    copy_to_guest(vm, MBI_NAME_GPA, "Keel", 5))
		return ERR("cannot write the Multiboot information");
	return 0;
}

/* 32-bit protected mode, paging off, flat segments: the Multiboot state. */
static void set_protected_mode_entry(struct vcpu *v, uint32_t entry, uint32_t eax, uint32_t ebx)
{
	struct vcpu_sregs s = {0};
	const struct seg code = {.sel = 0x08, .ar = 0xC9B, .limit = 0xFFFFFFFF, .base = 0};
	const struct seg data = {.sel = 0x10, .ar = 0xC93, .limit = 0xFFFFFFFF, .base = 0};

	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = (struct seg){.sel = 0, .ar = 0x8B, .limit = 0xFFFF, .base = 0};
	s.ldtr = (struct seg){.sel = 0, .ar = 0x82, .limit = 0xFFFF, .base = 0};
	s.gdtr.limit = 0;
	s.idtr.limit = 0;
	s.cr0 = 0x11; /* PE, ET */
	s.pat = 0x0007040600070406ULL;
	backend->set_sregs(v, &s);
	memset(&v->regs, 0, sizeof(v->regs));
	v->regs.rip = entry;
	v->regs.rax = eax;
	v->regs.rbx = ebx;
	v->regs.rflags = 0x2;
}

int loader_load(struct vm *vm, const void *image, uint64_t size, const void *initrd,
		uint64_t initrd_size, char *err, size_t errlen)
{
	const struct cfg_vm *cfg = vm->cfg;
	uint32_t entry;

	if (cfg->payload == CFG_PAYLOAD_FLAT) {
		if (place(vm, cfg->load_addr, image, size, size, err, errlen))
			return -1;
		if (cfg->entry >= vm_ram_low(vm))
			return ERR("entry %#lx lies outside the VM's RAM", cfg->entry);
		set_protected_mode_entry(vm->vcpu[0], (uint32_t)cfg->entry, 0, 0);
		return 0;
	}
	if (loader_is_bzimage(image, size))
		return loader_load_linux(vm, image, size, initrd, initrd_size, err, errlen);
	if (initrd)
		return ERR("initrd is only for Linux kernels; %s is a Multiboot kernel", cfg->file);
	if (load_multiboot(vm, image, size, &entry, err, errlen) || write_mbi(vm, err, errlen))
		return -1;
	set_protected_mode_entry(vm->vcpu[0], entry, MB1_BOOT_MAGIC, MBI_GPA);
	return 0;
}
