/* vsnprintf for Keel: %d %i %u %x %X %p %s %c %%, with flags '-' '0' '#', a width,
 * a precision for %s, and the l/ll/z/h/hh length modifiers. No floating point. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <keel/string.h>

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	if (!left && pad == '0' && n && (*s == '-')) {
		put(o, *s++);
		n--;
	}
	if (!left)
		while (fill-- > 0)
			put(o, pad);
	while (n--)
		put(o, *s++);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

static size_t format_number(char *tmp, uint64_t v, unsigned base, bool upper, bool neg)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char rev[24];
	size_t n = 0, i = 0;

	do {
		rev[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[i++] = '-';
	while (n)
		tmp[i++] = rev[--n];
	return i;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {buf, size, 0};

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		bool left = false, alt = false;
		char pad = ' ';
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '#')
				alt = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		int width = 0, prec = -1;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (*fmt++ - '0');
		}
		int lng = 0; /* -2 hh, -1 h, 0 int, 1 long and wider */
		while (*fmt == 'l' || *fmt == 'z' || *fmt == 'h') {
			lng = *fmt == 'h' ? (lng < 0 ? -2 : -1) : 1;
			fmt++;
		}
		char tmp[24];
		size_t n;
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng > 0 ? va_arg(ap, int64_t) : va_arg(ap, int);
			if (lng == -1)
				v = (short)v;
			else if (lng == -2)
				v = (signed char)v;
			n = format_number(tmp, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, false,
					  v < 0);
			put_padded(&o, tmp, n, width, left, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'p': {
			uint64_t v;
			if (*fmt == 'p')
				v = (uintptr_t)va_arg(ap, void *);
			else
				v = lng > 0 ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			if (lng == -1)
				v = (uint16_t)v;
			else if (lng == -2)
				v = (uint8_t)v;
			bool prefix = *fmt == 'p' || (alt && *fmt != 'u');
			char num[24];
			size_t digits =
			    format_number(num, v, *fmt == 'u' ? 10 : 16, *fmt == 'X', false);
			n = 0;
			if (prefix && pad == '0' && !left) {
				/* zeros go between the prefix and the digits */
				put(&o, '0');
				put(&o, *fmt == 'X' ? 'X' : 'x');
				width -= 2;
			} else if (prefix) {
				tmp[n++] = '0';
				tmp[n++] = *fmt == 'X' ? 'X' : 'x';
			}
			memcpy(tmp + n, num, digits);
			put_padded(&o, tmp, n + digits, width, left, pad);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			n = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
			put_padded(&o, s, n, width, left, ' ');
			break;
		}
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			put_padded(&o, tmp, 1, width, left, ' ');
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
