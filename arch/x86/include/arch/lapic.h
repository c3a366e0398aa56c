#ifndef ARCH_LAPIC_H
#define ARCH_LAPIC_H

#include <stdint.h>

void lapic_init(uint64_t base); /* on each CPU */
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
void lapic_send_nmi_all_but_self(void);
/* Periodic timer at HZ; calibrated once on the boot CPU. */
void lapic_timer_calibrate(void);
void lapic_timer_start(unsigned hz, uint8_t vector);

#define ICR_INIT 0x00004500
#define ICR_STARTUP 0x00004600

#endif
