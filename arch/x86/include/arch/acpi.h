#ifndef ARCH_ACPI_H
#define ARCH_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#define ACPI_MAX_CPUS 256

struct acpi_info {
	uint64_t lapic_base;
	unsigned ncpus;
	uint32_t apic_id[ACPI_MAX_CPUS]; /* enabled processors, boot CPU included */
	uint16_t pm1a_cnt, pm1b_cnt;
	uint16_t smi_cmd;
	uint8_t acpi_enable;
	uint16_t slp_typ_s5a, slp_typ_s5b;
	bool have_s5;
};

extern struct acpi_info acpi;

/* Find and check the RSDP (from the loader, else the BIOS areas), then the
 * MADT and FADT. Returns 0, or -1 when no valid tables were found. */
int acpi_init(uint64_t rsdp_hint);
/* Enter S5 (soft off). Returns only if the platform did not power off. */
void acpi_poweroff(void);

#endif
