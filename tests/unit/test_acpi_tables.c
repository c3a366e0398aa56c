/* Unit tests for the ACPI table generator (core/acpi_tables.c) and its AML
 * encoder (core/acpi_aml.c): PkgLength boundaries, name and integer
 * encodings, checksums, pointers between tables, FADT and MADT layouts,
 * too-small buffers (under ASan), and disassembly of every table by iasl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <keel/acpi_tables.h>

#define BASE 0x000E0000u

static const struct acpi_vm_desc desc_default = {
    .nvcpus = 4,
    .lapic_base = 0xFEE00000,
    .ioapic_base = 0xFEC00000,
    .pm1a_evt = 0x600,
    .pm1a_cnt = 0x604,
    .pm_tmr = 0x608,
    .sci_irq = 9,
    .smi_cmd = 0,
    .reset_reg = true,
    .ecam_base = 0xB0000000,
};

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* ---- AML encoder ---- */

static void test_pkglen_encode(void **state)
{
	static const struct {
		uint32_t total;
		unsigned n;
		uint8_t enc[4];
	} cases[] = {
	    {0, 1, {0x00}},
	    {63, 1, {0x3F}},
	    {64, 2, {0x40, 0x04}},
	    {4095, 2, {0x4F, 0xFF}},
	    {4096, 3, {0x80, 0x00, 0x01}},
	    {0xFFFFF, 3, {0x8F, 0xFF, 0xFF}},
	    {0x100000, 4, {0xC0, 0x00, 0x00, 0x01}},
	    {0x0FFFFFFF, 4, {0xCF, 0xFF, 0xFF, 0xFF}},
	};
	uint8_t out[4];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 0xAA, sizeof(out));
		assert_int_equal(aml_pkglen_encode(out, cases[i].total), cases[i].n);
		assert_memory_equal(out, cases[i].enc, cases[i].n);
	}
	assert_int_equal(aml_pkglen_encode(out, 0x10000000), 0);

	/* The encoding's own bytes count: a body of 62 fits one byte, 63 does not. */
	assert_int_equal(aml_pkglen_size(62), 1);
	assert_int_equal(aml_pkglen_size(63), 2);
	assert_int_equal(aml_pkglen_size(4093), 2);
	assert_int_equal(aml_pkglen_size(4094), 3);
	assert_int_equal(aml_pkglen_size(0xFFFFC), 3);
	assert_int_equal(aml_pkglen_size(0xFFFFD), 4);
	assert_int_equal(aml_pkglen_size(0x0FFFFFFB), 4);
	assert_int_equal(aml_pkglen_size(0x0FFFFFFC), 0);
}

/* Opens a package, appends BODY bytes of a pattern, closes; checks the result. */
static void check_pkg(size_t body, unsigned n)
{
	size_t cap = body + 16;
	uint8_t *buf = malloc(cap);
	struct aml_buf a;
	uint8_t enc[4];
	size_t mark;

	assert_non_null(buf);
	aml_init(&a, buf, cap);
	aml_byte(&a, 0x12);
	mark = aml_pkg_open(&a);
	for (size_t i = 0; i < body; i++)
		aml_byte(&a, (uint8_t)(i * 7 + 1));
	aml_pkg_close(&a, mark);
	assert_false(a.overflow);
	assert_int_equal(a.pos, 1 + n + body);
	assert_int_equal(aml_pkglen_encode(enc, (uint32_t)(body + n)), n);
	assert_memory_equal(buf + 1, enc, n);
	for (size_t i = 0; i < body; i++)
		assert_int_equal(buf[1 + n + i], (uint8_t)(i * 7 + 1));
	free(buf);
}

static void test_pkg_close_boundaries(void **state)
{
	(void)state;
	check_pkg(0, 1);
	check_pkg(62, 1);
	check_pkg(63, 2);
	check_pkg(4093, 2);
	check_pkg(4094, 3);
	check_pkg(0xFFFFC, 3);
	check_pkg(0xFFFFD, 4);
}

static void test_names_integers(void **state)
{
	uint8_t buf[64];
	struct aml_buf a;

	(void)state;
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "_S5");
	assert_int_equal(a.pos, 4);
	assert_memory_equal(buf, "_S5_", 4);

	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "\\_SB.PCI0");
	assert_int_equal(a.pos, 10);
	assert_memory_equal(buf, "\\\x2E_SB_PCI0", 10);

	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "\\_SB.PCI0.ISA");
	assert_int_equal(a.pos, 15);
	assert_memory_equal(buf, "\\\x2F\x03_SB_PCI0ISA_", 15);

	aml_init(&a, buf, sizeof(buf));
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0xFF);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0x100000000ull);
	assert_int_equal(a.pos, 1 + 1 + 2 + 2 + 3 + 5 + 9);
	assert_memory_equal(buf,
			    "\x00\x01\x0A\x02\x0A\xFF\x0B\x00\x01\x0C\x00\x00\x01\x00"
			    "\x0E\x00\x00\x00\x00\x01\x00\x00\x00",
			    a.pos);

	assert_int_equal(acpi_eisaid("PNP0A03"), 0x030AD041);
	assert_int_equal(acpi_eisaid("PNP0501"), 0x0105D041);
}

static void test_restemplate(void **state)
{
	uint8_t buf[64];
	struct aml_buf a;
	size_t m;

	(void)state;
	aml_init(&a, buf, sizeof(buf));
	m = aml_restemplate_open(&a);
	aml_res_io(&a, 0x3F8, 0x3F8, 1, 8);
	aml_res_irq_noflags(&a, 1 << 4);
	aml_restemplate_close(&a, m);
	assert_false(a.overflow);
	/* BufferOp, PkgLength (1 byte), WordPrefix size, 8 + 3 + 2 descriptor bytes. */
	assert_int_equal(a.pos, 1 + 1 + 3 + 13);
	assert_int_equal(buf[0], 0x11);
	assert_int_equal(buf[1], a.pos - 1);
	assert_int_equal(buf[2], 0x0B);
	assert_int_equal(rd(buf + 3, 2), 13);
	assert_memory_equal(buf + 5, "\x47\x01\xF8\x03\xF8\x03\x01\x08\x22\x10\x00\x79", 12);
	assert_int_equal(sum(buf + 5, 13), 0);
}

/* ---- Tables ---- */

struct tables {
	const uint8_t *rsdp, *xsdt, *fadt, *facs, *madt, *dsdt, *mcfg;
};

/* Follows the pointers from the RSDP, checking each lies inside the blob. */
static void find_tables(const uint8_t *buf, size_t used, struct tables *t)
{
	uint64_t a;

	t->rsdp = buf;
	a = rd(buf + 24, 8);
	assert_true(a >= BASE && a + 36 <= BASE + used && a % 8 == 0);
	t->xsdt = buf + (a - BASE);
	unsigned n = ((unsigned)rd(t->xsdt + 4, 4) - 36) / 8;
	assert_int_equal(rd(t->xsdt + 4, 4), 36 + 8 * n);
	assert_true(n == 2 || n == 3); /* FADT, MADT and with ECAM the MCFG */
	t->mcfg = NULL;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p;

		a = rd(t->xsdt + 36 + 8 * i, 8);
		assert_true(a >= BASE && a + 36 <= BASE + used && a % 8 == 0);
		p = buf + (a - BASE);
		if (!memcmp(p, "FACP", 4))
			t->fadt = p;
		else if (!memcmp(p, "APIC", 4))
			t->madt = p;
		else if (!memcmp(p, "MCFG", 4))
			t->mcfg = p;
		else
			fail_msg("unexpected table in the XSDT");
	}
	assert_non_null(t->fadt);
	assert_non_null(t->madt);
	a = rd(t->fadt + 140, 8); /* X_DSDT */
	assert_int_equal(rd(t->fadt + 40, 4), a);
	assert_true(a >= BASE && a + 36 <= BASE + used);
	t->dsdt = buf + (a - BASE);
	assert_memory_equal(t->dsdt, "DSDT", 4);
	a = rd(t->fadt + 132, 8); /* X_FIRMWARE_CTRL */
	assert_int_equal(rd(t->fadt + 36, 4), 0);
	assert_true(a >= BASE && a + 64 <= BASE + used && a % 64 == 0);
	t->facs = buf + (a - BASE);
	assert_memory_equal(t->facs, "FACS", 4);
	assert_int_equal(rd(t->facs + 4, 4), 64);
	assert_true(t->dsdt + rd(t->dsdt + 4, 4) <= buf + used);
	assert_true(t->madt + rd(t->madt + 4, 4) <= buf + used);
}

static void check_blob(const struct acpi_vm_desc *d, uint8_t *buf, size_t used)
{
	struct tables t = {0};
	const uint8_t *p, *end;
	unsigned count[5] = {0}, n = 0;

	assert_memory_equal(buf, "RSD PTR ", 8);
	assert_int_equal(sum(buf, 20), 0);
	assert_int_equal(buf[15], 2);
	assert_int_equal(rd(buf + 20, 4), 36);
	assert_int_equal(sum(buf, 36), 0);
	find_tables(buf, used, &t);
	assert_int_equal(sum(t.xsdt, rd(t.xsdt + 4, 4)), 0);
	assert_int_equal(sum(t.fadt, rd(t.fadt + 4, 4)), 0);
	assert_int_equal(sum(t.madt, rd(t.madt + 4, 4)), 0);
	assert_int_equal(sum(t.dsdt, rd(t.dsdt + 4, 4)), 0);

	/* MADT: walk the entries. */
	assert_int_equal(rd(t.madt + 36, 4), d->lapic_base);
	assert_int_equal(rd(t.madt + 40, 4), 1);
	end = t.madt + rd(t.madt + 4, 4);
	for (p = t.madt + 44; p < end; p += p[1], n++) {
		assert_true(p[1] >= 2 && p + p[1] <= end);
		assert_true(p[0] <= 4);
		count[p[0]]++;
		if (p[0] == 0) {
			assert_int_equal(p[1], 8);
			assert_int_equal(p[2], count[0] - 1);
			assert_int_equal(p[3], count[0] - 1);
			assert_int_equal(rd(p + 4, 4), 1);
		} else if (p[0] == 1) {
			assert_int_equal(p[1], 12);
			assert_int_equal(p[2], 0); /* the IOAPIC ID */
			assert_int_equal(rd(p + 4, 4), d->ioapic_base);
			assert_int_equal(rd(p + 8, 4), 0);
		} else if (p[0] == 2) {
			assert_int_equal(p[1], 10);
			assert_int_equal(p[2], 0);
			if (p[3] == 0) {
				assert_int_equal(rd(p + 4, 4), 2);
				assert_int_equal(rd(p + 8, 2), 0x5);
			} else {
				assert_int_equal(p[3], 9);
				assert_int_equal(rd(p + 4, 4), 9);
				assert_int_equal(rd(p + 8, 2), 0xD);
			}
		} else if (p[0] == 4) {
			assert_int_equal(p[1], 6);
			assert_int_equal(p[2], 0xFF);
			assert_int_equal(p[5], 1);
		}
	}
	assert_true(p == end);
	assert_int_equal(n, d->nvcpus + 1 + 2 + 1);
	assert_int_equal(count[0], d->nvcpus);
	assert_int_equal(count[1], 1);
	assert_int_equal(count[2], 2);
	assert_int_equal(count[4], 1);
}

static void test_nvcpus(void **state)
{
	struct acpi_vm_desc d = desc_default;

	(void)state;
	for (d.nvcpus = 1; d.nvcpus <= 64; d.nvcpus++) {
		size_t need = acpi_tables_size(&d, BASE);
		uint8_t *buf = malloc(need);
		size_t used;

		assert_true(need > 0 && need <= ACPI_TABLES_MAX_SIZE);
		used = acpi_build_tables(&d, BASE, buf, need);
		assert_int_equal(used, need);
		check_blob(&d, buf, used);
		free(buf);
	}
	d.nvcpus = 254;
	assert_true(acpi_tables_size(&d, BASE) <= ACPI_TABLES_MAX_SIZE);
	d.nvcpus = 0;
	assert_int_equal(acpi_tables_size(&d, BASE), 0);
	d.nvcpus = 255;
	assert_int_equal(acpi_tables_size(&d, BASE), 0);
}

static void test_ecam(void **state)
{
	struct acpi_vm_desc d = desc_default;
	uint8_t buf[ACPI_TABLES_MAX_SIZE];
	struct tables t;
	size_t used;

	(void)state;
	used = acpi_build_tables(&d, BASE, buf, sizeof(buf));
	find_tables(buf, used, &t);
	assert_non_null(t.mcfg);
	assert_int_equal(rd(t.mcfg + 4, 4), 60);
	assert_int_equal(rd(t.mcfg + 44, 8), 0xB0000000);
	assert_int_equal(rd(t.mcfg + 52, 2), 0); /* segment */
	assert_int_equal(t.mcfg[54], 0); /* buses 0..0 */
	assert_int_equal(t.mcfg[55], 0);
	/* Without ECAM: no MCFG. */
	d.ecam_base = 0;
	used = acpi_build_tables(&d, BASE, buf, sizeof(buf));
	find_tables(buf, used, &t);
	assert_null(t.mcfg);
	/* A window that is not 1 MiB aligned, or runs past 4 GiB, is refused. */
	d.ecam_base = 0xB0080000;
	assert_int_equal(acpi_tables_size(&d, BASE), 0);
	d.ecam_base = 0xFFF00000;
	assert_true(acpi_tables_size(&d, BASE) > 0);
}

static void test_fadt_layout(void **state)
{
	static uint8_t buf[ACPI_TABLES_MAX_SIZE];
	struct tables t = {0};
	const uint8_t *f;
	size_t used;

	(void)state;
	used = acpi_build_tables(&desc_default, BASE, buf, sizeof(buf));
	assert_true(used > 0);
	find_tables(buf, used, &t);
	f = t.fadt;
	assert_int_equal(rd(f + 4, 4), 276);
	assert_int_equal(f[8], 6); /* revision */
	assert_int_equal(rd(f + 46, 2), 9); /* SCI_INT */
	assert_int_equal(rd(f + 48, 4), 0); /* SMI_CMD: always in ACPI mode */
	assert_int_equal(rd(f + 56, 4), 0x600); /* PM1a_EVT_BLK */
	assert_int_equal(rd(f + 64, 4), 0x604); /* PM1a_CNT_BLK */
	assert_int_equal(rd(f + 76, 4), 0x608); /* PM_TMR_BLK */
	assert_int_equal(f[88], 4); /* PM1_EVT_LEN */
	assert_int_equal(f[89], 2); /* PM1_CNT_LEN */
	assert_int_equal(f[91], 4); /* PM_TMR_LEN */
	assert_int_equal(f[108], 0x32); /* CENTURY */
	assert_int_equal(rd(f + 112, 4) & (1u << 10), 1u << 10); /* RESET_REG_SUP */
	assert_int_equal(rd(f + 112, 4) & (1u << 20), 0); /* not HW_REDUCED */
	assert_memory_equal(f + 116, "\x01\x08\x00\x01\xF9\x0C\0\0\0\0\0\0", 12);
	assert_int_equal(f[128], 0x06); /* RESET_VALUE */
	assert_int_equal(f[131], 0); /* minor version */
	assert_memory_equal(f + 148, "\x01\x20\x00\x02\x00\x06\0\0\0\0\0\0", 12);
	assert_memory_equal(f + 172, "\x01\x10\x00\x02\x04\x06\0\0\0\0\0\0", 12);
	assert_memory_equal(f + 208, "\x01\x20\x00\x03\x08\x06\0\0\0\0\0\0", 12);
	assert_int_equal((uintptr_t)(t.fadt - buf) % 8, 0);
}

static void test_too_small(void **state)
{
	size_t need = acpi_tables_size(&desc_default, BASE);

	(void)state;
	assert_true(need > 0);
	/* Exactly-sized heap buffers: ASan catches any write past LEN. */
	for (size_t len = 0; len < need; len++) {
		uint8_t *buf = malloc(len ? len : 1);

		assert_int_equal(acpi_build_tables(&desc_default, BASE, buf, len), 0);
		free(buf);
	}
	assert_int_equal(acpi_build_tables(&desc_default, BASE, NULL, 0), 0);
	assert_int_equal(acpi_build_tables(&desc_default, BASE + 8, NULL, 0), 0);
}

/* ---- iasl ---- */

/* Runs CMD, returns its exit status and its output (stdout and stderr) in OUT. */
static int run(const char *cmd, char *out, size_t len)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0, r;
	int st;

	assert_non_null(f);
	while (n + 1 < len && (r = fread(out + n, 1, len - 1 - n, f)) > 0)
		n += r;
	out[n] = 0;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = calloc(1, 1 << 20);

	assert_non_null(f);
	assert_non_null(s);
	fread(s, 1, (1 << 20) - 1, f);
	fclose(f);
	return s;
}

static void no_complaints(const char *what, const char *text)
{
	static const char *const bad[] = {"Error",   "Warning",     "Invalid",  "Incorrect",
					  "Unknown", "Unsupported", "should be"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(text, bad[i]))
			fail_msg("%s mentions \"%s\":\n%s", what, bad[i], text);
}

static void disassemble(const char *dir, const char *name, const uint8_t *p, size_t len, char **dsl)
{
	char path[512], cmd[1200], out[8192];
	FILE *f;
	int st;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat 2>&1", dir, name);
	st = run(cmd, out, sizeof(out));
	printf("iasl -d %s.dat: exit %d\n%s", name, st, out);
	if (st != 0)
		fail_msg("iasl -d %s.dat failed (exit %d)", name, st);
	no_complaints("iasl output", out);
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	*dsl = slurp(path);
	no_complaints(path, *dsl);
}

/* iasl -d cannot read a lone RSDP (20200925 refuses even its own template:
 * "Binary file does not contain a valid ACPI table"). If this iasl can, its
 * disassembly must be clean; in any case, iasl's data table compiler must
 * produce byte for byte our RSDP, both checksums included, from its fields. */
static void check_rsdp(const char *dir, const uint8_t *rsdp)
{
	char path[512], cmd[1200], out[8192];
	uint8_t ref[64];
	FILE *f;
	int st;

	snprintf(path, sizeof(path), "%s/RSDP.dat", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(rsdp, 1, 36, f), 36);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d RSDP.dat 2>&1", dir);
	st = run(cmd, out, sizeof(out));
	printf("iasl -d RSDP.dat: exit %d\n%s", st, out);
	if (st == 0) {
		char *dsl;

		no_complaints("iasl output", out);
		snprintf(path, sizeof(path), "%s/RSDP.dsl", dir);
		dsl = slurp(path);
		no_complaints(path, dsl);
		free(dsl);
	} else {
		snprintf(
		    cmd, sizeof(cmd),
		    "cd %s && iasl -T RSDP >/dev/null 2>&1 && iasl -p tmpl rsdp.asl >/dev/null "
		    "2>&1 && iasl -d tmpl.aml 2>&1",
		    dir);
		if (run(cmd, out, sizeof(out)) == 0)
			fail_msg("iasl disassembles its own RSDP but not ours");
		printf("(iasl cannot disassemble its own RSDP template either)\n");
	}

	snprintf(path, sizeof(path), "%s/ref.asl", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"[0008] Signature : \"RSD PTR \"\n[0001] Checksum : 00\n"
		"[0006] Oem ID : \"KEEL  \"\n[0001] Revision : 02\n"
		"[0004] RSDT Address : 00000000\n[0004] Length : 00000024\n"
		"[0008] XSDT Address : %016llX\n[0001] Extended Checksum : 00\n"
		"[0003] Reserved : 000000\n",
		(unsigned long long)rd(rsdp + 24, 8));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -p ref ref.asl 2>&1", dir);
	st = run(cmd, out, sizeof(out));
	if (st != 0 || !strstr(out, "0 Errors, 0 Warnings"))
		fail_msg("iasl could not compile the reference RSDP:\n%s", out);
	snprintf(path, sizeof(path), "%s/ref.aml", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(ref, 1, sizeof(ref), f), 36);
	fclose(f);
	assert_memory_equal(rsdp, ref, 36);
	printf("RSDP matches iasl's compilation of its fields\n");
}

static void test_iasl(void **state)
{
	static uint8_t buf[ACPI_TABLES_MAX_SIZE];
	char dir[] = "/tmp/keel-acpi-XXXXXX", cmd[1200], out[8192], *dsl;
	struct tables t = {0};
	size_t used;
	int st;

	(void)state;
	if (system("command -v iasl >/dev/null 2>&1") != 0)
		fail_msg("iasl not found: install acpica-tools (listed in tools/packages.txt, "
			 "`make deps`)");
	used = acpi_build_tables(&desc_default, BASE, buf, sizeof(buf));
	assert_true(used > 0);
	find_tables(buf, used, &t);
	assert_non_null(mkdtemp(dir));

	check_rsdp(dir, t.rsdp);
	disassemble(dir, "XSDT", t.xsdt, rd(t.xsdt + 4, 4), &dsl);
	free(dsl);
	disassemble(dir, "FACP", t.fadt, rd(t.fadt + 4, 4), &dsl);
	free(dsl);
	disassemble(dir, "FACS", t.facs, 64, &dsl);
	free(dsl);
	disassemble(dir, "APIC", t.madt, rd(t.madt + 4, 4), &dsl);
	free(dsl);
	assert_non_null(t.mcfg);
	disassemble(dir, "MCFG", t.mcfg, rd(t.mcfg + 4, 4), &dsl);
	assert_non_null(strstr(dsl, "Base Address : 00000000B0000000"));
	free(dsl);
	disassemble(dir, "DSDT", t.dsdt, rd(t.dsdt + 4, 4), &dsl);
	assert_non_null(strstr(dsl, "PNP0C02")); /* the ECAM window, reserved */
	assert_non_null(strstr(dsl, "_S5_"));
	assert_non_null(strstr(dsl, "PNP0A03"));
	assert_non_null(strstr(dsl, "PNP0501"));
	assert_non_null(strstr(dsl, "PNP0303")); /* the i8042 */
	printf("%s", strstr(dsl, "DefinitionBlock"));
	free(dsl);

	/* Recompiling the disassembled DSDT also runs iasl's semantic checks. */
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -p DSDT2 DSDT.dsl 2>&1", dir);
	st = run(cmd, out, sizeof(out));
	printf("iasl DSDT.dsl: exit %d\n%s", st, out);
	assert_int_equal(st, 0);
	if (!strstr(out, "0 Errors, 0 Warnings, 0 Remarks"))
		fail_msg("iasl compiled DSDT.dsl with complaints:\n%s", out);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pkglen_encode),  cmocka_unit_test(test_pkg_close_boundaries),
	    cmocka_unit_test(test_names_integers), cmocka_unit_test(test_restemplate),
	    cmocka_unit_test(test_nvcpus),         cmocka_unit_test(test_fadt_layout),
	    cmocka_unit_test(test_too_small),      cmocka_unit_test(test_iasl),
	    cmocka_unit_test(test_ecam),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
