/*
 * fwcfg: reads QEMU's firmware configuration interface (ports 0x510/0x511)
 * the way test kernels written for QEMU do, so the same kernel can be run
 * directly under QEMU and under Keel and must see the same answers:
 * signature "QEMU", the traditional-interface ID bit, the CPU count (cmdline
 * cpus=, default 1), a RAM size consistent with the Multiboot memory map,
 * and a well-formed file directory.
 */
#include "guest.h"

#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static void fw_cfg_select(uint16_t item)
{
	outw(FW_CFG_SELECTOR, item);
}

static void fw_cfg_read(void *buf, uint32_t len)
{
	uint8_t *b = buf;

	for (uint32_t i = 0; i < len; i++)
		b[i] = inb(FW_CFG_DATA);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	char sig[5] = {0};
	uint32_t id = 0;
	uint16_t cpus = 0;
	uint64_t ram = 0;
	uint8_t count[4];

	puts("fwcfg: QEMU firmware configuration interface");
	xtf_check_boot(magic, mbi);
	fw_cfg_select(0x0000);
	fw_cfg_read(sig, 4);
	fw_cfg_select(0x0001);
	fw_cfg_read(&id, 4);
	fw_cfg_select(0x0005);
	fw_cfg_read(&cpus, 2);
	fw_cfg_select(0x0003);
	fw_cfg_read(&ram, 8);
	fw_cfg_select(0x0019);
	fw_cfg_read(count, 4);

	uint32_t want_cpus = cmdline_get_u32(mbi, "cpus", 1);
	uint64_t mb_ram = ((uint64_t)mbi->mem_upper + 1024) * 1024;
	printf("fwcfg: signature %s, id %u, cpus %u, %u files\n", sig, id, cpus, be32(count));
	if (strcmp(sig, "QEMU"))
		xtf_failure("signature is '%s', not QEMU", sig);
	if (!(id & 1))
		xtf_failure("ID %#x lacks the traditional interface bit", id);
	if (cpus != want_cpus)
		xtf_failure("fw_cfg says %u CPUs, expected %u", cpus, want_cpus);
	/* The Multiboot map ends at the first hole; fw_cfg has all of RAM. */
	if (ram < mb_ram || ram - mb_ram >= (1u << 20))
		xtf_failure("RAM size %u KiB does not match the Multiboot map (%u KiB)",
			    (uint32_t)(ram >> 10), (uint32_t)(mb_ram >> 10));
	if (be32(count) > 4096)
		xtf_failure("file directory claims %u files", be32(count));
	xtf_success("fw_cfg agrees: %u MiB of RAM, %u CPU(s)", (uint32_t)(ram >> 20), cpus);
}
