/* The ACPI fixed-feature power-management block of a PIIX4-like chipset
 * (ACPI 6.x, 4.8 "ACPI Hardware Specification": PM1 event and control
 * registers, the PM timer), and the PIIX reset control register at 0xCF9,
 * as pure device models: time is an input (now_ns on any monotonic
 * nanosecond clock); nothing here reads a clock or locks.
 *
 * The block sits at a base port chosen at init (the FADT must name the
 * same: PM1a_EVT_BLK = base, PM1_EVT_LEN 4; PM1a_CNT_BLK = base + 4,
 * PM1_CNT_LEN 2; PM_TMR_BLK = base + 8, PM_TMR_LEN 4, 24-bit timer
 * (TMR_VAL_EXT clear); no PM1b, no GPE blocks, no SMI_CMD: the hardware is
 * in ACPI mode from reset). Ports base..base+11; bytes 6-7 read 0. Byte,
 * word and dword accesses at any offset work byte by byte, so a dword at
 * base reads PM1_STS | PM1_EN << 16; bytes outside the block read 0xFF.
 *
 * - PM1_STS (base+0, write 1 to clear): TMR_STS (bit 0) sets each time bit
 *   23 of the timer changes; PWRBTN_STS (bit 8) is set by
 *   acpi_pm_power_button(). BM_STS, GBL_STS, RTC_STS and WAK_STS are never
 *   set (no bus-master, BIOS, RTC-alarm or wake events).
 * - PM1_EN (base+2): TMR_EN (0), GBL_EN (5), PWRBTN_EN (8), RTC_EN (10)
 *   are writable; other bits read 0. The SCI is the OR of STS & EN.
 * - PM1_CNT (base+4): SCI_EN (bit 0) always reads 1; BM_RLD (1) and
 *   SLP_TYP (12:10) are read/write; GBL_RLS (2) and SLP_EN (13) are
 *   write-only and read 0. Writing SLP_EN = 1 makes a request: POWEROFF if
 *   SLP_TYP (as written in the same access, or earlier) is
 *   ACPI_PM_SLP_TYP_S5, the value the generated DSDT's \_S5 package holds;
 *   SLEEP_OTHER for any other SLP_TYP (left in `cnt` for the caller).
 * - PM_TMR (base+8): a free-running 24-bit counter at 3.579545 MHz, 0 at
 *   init, read-only; bits 31:24 read 0.
 *
 * A request is held until acpi_pm_take_request() (a later one replaces it):
 * take it after each guest write to the block. */
#ifndef KEEL_ACPI_PM_H
#define KEEL_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#define ACPI_PM_PIIX4_BASE 0x600 /* a customary choice, not a requirement */
#define ACPI_PM_LEN 12
#define ACPI_PM1_STS 0 /* offsets from the base */
#define ACPI_PM1_EN 2
#define ACPI_PM1_CNT 4
#define ACPI_PM_TMR 8

#define ACPI_PM_TMR_HZ 3579545u
#define ACPI_PM_TMR_MASK 0xFFFFFFu
#define ACPI_PM_SLP_TYP_S5 5 /* SLP_TYP meaning soft off: \_S5 must say 5 */

#define ACPI_PM1_TMR_STS 0x0001
#define ACPI_PM1_BM_STS 0x0010
#define ACPI_PM1_GBL_STS 0x0020
#define ACPI_PM1_PWRBTN_STS 0x0100
#define ACPI_PM1_RTC_STS 0x0400
#define ACPI_PM1_WAK_STS 0x8000
#define ACPI_PM1_TMR_EN 0x0001
#define ACPI_PM1_GBL_EN 0x0020
#define ACPI_PM1_PWRBTN_EN 0x0100
#define ACPI_PM1_RTC_EN 0x0400
#define ACPI_PM1_SCI_EN 0x0001
#define ACPI_PM1_BM_RLD 0x0002
#define ACPI_PM1_GBL_RLS 0x0004
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP 0x1C00
#define ACPI_PM1_SLP_EN 0x2000

/* The PIIX reset control register (one byte at 0xCF9, inside the PCI
 * CONFIG_ADDRESS dword: route byte accesses to it before pci_host). */
#define RESET_CF9_PORT 0xCF9
#define RESET_CF9_SRST 0x02 /* hard (1) or soft (0) reset: both reset the VM */
#define RESET_CF9_RCPU 0x04 /* writing 1 resets */
#define RESET_CF9_FULL 0x08 /* full reset (power cycle): same for a VM */

enum acpi_pm_request {
	ACPI_PM_REQ_NONE,
	ACPI_PM_REQ_POWEROFF, /* SLP_EN with SLP_TYP 5 */
	ACPI_PM_REQ_SLEEP_OTHER, /* SLP_EN with another SLP_TYP */
	ACPI_PM_REQ_RESET, /* 0xCF9 */
};

struct acpi_pm {
	uint16_t base; /* first port of the block */
	uint16_t sts, en; /* PM1_STS, PM1_EN: defined bits only */
	uint16_t cnt; /* PM1_CNT's stored bits: BM_RLD, SLP_TYP */
	uint8_t request; /* enum acpi_pm_request */
	uint64_t ref_ns; /* when the timer read 0 */
	uint64_t seen_flips; /* timer bit-23 changes already in TMR_STS */
};

struct reset_cf9 {
	uint8_t rc; /* SRST and FULL as last written */
	uint8_t request; /* ACPI_PM_REQ_NONE or ACPI_PM_REQ_RESET */
};

/* Power-on state at NOW_NS: everything clear, the timer at 0. */
void acpi_pm_init(struct acpi_pm *pm, uint16_t base, uint64_t now_ns);
/* Port access, SIZE 1, 2 or 4 (others read all ones and drop writes). */
uint32_t acpi_pm_read(struct acpi_pm *pm, uint16_t port, unsigned size, uint64_t now_ns);
void acpi_pm_write(struct acpi_pm *pm, uint16_t port, unsigned size, uint32_t value,
		   uint64_t now_ns);
/* The pending request, cleared (ACPI_PM_REQ_NONE if none). */
enum acpi_pm_request acpi_pm_take_request(struct acpi_pm *pm);
/* The power button was pressed: PWRBTN_STS (an SCI if PWRBTN_EN). */
void acpi_pm_power_button(struct acpi_pm *pm);
/* The SCI output at now_ns (level, active while any STS & EN). Call it
 * after each guest access and when acpi_pm_sci_deadline() passes. */
bool acpi_pm_sci_level(struct acpi_pm *pm, uint64_t now_ns);
/* When the SCI will next rise (TMR_STS with TMR_EN): UINT64_MAX if never,
 * or if the timer status is set already (it must be cleared first). */
uint64_t acpi_pm_sci_deadline(const struct acpi_pm *pm, uint64_t now_ns);
/* True if S is a state this code can run from. */
bool acpi_pm_state_valid(const struct acpi_pm *s);

void reset_cf9_init(struct reset_cf9 *r);
/* Byte accesses at 0xCF9 only (others read all ones, drop writes). */
uint32_t reset_cf9_read(struct reset_cf9 *r, uint16_t port, unsigned size);
void reset_cf9_write(struct reset_cf9 *r, uint16_t port, unsigned size, uint32_t value);
/* ACPI_PM_REQ_RESET once per reset written, else ACPI_PM_REQ_NONE. */
enum acpi_pm_request reset_cf9_take_request(struct reset_cf9 *r);

#endif
