/* A VM's ACPI tables (ACPI 6.x): RSDP -> XSDT -> {FADT, MADT}, FADT ->
 * {FACS, DSDT}. Written in one pass into the caller's buffer; pointers,
 * lengths and checksums are patched once every table is in place. */
#include <keel/acpi_tables.h>
#include <keel/string.h>

#define HDR_LEN 36 /* System Description Table Header */
#define HDR_LENGTH 4
#define HDR_CHECKSUM 9
#define OEM_ID "KEEL  "
#define OEM_TABLE_ID "KEELVM  "
#define CREATOR_ID "KEEL"

#define RSDP_LEN 36
#define FADT_LEN 276
#define FADT_REVISION 6
#define FADT_MINOR 0 /* ACPI 6.0 */
#define FACS_LEN 64
#define MADT_REVISION 5
#define DSDT_REVISION 2 /* 64-bit integers */
#define MAX_VCPUS 254 /* 8-bit APIC IDs: 0xFF is broadcast (and a round bound) */

/* FADT field offsets (5.2.9, Table 5.9). */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT 140

/* FADT Fixed Feature Flags. */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_PWR_BUTTON (1u << 4) /* no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5) /* no fixed-feature sleep button */
#define FADT_FIX_RTC (1u << 6) /* no RTC wake status in the fixed registers */
#define FADT_TMR_VAL_EXT (1u << 8)
#define FADT_RESET_REG_SUP (1u << 10)

/* IA-PC boot architecture flags: legacy devices (PIC, PIT, RTC, UART) yes,
 * no 8042, no VGA. */
#define BOOT_LEGACY_DEVICES (1u << 0)
#define BOOT_8042 (1u << 1)
#define BOOT_VGA_NOT_PRESENT (1u << 2)

#define GAS_SYSTEM_IO 1
#define ACCESS_BYTE 1
#define ACCESS_WORD 2
#define ACCESS_DWORD 3

#define RESET_PORT 0xCF9
#define RESET_VALUE 0x06 /* full reset, CPU reset */
#define CENTURY_INDEX 0x32

/* MADT (5.2.12) structures, their lengths and interrupt flags (MPS INTI). */
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_NMI 4
#define MADT_PCAT_COMPAT 1u
#define INTI_HIGH 0x1
#define INTI_EDGE (0x1 << 2)
#define INTI_LEVEL (0x3 << 2)

#define PCI_MMIO_START 0xE0000000u
#define PCI_MMIO_END 0xFEBFFFFFu
#define COM1_PORT 0x3F8
#define COM1_IRQ 4
#define KBD_DATA_PORT 0x60
#define KBD_CMD_PORT 0x64
#define KBD_IRQ 1

static void align(struct aml_buf *w, size_t to)
{
	while (w->pos % to)
		aml_byte(w, 0);
}

static size_t table_begin(struct aml_buf *w, const char *sig, uint8_t rev)
{
	size_t start;

	align(w, 16);
	start = w->pos;
	aml_bytes(w, sig, 4);
	aml_le(w, 0, 4); /* length, patched by table_end */
	aml_byte(w, rev);
	aml_byte(w, 0); /* checksum, patched by table_end */
	aml_bytes(w, OEM_ID, 6);
	aml_bytes(w, OEM_TABLE_ID, 8);
	aml_le(w, 1, 4); /* OEM revision */
	aml_bytes(w, CREATOR_ID, 4);
	aml_le(w, 1, 4); /* creator revision */
	return start;
}

/* Patches the length and checksum of the table at START, which ends at END. */
static void table_end(struct aml_buf *w, size_t start, size_t end)
{
	if (w->overflow)
		return;
	aml_le_at(w, start + HDR_LENGTH, end - start, 4);
	w->buf[start + HDR_CHECKSUM] = 0;
	w->buf[start + HDR_CHECKSUM] = acpi_checksum(w->buf + start, end - start);
}

/* Generic Address Structure (5.2.3.2). */
static void gas(struct aml_buf *w, uint8_t space, uint8_t bits, uint8_t access, uint64_t addr)
{
	aml_byte(w, space);
	aml_byte(w, bits);
	aml_byte(w, 0); /* bit offset */
	aml_byte(w, access);
	aml_le(w, addr, 8);
}

static void gas_io(struct aml_buf *w, uint16_t port, uint8_t len, uint8_t access)
{
	if (port)
		gas(w, GAS_SYSTEM_IO, (uint8_t)(len * 8), access, port);
	else
		gas(w, 0, 0, 0, 0);
}

static void build_fadt(struct aml_buf *w, const struct acpi_vm_desc *d)
{
	uint32_t flags =
	    FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_FIX_RTC;

	if (d->pm_tmr_32bit)
		flags |= FADT_TMR_VAL_EXT;
	if (d->reset_reg)
		flags |= FADT_RESET_REG_SUP;
	aml_le(w, 0, 4); /* 36 FIRMWARE_CTRL: 0, X_FIRMWARE_CTRL is used */
	aml_le(w, 0, 4); /* 40 DSDT, patched */
	aml_byte(w, 0); /* 44 reserved */
	aml_byte(w, 0); /* 45 Preferred_PM_Profile: unspecified */
	aml_le(w, d->sci_irq, 2); /* 46 SCI_INT */
	aml_le(w, d->smi_cmd, 4); /* 48 SMI_CMD */
	aml_byte(w, d->smi_cmd ? d->acpi_enable : 0); /* 52 ACPI_ENABLE */
	aml_byte(w, d->smi_cmd ? d->acpi_disable : 0); /* 53 ACPI_DISABLE */
	aml_byte(w, 0); /* 54 S4BIOS_REQ */
	aml_byte(w, 0); /* 55 PSTATE_CNT */
	aml_le(w, d->pm1a_evt, 4); /* 56 PM1a_EVT_BLK */
	aml_le(w, 0, 4); /* 60 PM1b_EVT_BLK */
	aml_le(w, d->pm1a_cnt, 4); /* 64 PM1a_CNT_BLK */
	aml_le(w, 0, 4); /* 68 PM1b_CNT_BLK */
	aml_le(w, 0, 4); /* 72 PM2_CNT_BLK */
	aml_le(w, d->pm_tmr, 4); /* 76 PM_TMR_BLK */
	aml_le(w, 0, 4); /* 80 GPE0_BLK */
	aml_le(w, 0, 4); /* 84 GPE1_BLK */
	aml_byte(w, d->pm1a_evt ? 4 : 0); /* 88 PM1_EVT_LEN */
	aml_byte(w, d->pm1a_cnt ? 2 : 0); /* 89 PM1_CNT_LEN */
	aml_byte(w, 0); /* 90 PM2_CNT_LEN */
	aml_byte(w, d->pm_tmr ? 4 : 0); /* 91 PM_TMR_LEN */
	aml_le(w, 0, 4); /* 92 GPE0_BLK_LEN, GPE1_BLK_LEN, GPE1_BASE, CST_CNT */
	aml_le(w, 101, 2); /* 96 P_LVL2_LAT: > 100, no C2 */
	aml_le(w, 1001, 2); /* 98 P_LVL3_LAT: > 1000, no C3 */
	aml_le(w, 0, 4); /* 100 FLUSH_SIZE, FLUSH_STRIDE */
	aml_le(w, 0, 4); /* 104 DUTY_OFFSET, DUTY_WIDTH, DAY_ALRM, MON_ALRM */
	aml_byte(w, CENTURY_INDEX); /* 108 CENTURY */
	aml_le(w, BOOT_LEGACY_DEVICES | BOOT_8042 | BOOT_VGA_NOT_PRESENT,
	       2); /* 109 IAPC_BOOT_ARCH */
	aml_byte(w, 0); /* 111 reserved */
	aml_le(w, flags, 4); /* 112 Flags */
	if (d->reset_reg) /* 116 RESET_REG */
		gas(w, GAS_SYSTEM_IO, 8, ACCESS_BYTE, RESET_PORT);
	else
		gas(w, 0, 0, 0, 0);
	aml_byte(w, d->reset_reg ? RESET_VALUE : 0); /* 128 RESET_VALUE */
	aml_le(w, 0, 2); /* 129 ARM_BOOT_ARCH */
	aml_byte(w, FADT_MINOR); /* 131 FADT Minor Version */
	aml_le(w, 0, 8); /* 132 X_FIRMWARE_CTRL, patched */
	aml_le(w, 0, 8); /* 140 X_DSDT, patched */
	gas_io(w, d->pm1a_evt, 4, ACCESS_WORD); /* 148 X_PM1a_EVT_BLK */
	gas_io(w, 0, 0, 0); /* 160 X_PM1b_EVT_BLK */
	gas_io(w, d->pm1a_cnt, 2, ACCESS_WORD); /* 172 X_PM1a_CNT_BLK */
	gas_io(w, 0, 0, 0); /* 184 X_PM1b_CNT_BLK */
	gas_io(w, 0, 0, 0); /* 196 X_PM2_CNT_BLK */
	gas_io(w, d->pm_tmr, 4, ACCESS_DWORD); /* 208 X_PM_TMR_BLK */
	gas_io(w, 0, 0, 0); /* 220 X_GPE0_BLK */
	gas_io(w, 0, 0, 0); /* 232 X_GPE1_BLK */
	gas_io(w, 0, 0, 0); /* 244 SLEEP_CONTROL_REG */
	gas_io(w, 0, 0, 0); /* 256 SLEEP_STATUS_REG */
	aml_le(w, 0, 8); /* 268 Hypervisor Vendor Identity */
}

static void build_facs(struct aml_buf *w)
{
	aml_bytes(w, "FACS", 4);
	aml_le(w, FACS_LEN, 4);
	aml_le(w, 0, 4); /* hardware signature */
	aml_le(w, 0, 4); /* firmware waking vector: no S3 */
	aml_le(w, 0, 4); /* global lock */
	aml_le(w, 0, 4); /* flags: no S4BIOS, no 64-bit wake */
	aml_le(w, 0, 8); /* X firmware waking vector */
	aml_byte(w, 2); /* version */
	aml_le(w, 0, 3); /* reserved */
	aml_le(w, 0, 4); /* OSPM flags */
	for (unsigned i = 0; i < 24; i++)
		aml_byte(w, 0); /* reserved */
}

static void madt_iso(struct aml_buf *w, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	aml_byte(w, MADT_ISO);
	aml_byte(w, 10);
	aml_byte(w, 0); /* bus: ISA */
	aml_byte(w, irq);
	aml_le(w, gsi, 4);
	aml_le(w, flags, 2);
}

static void build_madt(struct aml_buf *w, const struct acpi_vm_desc *d)
{
	aml_le(w, d->lapic_base, 4);
	aml_le(w, MADT_PCAT_COMPAT, 4);
	for (unsigned i = 0; i < d->nvcpus; i++) {
		aml_byte(w, MADT_LAPIC);
		aml_byte(w, 8);
		aml_byte(w, (uint8_t)i); /* ACPI processor UID */
		aml_byte(w, (uint8_t)i); /* APIC ID */
		aml_le(w, 1, 4); /* enabled */
	}
	aml_byte(w, MADT_IOAPIC);
	aml_byte(w, 12);
	aml_byte(w, 0); /* IOAPIC ID: its own name space, as on QEMU's PCs */
	aml_byte(w, 0);
	aml_le(w, d->ioapic_base, 4);
	aml_le(w, 0, 4); /* GSI base */
	madt_iso(w, 0, 2, INTI_EDGE | INTI_HIGH);
	madt_iso(w, (uint8_t)d->sci_irq, d->sci_irq, INTI_LEVEL | INTI_HIGH);
	aml_byte(w, MADT_LAPIC_NMI);
	aml_byte(w, 6);
	aml_byte(w, 0xFF); /* all processors */
	aml_le(w, INTI_EDGE | INTI_HIGH, 2);
	aml_byte(w, 1); /* LINT1 */
}

static void name_int(struct aml_buf *w, const char *name, uint64_t v)
{
	aml_name(w, name);
	aml_integer(w, v);
}

#define ECAM_SIZE 0x100000u /* one bus */

/* MCFG: one allocation, segment 0, bus 0 only. */
static void build_mcfg(struct aml_buf *w, const struct acpi_vm_desc *d)
{
	aml_le(w, 0, 8); /* reserved */
	aml_le(w, d->ecam_base, 8);
	aml_le(w, 0, 2); /* PCI segment group */
	aml_byte(w, 0); /* start bus */
	aml_byte(w, 0); /* end bus */
	aml_le(w, 0, 4); /* reserved */
}

static void build_dsdt(struct aml_buf *w, const struct acpi_vm_desc *d)
{
	size_t sb, dev, res, pkg;

	sb = aml_scope_open(w, "\\_SB");

	/* PCI host bridge: the root bus and the ranges it decodes. No _ADR: a
	 * device has a _HID or an _ADR, never both (6.1). */
	dev = aml_device_open(w, "PCI0");
	name_int(w, "_HID", acpi_eisaid("PNP0A03"));
	name_int(w, "_UID", 0);
	name_int(w, "_BBN", 0);
	aml_name(w, "_CRS");
	res = aml_restemplate_open(w);
	aml_res_word_bus(w, 0, 0); /* bus 0 only, as the MCFG says */
	aml_res_io(w, 0xCF8, 0xCF8, 1, 8); /* the configuration ports themselves */
	aml_res_dword_io(w, 0, 0xCF7);
	aml_res_dword_io(w, 0xD00, 0xFFFF);
	aml_res_dword_mem(w, PCI_MMIO_START, PCI_MMIO_END, false);
	aml_restemplate_close(w, res);
	aml_pkg_close(w, dev);

	dev = aml_device_open(w, "COM1");
	name_int(w, "_HID", acpi_eisaid("PNP0501"));
	name_int(w, "_UID", 1);
	aml_name(w, "_CRS");
	res = aml_restemplate_open(w);
	aml_res_io(w, COM1_PORT, COM1_PORT, 1, 8);
	aml_res_irq_noflags(w, 1u << COM1_IRQ);
	aml_restemplate_close(w, res);
	aml_pkg_close(w, dev);

	/* The i8042 keyboard controller (no keyboard behind it): guests use it
	 * to reset the machine. */
	dev = aml_device_open(w, "PS2K");
	name_int(w, "_HID", acpi_eisaid("PNP0303"));
	aml_name(w, "_CRS");
	res = aml_restemplate_open(w);
	aml_res_io(w, KBD_DATA_PORT, KBD_DATA_PORT, 1, 1);
	aml_res_io(w, KBD_CMD_PORT, KBD_CMD_PORT, 1, 1);
	aml_res_irq_noflags(w, 1u << KBD_IRQ);
	aml_restemplate_close(w, res);
	aml_pkg_close(w, dev);

	if (d->ecam_base) {
		/* The ECAM window, reserved as a motherboard resource: Linux
		 * uses an MCFG area only if firmware reserves it. */
		dev = aml_device_open(w, "MRES");
		name_int(w, "_HID", acpi_eisaid("PNP0C02"));
		name_int(w, "_UID", 2);
		aml_name(w, "_CRS");
		res = aml_restemplate_open(w);
		aml_res_dword_mem(w, d->ecam_base, d->ecam_base + ECAM_SIZE - 1, false);
		aml_restemplate_close(w, res);
		aml_pkg_close(w, dev);
	}

	aml_pkg_close(w, sb);

	/* \_S5_: SLP_TYPa, SLP_TYPb, reserved, reserved. */
	aml_name(w, "\\_S5");
	pkg = aml_package_open(w, 4);
	aml_integer(w, ACPI_SLP_TYP_S5);
	aml_integer(w, ACPI_SLP_TYP_S5);
	aml_integer(w, 0);
	aml_integer(w, 0);
	aml_pkg_close(w, pkg);
}

/* Builds into W; returns false for an invalid description. */
static bool build(struct aml_buf *w, const struct acpi_vm_desc *d, uint64_t base)
{
	size_t xsdt, fadt, facs, madt, dsdt, mcfg = 0, end_xsdt, end_fadt, end_madt, end_mcfg = 0;

	if (d->nvcpus < 1 || d->nvcpus > MAX_VCPUS || base % 16 || d->sci_irq > 15 ||
	    d->ecam_base % ECAM_SIZE || d->ecam_base > 0xFFFFFFFFu - ECAM_SIZE + 1)
		return false;

	/* RSDP (5.2.5.3): checksums and XSDT address patched below. */
	aml_bytes(w, "RSD PTR ", 8);
	aml_byte(w, 0);
	aml_bytes(w, OEM_ID, 6);
	aml_byte(w, 2); /* revision: ACPI 2.0+ */
	aml_le(w, 0, 4); /* RsdtAddress: none, the XSDT is used */
	aml_le(w, RSDP_LEN, 4);
	aml_le(w, 0, 8); /* XsdtAddress */
	aml_le(w, 0, 4); /* extended checksum, reserved */

	xsdt = table_begin(w, "XSDT", 1);
	aml_le(w, 0, 8); /* FADT */
	aml_le(w, 0, 8); /* MADT */
	if (d->ecam_base)
		aml_le(w, 0, 8); /* MCFG */
	end_xsdt = w->pos;

	fadt = table_begin(w, "FACP", FADT_REVISION);
	build_fadt(w, d);
	end_fadt = w->pos;

	madt = table_begin(w, "APIC", MADT_REVISION);
	build_madt(w, d);
	end_madt = w->pos;

	align(w, 64); /* the FACS must be 64-byte aligned */
	facs = w->pos;
	build_facs(w);

	if (d->ecam_base) {
		mcfg = table_begin(w, "MCFG", 1);
		build_mcfg(w, d);
		end_mcfg = w->pos;
	}

	dsdt = table_begin(w, "DSDT", DSDT_REVISION);
	build_dsdt(w, d);

	if (base + w->pos > 0xFFFFFFFFu)
		return false;
	if (w->overflow)
		return true;
	aml_le_at(w, 24, base + xsdt, 8);
	aml_le_at(w, xsdt + HDR_LEN, base + fadt, 8);
	aml_le_at(w, xsdt + HDR_LEN + 8, base + madt, 8);
	if (d->ecam_base) {
		aml_le_at(w, xsdt + HDR_LEN + 16, base + mcfg, 8);
		table_end(w, mcfg, end_mcfg);
	}
	aml_le_at(w, fadt + FADT_DSDT, base + dsdt, 4);
	aml_le_at(w, fadt + FADT_X_FIRMWARE_CTRL, base + facs, 8);
	aml_le_at(w, fadt + FADT_X_DSDT, base + dsdt, 8);
	table_end(w, xsdt, end_xsdt);
	table_end(w, fadt, end_fadt);
	table_end(w, madt, end_madt);
	table_end(w, dsdt, w->pos);
	w->buf[8] = acpi_checksum(w->buf, 20);
	w->buf[32] = acpi_checksum(w->buf, RSDP_LEN);
	return true;
}

size_t acpi_build_tables(const struct acpi_vm_desc *d, uint64_t base, uint8_t *buf, size_t len)
{
	struct aml_buf w;

	aml_init(&w, buf, len);
	if (!build(&w, d, base) || w.overflow)
		return 0;
	return w.pos;
}

size_t acpi_tables_size(const struct acpi_vm_desc *d, uint64_t base)
{
	struct aml_buf w;

	aml_init(&w, NULL, 0);
	return build(&w, d, base) ? w.pos : 0;
}
