#ifndef ARCH_LAPIC_H
#define ARCH_LAPIC_H

#include <stdint.h>

void lapic_init(uint64_t base); /* on each CPU */
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
void lapic_send_nmi_all_but_self(void);
/* The timer, calibrated once on the boot CPU: one-shot, VECTOR on expiry.
 * lapic_timer_arm() (re)starts the count: NS from now (at least one count,
 * at most the counter's range, ~30 s at 2 GHz / 16). */
void lapic_timer_calibrate(void);
void lapic_timer_oneshot(uint8_t vector);
void lapic_timer_arm(uint64_t ns);

#define ICR_INIT 0x00004500
#define ICR_STARTUP 0x00004600

#endif
