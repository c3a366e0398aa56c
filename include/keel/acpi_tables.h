/* ACPI tables for a VM, generated from a small description (pure: no
 * allocation, no globals; written into the caller's buffer), and the AML
 * encoder the DSDT is built with. Layouts follow the ACPI 6.x specification:
 * RSDP 5.2.5, XSDT 5.2.8, FADT 5.2.9 (revision 6, 276 bytes), FACS 5.2.10,
 * MADT 5.2.12, AML 20.2, resource descriptors 6.4. */
#ifndef KEEL_ACPI_TABLES_H
#define KEEL_ACPI_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SLP_TYP value \_S5_ announces (for PM1a and PM1b): a guest powers off by
 * writing PM1a_CNT with SLP_TYP = ACPI_SLP_TYP_S5 (bits 12:10) and SLP_EN
 * (bit 13), i.e. the 16-bit value 0x3400. */
#define ACPI_SLP_TYP_S5 5

/* Enough for 254 vCPUs (the most this generator accepts) with room to spare. */
#define ACPI_TABLES_MAX_SIZE 8192

struct acpi_vm_desc {
	unsigned nvcpus; /* 1..254: MADT local APIC entries, UIDs and APIC IDs 0..n-1 */
	uint32_t lapic_base; /* 0xFEE00000 */
	uint32_t ioapic_base; /* 0xFEC00000; IOAPIC id 0, GSI base 0 */
	uint16_t pm1a_evt; /* I/O port of PM1a_EVT_BLK (4 bytes: status, enable), e.g. 0x600 */
	uint16_t pm1a_cnt; /* I/O port of PM1a_CNT_BLK (2 bytes), e.g. 0x604 */
	uint16_t pm_tmr; /* I/O port of PM_TMR_BLK (4 bytes), e.g. 0x608 */
	uint16_t sci_irq; /* ISA IRQ of the SCI (9); MADT maps it to the same GSI */
	uint16_t smi_cmd; /* 0: ACPI is always enabled, PM1_CNT.SCI_EN must read as 1 */
	uint8_t acpi_enable, acpi_disable; /* values for SMI_CMD (ignored when smi_cmd is 0) */
	bool pm_tmr_32bit; /* FADT TMR_VAL_EXT: timer counts 32 bits, not 24 */
	bool reset_reg; /* FADT reset register: I/O port 0xCF9, value 0x06 */
	/* ECAM window of PCI bus 0 (1 MiB, 1 MiB aligned, below 4 GiB), or 0
	 * for none. Given: an MCFG table (PCI Firmware 3.2, 4.1.2) and a
	 * PNP0C02 motherboard resource reserving the window in the DSDT. */
	uint32_t ecam_base;
};

/* Builds RSDP (revision 2), XSDT, FADT, FACS, MADT, DSDT (and MCFG) into BUF as if
 * BUF were loaded at guest-physical BASE (BASE must be 16-byte aligned and
 * the whole blob below 4 GiB, since the FADT's DSDT field and the MADT are
 * 32-bit). The RSDP is at BASE; the others follow, each 16-byte aligned (the
 * FACS 64-byte aligned). Returns the bytes used, or 0 if LEN is too small or
 * the description is invalid; never writes at or past BUF + LEN. */
size_t acpi_build_tables(const struct acpi_vm_desc *d, uint64_t base, uint8_t *buf, size_t len);

/* The bytes acpi_build_tables would use (0 for an invalid description). */
size_t acpi_tables_size(const struct acpi_vm_desc *d, uint64_t base);

/* The byte that makes LEN bytes at P sum to zero when stored among them in
 * place of a zero byte. */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

/* ---- AML encoder ----
 * Every function appends to an aml_buf. A write past the end sets overflow
 * and only advances pos, so a NULL buffer of length 0 measures. Objects with a
 * PkgLength (Scope, Device, Package, Buffer) are opened, filled and closed:
 * the PkgLength is encoded in as few bytes as fit once the body is known. */
struct aml_buf {
	uint8_t *buf;
	size_t len; /* capacity */
	size_t pos; /* bytes appended, including those that did not fit */
	bool overflow;
};

void aml_init(struct aml_buf *a, uint8_t *buf, size_t len);
void aml_byte(struct aml_buf *a, uint8_t v);
void aml_bytes(struct aml_buf *a, const void *p, size_t n);
void aml_le(struct aml_buf *a, uint64_t v, unsigned n); /* N bytes little-endian */
void aml_le_at(struct aml_buf *a, size_t off, uint64_t v, unsigned n); /* patch */

/* PkgLength (20.2.4) of TOTAL bytes (the encoding's own bytes included) into
 * OUT; returns its length 1..4, or 0 if TOTAL exceeds 2^28 - 1. */
unsigned aml_pkglen_encode(uint8_t out[4], uint32_t total);
/* Bytes a PkgLength takes in front of a body of BODY bytes (0: too long). */
unsigned aml_pkglen_size(size_t body);

size_t aml_pkg_open(struct aml_buf *a); /* reserves the PkgLength; returns a mark */
void aml_pkg_close(struct aml_buf *a, size_t mark);

void aml_nameseg(struct aml_buf *a, const char *seg); /* 1-4 chars, padded with '_' */
/* "\\_SB.PCI0", "^FOO", "_S5": root/parent prefixes, dual/multi name paths. */
void aml_namestring(struct aml_buf *a, const char *path);
void aml_integer(struct aml_buf *a, uint64_t v); /* Zero, One, Byte/Word/DWord/QWordPrefix */
void aml_string(struct aml_buf *a, const char *s);
uint32_t acpi_eisaid(const char *id); /* "PNP0A03" -> 0x030AD041 */
void aml_name(struct aml_buf *a, const char *name); /* NameOp NameString; append the value */
size_t aml_scope_open(struct aml_buf *a, const char *name);
size_t aml_device_open(struct aml_buf *a, const char *name);
size_t aml_package_open(struct aml_buf *a, uint8_t nelems); /* close with aml_pkg_close */
size_t aml_buffer_open(struct aml_buf *a);
void aml_buffer_close(struct aml_buf *a, size_t mark);

/* ResourceTemplate: a Buffer of descriptors closed by an EndTag whose
 * checksum makes the descriptors sum to zero. */
size_t aml_restemplate_open(struct aml_buf *a);
void aml_restemplate_close(struct aml_buf *a, size_t mark);
void aml_res_io(struct aml_buf *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_irq_noflags(struct aml_buf *a, uint16_t mask);
/* Address space descriptors, produced by a bridge, MinFixed MaxFixed PosDecode. */
void aml_res_word_bus(struct aml_buf *a, uint16_t min, uint16_t max);
void aml_res_dword_io(struct aml_buf *a, uint32_t min, uint32_t max);
void aml_res_dword_mem(struct aml_buf *a, uint32_t min, uint32_t max, bool cacheable);

#endif
