/* Keel runs identity-mapped. The boot code maps the first 4 GiB; RAM above
 * it is mapped here, with 1 GiB pages where the CPU has them. */
#include <arch/x86.h>
#include <keel/mem.h>
#include <keel/pmm.h>

#define PTE_P 0x1ULL
#define PTE_W 0x2ULL
#define PTE_PWT 0x8ULL
#define PTE_PCD 0x10ULL
#define PTE_PS 0x80ULL
#define PTE_NX (1ULL << 63)
#define ADDR_MASK 0x000FFFFFFFFFF000ULL
#define SIZE_2M (1ULL << 21)
#define SIZE_1G (1ULL << 30)

extern uint64_t boot_pml4[512];

static uint64_t *table_under(uint64_t *entry)
{
	if (!*entry) {
		void *t = page_alloc_zeroed(0);
		if (!t)
			return 0;
		*entry = (uint64_t)t | PTE_P | PTE_W;
	}
	return (uint64_t *)(*entry & ADDR_MASK);
}

/* The PDPT entry that maps ADDR, with the PDPT created if it is missing;
 * NULL above the 47-bit canonical half or out of memory. */
static uint64_t *pdpte_for(uint64_t addr)
{
	if (addr >= (1ULL << 47))
		return 0;
	uint64_t *pdpt = table_under(&boot_pml4[(addr >> 39) & 511]);
	return pdpt ? &pdpt[(addr >> 30) & 511] : 0;
}

int arch_map_ram(uint64_t start, uint64_t end)
{
	uint32_t a, b, c, d;
	bool gb_pages;

	cpuid(0x80000001, 0, &a, &b, &c, &d);
	gb_pages = d & (1u << 26);
	start &= ~(SIZE_2M - 1);
	while (start < end) {
		uint64_t *pdpte = pdpte_for(start);
		if (!pdpte)
			return -1;
		if (gb_pages && !(start & (SIZE_1G - 1)) && !*pdpte) {
			*pdpte = start | PTE_P | PTE_W | PTE_PS | PTE_NX;
			start += SIZE_1G;
			continue;
		}
		if (*pdpte & PTE_PS) {
			start = (start & ~(SIZE_1G - 1)) + SIZE_1G;
			continue;
		}
		uint64_t *pd = table_under(pdpte);
		if (!pd)
			return -1;
		pd[(start >> 21) & 511] = start | PTE_P | PTE_W | PTE_PS | PTE_NX;
		start += SIZE_2M;
	}
	write_cr3(read_cr3());
	return 0;
}

/* Device registers must not be cached or combined: map [start, end) with
 * PCD|PWT (uncached under the power-on PAT), in 2 MiB pages, splitting no
 * 1 GiB page (the boot map and arch_map_ram use 1 GiB pages only for RAM
 * above 4 GiB, where BARs are not placed inside RAM). */
int arch_map_mmio(uint64_t start, uint64_t end)
{
	start &= ~(SIZE_2M - 1);
	while (start < end) {
		uint64_t *pdpte = pdpte_for(start);
		if (!pdpte || (*pdpte & PTE_PS))
			return -1;
		uint64_t *pd = table_under(pdpte);
		if (!pd)
			return -1;
		pd[(start >> 21) & 511] =
		    start | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT | PTE_NX;
		invlpg(start);
		start += SIZE_2M;
	}
	return 0;
}
