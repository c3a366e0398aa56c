/* Console on the 16550 UART at 0x3F8: polled transmit, a small printf. */
#include "guest.h"

#define UART_BASE 0x3F8
#define UART_THR (UART_BASE + 0)
#define UART_LSR (UART_BASE + 5)
#define LSR_THRE 0x20 /* transmit holding register empty */

/* No UART setup: Keel's UART only transmits, and baud rate means nothing to a VM. */
void console_putc(char c)
{
	while (!(inb(UART_LSR) & LSR_THRE))
		;
	outb(UART_THR, (uint8_t)c);
}

int puts(const char *s)
{
	int n = 0;

	while (*s) {
		console_putc(*s++);
		n++;
	}
	console_putc('\n');
	return n + 1;
}

uint64_t div64_32(uint64_t n, uint32_t d, uint32_t *rem)
{
	uint32_t hi = (uint32_t)(n >> 32), lo = (uint32_t)n, qhi, qlo, r;

	/* Divide the high half first so the remainder < d and divl cannot overflow. */
	qhi = hi / d;
	hi %= d;
	__asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
	if (rem)
		*rem = r;
	return ((uint64_t)qhi << 32) | qlo;
}

struct spec {
	int width;
	int left; /* '-' flag */
	char pad; /* ' ' or '0' */
};

static int put_padded(const char *s, int len, const char *sign, const struct spec *sp)
{
	int slen = sign ? 1 : 0, fill = sp->width - len - slen, n = 0;

	if (sign && sp->pad == '0')
		console_putc(*sign);
	for (; !sp->left && fill > 0; fill--, n++)
		console_putc(sp->pad);
	if (sign && sp->pad != '0')
		console_putc(*sign);
	for (int i = 0; i < len; i++)
		console_putc(s[i]);
	for (; sp->left && fill > 0; fill--, n++)
		console_putc(' ');
	return n + len + slen;
}

static int put_num(uint64_t v, uint32_t base, int neg, int upper, const struct spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int i = sizeof(buf);
	uint32_t r;

	do {
		v = div64_32(v, base, &r);
		buf[--i] = digits[r];
	} while (v);
	return put_padded(buf + i, sizeof(buf) - i, neg ? "-" : NULL, sp);
}

int vprintf(const char *fmt, va_list ap)
{
	int n = 0;

	for (; *fmt; fmt++) {
		struct spec sp = {0, 0, ' '};
		int lng = 0;
		uint64_t u;
		int64_t s;

		if (*fmt != '%') {
			console_putc(*fmt);
			n++;
			continue;
		}
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++) {
			if (*fmt == '-')
				sp.left = 1;
			else
				sp.pad = '0';
		}
		if (sp.left)
			sp.pad = ' ';
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			sp.width = sp.width * 10 + (*fmt - '0');
		for (; *fmt == 'l'; fmt++)
			lng++;

		switch (*fmt) {
		case 'd':
		case 'i':
			s = lng >= 2 ? va_arg(ap, long long) : va_arg(ap, int);
			u = s < 0 ? -(uint64_t)s : (uint64_t)s;
			n += put_num(u, 10, s < 0, 0, &sp);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = lng >= 2 ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
			n += put_num(u, *fmt == 'u' ? 10 : 16, 0, *fmt == 'X', &sp);
			break;
		case 'p':
			n += put_padded("0x", 2, NULL, &(struct spec){0, 0, ' '});
			n += put_num((uintptr_t)va_arg(ap, void *), 16, 0, 0, &sp);
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);

			n += put_padded(&c, 1, NULL, &sp);
			break;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);

			if (!str)
				str = "(null)";
			sp.pad = ' ';
			n += put_padded(str, (int)strlen(str), NULL, &sp);
			break;
		}
		case '%':
			console_putc('%');
			n++;
			break;
		default:
			/* Unknown or truncated conversion: show it rather than guess. */
			console_putc('%');
			n++;
			if (!*fmt)
				return n;
			console_putc(*fmt);
			n++;
			break;
		}
	}
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}
