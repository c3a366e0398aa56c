/* Keel's log: formatted lines on COM1 under one lock. Lines are formatted
 * into a buffer first so the lock is held only while bytes go out. */
#include <keel/console.h>
#include <keel/spinlock.h>
#include <keel/string.h>
#include <arch/x86.h>

static spinlock_t console_lock = SPINLOCK_INIT;

static void write_locked(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

void console_write(const char *s, size_t n)
{
	uint64_t flags = read_rflags();

	irq_disable();
	spin_lock(&console_lock);
	write_locked(s, n);
	spin_unlock(&console_lock);
	if (flags & RFLAGS_IF)
		irq_enable();
}

void console_force_unlock(void)
{
	console_lock.owner = console_lock.next;
}

void kvprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	console_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

void klog(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n = snprintf(buf, sizeof(buf), "keel: ");

	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	console_write(buf, (size_t)n);
}
