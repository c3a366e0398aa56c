/* The host's ACPI tables: which CPUs exist (MADT) and how to power off
 * (FADT + the \_S5 package in the DSDT). Every table is checksummed before
 * use; firmware tables are trusted no further than that. */
#include <arch/acpi.h>
#include <arch/x86.h>
#include <keel/console.h>
#include <keel/string.h>

struct acpi_info acpi;

struct sdt_header {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static uint8_t sum_bytes(const void *p, uint64_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *b++);
	return s;
}

static const uint8_t *find_rsdp_in(uint64_t start, uint64_t end)
{
	for (uint64_t p = start; p + 20 <= end; p += 16) {
		const uint8_t *r = (const uint8_t *)p;
		if (!memcmp(r, "RSD PTR ", 8) && !sum_bytes(r, 20))
			return r;
	}
	return NULL;
}

static const struct sdt_header *table_at(uint64_t pa)
{
	const struct sdt_header *h = (const struct sdt_header *)pa;

	if (!pa || pa >= (4ULL << 30) || h->length < sizeof(*h) || h->length > (1u << 24))
		return NULL;
	return sum_bytes(h, h->length) ? NULL : h;
}

static void parse_madt(const struct sdt_header *h)
{
	const uint8_t *p = (const uint8_t *)h + 44, *end = (const uint8_t *)h + h->length;

	acpi.lapic_base = *(const uint32_t *)((const uint8_t *)h + 36);
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		if (p[0] == 0 && p[1] >= 8) { /* processor local APIC */
			uint32_t flags = *(const uint32_t *)(p + 4);
			if ((flags & 1) && acpi.ncpus < ACPI_MAX_CPUS)
				acpi.apic_id[acpi.ncpus++] = p[3];
		} else if (p[0] == 9 && p[1] >= 16) { /* processor local x2APIC */
			uint32_t flags = *(const uint32_t *)(p + 8);
			if ((flags & 1) && acpi.ncpus < ACPI_MAX_CPUS)
				acpi.apic_id[acpi.ncpus++] = *(const uint32_t *)(p + 4);
		} else if (p[0] == 5 && p[1] >= 12) { /* local APIC address override */
			acpi.lapic_base = *(const uint64_t *)(p + 4);
		}
		p += p[1];
	}
}

/* \_S5 is "_S5_" PackageOp PkgLength NumElements then SLP_TYPa, SLP_TYPb as
 * ZeroOp / OneOp / BytePrefix n. */
static int aml_small_int(const uint8_t **pp, const uint8_t *end, uint16_t *out)
{
	const uint8_t *p = *pp;

	if (p >= end)
		return -1;
	if (*p == 0x0A && p + 1 < end) {
		*out = p[1];
		*pp = p + 2;
	} else if (*p == 0x00 || *p == 0x01) {
		*out = *p;
		*pp = p + 1;
	} else {
		return -1;
	}
	return 0;
}

static void parse_dsdt_s5(const struct sdt_header *dsdt)
{
	const uint8_t *p = (const uint8_t *)dsdt + sizeof(*dsdt);
	const uint8_t *end = (const uint8_t *)dsdt + dsdt->length;

	for (; p + 8 < end; p++) {
		if (memcmp(p, "_S5_", 4) || p[4] != 0x12)
			continue;
		const uint8_t *q = p + 5;
		q += ((*q >> 6) & 3) + 1; /* PkgLength */
		q++; /* NumElements */
		if (aml_small_int(&q, end, &acpi.slp_typ_s5a) == 0 &&
		    aml_small_int(&q, end, &acpi.slp_typ_s5b) == 0)
			acpi.have_s5 = true;
		return;
	}
}

static void parse_fadt(const struct sdt_header *h)
{
	const uint8_t *f = (const uint8_t *)h;
	uint64_t dsdt = *(const uint32_t *)(f + 40);

	acpi.smi_cmd = (uint16_t) * (const uint32_t *)(f + 48);
	acpi.acpi_enable = f[52];
	acpi.pm1a_cnt = (uint16_t) * (const uint32_t *)(f + 64);
	acpi.pm1b_cnt = (uint16_t) * (const uint32_t *)(f + 68);
	if (h->length >= 148 && *(const uint64_t *)(f + 140))
		dsdt = *(const uint64_t *)(f + 140);
	const struct sdt_header *d = table_at(dsdt);
	if (d)
		parse_dsdt_s5(d);
}

/* Low physical addresses through an opaque pointer: to the compiler a
 * constant address like 0x40E looks like a null-pointer offset. */
static uint16_t read_low16(uint64_t pa)
{
	const volatile uint16_t *p;

	asm("" : "=r"(p) : "0"(pa));
	return *p;
}

int acpi_init(uint64_t rsdp_hint)
{
	const uint8_t *rsdp = NULL;
	uint16_t ebda_seg = read_low16(0x40E); /* BIOS data area: EBDA segment */

	if (rsdp_hint && !memcmp((const void *)rsdp_hint, "RSD PTR ", 8))
		rsdp = (const uint8_t *)rsdp_hint;
	if (!rsdp && ebda_seg)
		rsdp = find_rsdp_in((uint64_t)ebda_seg << 4, ((uint64_t)ebda_seg << 4) + 1024);
	if (!rsdp)
		rsdp = find_rsdp_in(0xE0000, 0x100000);
	if (!rsdp)
		return -1;

	uint64_t root = *(const uint32_t *)(rsdp + 16);
	unsigned entry_size = 4;
	if (rsdp[15] >= 2 && *(const uint64_t *)(rsdp + 24) &&
	    !sum_bytes(rsdp, *(const uint32_t *)(rsdp + 20))) {
		root = *(const uint64_t *)(rsdp + 24);
		entry_size = 8;
	}
	const struct sdt_header *rt = table_at(root);
	if (!rt)
		return -1;
	unsigned n = (rt->length - sizeof(*rt)) / entry_size;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = (const uint8_t *)rt + sizeof(*rt) + i * entry_size;
		uint64_t pa = entry_size == 8 ? *(const uint64_t *)e : *(const uint32_t *)e;
		const struct sdt_header *h = table_at(pa);
		if (!h)
			continue;
		if (!memcmp(h->sig, "APIC", 4))
			parse_madt(h);
		else if (!memcmp(h->sig, "FACP", 4))
			parse_fadt(h);
	}
	return 0;
}

void acpi_poweroff(void)
{
	if (!acpi.have_s5 || !acpi.pm1a_cnt)
		return;
	/* Switch to ACPI mode if firmware left it in legacy mode (SCI_EN clear). */
	if (acpi.smi_cmd && acpi.acpi_enable && !(inw(acpi.pm1a_cnt) & 1)) {
		outb(acpi.smi_cmd, acpi.acpi_enable);
		for (unsigned i = 0; i < 1000000 && !(inw(acpi.pm1a_cnt) & 1); i++)
			cpu_relax();
	}
	outw(acpi.pm1a_cnt, (uint16_t)((acpi.slp_typ_s5a << 10) | (1 << 13)));
	if (acpi.pm1b_cnt)
		outw(acpi.pm1b_cnt, (uint16_t)((acpi.slp_typ_s5b << 10) | (1 << 13)));
	for (unsigned i = 0; i < 10000000; i++)
		cpu_relax();
}
