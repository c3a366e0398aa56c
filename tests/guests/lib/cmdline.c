/* "key=value" tokens from the Multiboot command line. */
#include "guest.h"

/* Values are copied out so they are NUL-terminated; guests ask for a handful. */
static char pool[512];
static size_t pool_used;

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

const char *cmdline_get(const struct mb_info *mbi, const char *key, const char *def)
{
	const char *p, *tok, *val = NULL;
	size_t klen = strlen(key), len = 0;
	char *copy;

	if (!mbi || !(mbi->flags & MB_INFO_CMDLINE) || !mbi->cmdline)
		return def;
	/* Later tokens override earlier ones, so an appended key=value wins. */
	for (p = (const char *)(uintptr_t)mbi->cmdline; *p;) {
		while (is_space(*p))
			p++;
		for (tok = p; *p && !is_space(*p); p++)
			;
		if ((size_t)(p - tok) > klen && !strncmp(tok, key, klen) && tok[klen] == '=') {
			val = tok + klen + 1;
			len = (size_t)(p - val);
		}
	}
	if (!val)
		return def;
	if (len + 1 > sizeof(pool) - pool_used)
		xtf_error("command line values too long (at %s=)", key);
	copy = pool + pool_used;
	memcpy(copy, val, len);
	copy[len] = '\0';
	pool_used += len + 1;
	return copy;
}

/* Decimal or 0x-prefixed hex; anything else is a configuration error, not a default. */
uint32_t cmdline_get_u32(const struct mb_info *mbi, const char *key, uint32_t def)
{
	const char *s = cmdline_get(mbi, key, NULL), *p;
	uint32_t base = 10, v = 0, d;

	if (!s)
		return def;
	p = s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!*p)
		xtf_error("bad number %s=%s", key, s);
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9')
			d = (uint32_t)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (uint32_t)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (uint32_t)(*p - 'A' + 10);
		else
			xtf_error("bad number %s=%s", key, s);
		if (v > (0xFFFFFFFFu - d) / base)
			xtf_error("number too large %s=%s", key, s);
		v = v * base + d;
	}
	return v;
}
