#ifndef KEEL_POWER_H
#define KEEL_POWER_H

#include <stdbool.h>

extern bool power_off_when_idle;
/* Set once boot has started every autostart VM: a VM that ends before the
 * others have even started must not power the machine off. */
extern bool power_boot_done;
/* The host is powering off: no VM starts again. */
extern volatile bool power_shutting_down;
/* Power off when configured to and no VM is running, paused or stopping. */
void power_check_idle(void);
void power_off(void) __attribute__((noreturn));

#endif
