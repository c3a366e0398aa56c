#ifndef ARCH_TIME_H
#define ARCH_TIME_H

#include <stdint.h>

/* Busy-wait on the 8254 PIT channel 2 (used to calibrate the TSC and APIC). */
void pit_wait_us(uint32_t us);
void tsc_calibrate(void);
uint64_t tsc_khz(void);
/* Nanoseconds since an arbitrary point, from the TSC (same on every CPU). */
uint64_t time_ns(void);
/* A TSC value on the time_ns() clock, and back (guests see the host TSC). */
uint64_t tsc_to_ns(uint64_t tsc);
uint64_t ns_to_tsc(uint64_t ns);

#endif
