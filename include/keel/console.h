/* The host console (COM1): Keel's log, VM output lines and the shell. Every
 * write of a whole line happens under one lock, so lines never interleave. */
#ifndef KEEL_CONSOLE_H
#define KEEL_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

void uart_init(void);
void uart_putc(char c);
int uart_getc(void); /* -1 when no byte is waiting */

/* "keel: " + formatted text + newline, atomically. */
void klog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Formatted text exactly as given, atomically (crash reports, shell). */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);
/* Raw bytes under the console lock. */
void console_write(const char *s, size_t n);
/* Used by a crashing CPU: take the lock without waiting forever. */
void console_force_unlock(void);

#endif
