/* AML encoder (ACPI 6.x, 20.2) and resource descriptors (6.4) for the
 * generated DSDT. Bounds-checked appends into a caller's buffer. */
#include <keel/acpi_tables.h>
#include <keel/string.h>

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0A
#define AML_WORD_PREFIX 0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_STRING_PREFIX 0x0D
#define AML_QWORD_PREFIX 0x0E
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_EXT_PREFIX 0x5B
#define AML_DEVICE_OP 0x82 /* after AML_EXT_PREFIX */
#define AML_DUAL_NAME_PREFIX 0x2E
#define AML_MULTI_NAME_PREFIX 0x2F
#define AML_ROOT_CHAR '\\'
#define AML_PARENT_CHAR '^'

#define PKGLEN_MAX 0x0FFFFFFFu
#define PKGLEN_RESERVE 1 /* bytes reserved by aml_pkg_open */
#define BUFSIZE_BYTES 3 /* BufferSize is always WordPrefix + 16 bits */

void aml_init(struct aml_buf *a, uint8_t *buf, size_t len)
{
	a->buf = buf;
	a->len = buf ? len : 0;
	a->pos = 0;
	a->overflow = false;
}

void aml_byte(struct aml_buf *a, uint8_t v)
{
	if (a->pos < a->len)
		a->buf[a->pos] = v;
	else
		a->overflow = true;
	a->pos++;
}

void aml_bytes(struct aml_buf *a, const void *p, size_t n)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < n; i++)
		aml_byte(a, s[i]);
}

void aml_le(struct aml_buf *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

void aml_le_at(struct aml_buf *a, size_t off, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (off + i < a->len)
			a->buf[off + i] = (uint8_t)(v >> (8 * i));
}

unsigned aml_pkglen_encode(uint8_t out[4], uint32_t total)
{
	unsigned n;

	if (total <= 0x3F) {
		out[0] = (uint8_t)total;
		return 1;
	}
	if (total <= 0xFFF)
		n = 2;
	else if (total <= 0xFFFFF)
		n = 3;
	else if (total <= PKGLEN_MAX)
		n = 4;
	else
		return 0;
	/* Lead byte: bits 7:6 = following bytes, bits 3:0 = the low nibble. */
	out[0] = (uint8_t)((n - 1) << 6 | (total & 0xF));
	for (unsigned i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

unsigned aml_pkglen_size(size_t body)
{
	for (unsigned n = 1; n <= 4; n++) {
		size_t limit = n == 1 ? 0x3F : ((size_t)1 << (4 + 8 * (n - 1))) - 1;

		if (body + n <= limit)
			return n;
	}
	return 0;
}

size_t aml_pkg_open(struct aml_buf *a)
{
	size_t mark = a->pos;

	aml_byte(a, 0); /* one byte for now: the buffer never holds more than the result */
	return mark;
}

void aml_pkg_close(struct aml_buf *a, size_t mark)
{
	size_t body = a->pos - mark - PKGLEN_RESERVE;
	unsigned n = aml_pkglen_size(body);
	uint8_t enc[4];

	if (n == 0) {
		a->overflow = true; /* too long to encode: refuse the whole build */
		return;
	}
	aml_pkglen_encode(enc, (uint32_t)(body + n));
	if (a->pos + n - PKGLEN_RESERVE > a->len)
		a->overflow = true;
	if (!a->overflow) {
		/* Slide the body up to make room for the longer encoding. */
		for (size_t i = body; i-- > 0;)
			a->buf[mark + n + i] = a->buf[mark + PKGLEN_RESERVE + i];
		memcpy(a->buf + mark, enc, n);
	}
	a->pos = mark + n + body;
}

void aml_nameseg(struct aml_buf *a, const char *seg)
{
	size_t n = 0;

	for (; n < 4 && seg[n] && seg[n] != '.'; n++)
		aml_byte(a, (uint8_t)seg[n]);
	for (; n < 4; n++)
		aml_byte(a, '_');
}

void aml_namestring(struct aml_buf *a, const char *path)
{
	unsigned segs = 0;
	const char *p;

	while (*path == AML_ROOT_CHAR || *path == AML_PARENT_CHAR)
		aml_byte(a, (uint8_t)*path++);
	if (*path)
		segs = 1;
	for (p = path; *p; p++)
		if (*p == '.')
			segs++;
	if (segs == 0) {
		aml_byte(a, AML_ZERO_OP); /* NullName */
		return;
	}
	if (segs == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (segs > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)segs);
	}
	for (p = path; segs--;) {
		aml_nameseg(a, p);
		while (*p && *p != '.')
			p++;
		if (*p == '.')
			p++;
	}
}

void aml_integer(struct aml_buf *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v <= 0xFF) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= 0xFFFF) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= 0xFFFFFFFF) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml_buf *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static uint32_t hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (uint32_t)(c - '0');
	if (c >= 'A' && c <= 'F')
		return (uint32_t)(c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (uint32_t)(c - 'a' + 10);
	return 0;
}

uint32_t acpi_eisaid(const char *id)
{
	/* Three letters of 5 bits (A = 1) and four hex digits, stored big-endian. */
	uint32_t v = (uint32_t)(id[0] - '@') << 26 | (uint32_t)(id[1] - '@') << 21 |
		     (uint32_t)(id[2] - '@') << 16 | hexval(id[3]) << 12 | hexval(id[4]) << 8 |
		     hexval(id[5]) << 4 | hexval(id[6]);

	return (v >> 24) | (v >> 8 & 0xFF00) | (v << 8 & 0xFF0000) | v << 24;
}

void aml_name(struct aml_buf *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, name);
}

size_t aml_scope_open(struct aml_buf *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_SCOPE_OP);
	mark = aml_pkg_open(a);
	aml_namestring(a, name);
	return mark;
}

size_t aml_device_open(struct aml_buf *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	mark = aml_pkg_open(a);
	aml_namestring(a, name);
	return mark;
}

size_t aml_package_open(struct aml_buf *a, uint8_t nelems)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE_OP);
	mark = aml_pkg_open(a);
	aml_byte(a, nelems);
	return mark;
}

size_t aml_buffer_open(struct aml_buf *a)
{
	size_t mark;

	aml_byte(a, AML_BUFFER_OP);
	mark = aml_pkg_open(a);
	aml_byte(a, AML_WORD_PREFIX); /* BufferSize, patched by aml_buffer_close */
	aml_le(a, 0, 2);
	return mark;
}

void aml_buffer_close(struct aml_buf *a, size_t mark)
{
	size_t data = mark + PKGLEN_RESERVE + BUFSIZE_BYTES;

	if (a->pos - data > 0xFFFF)
		a->overflow = true;
	aml_le_at(a, mark + PKGLEN_RESERVE + 1, a->pos - data, 2);
	aml_pkg_close(a, mark);
}

size_t aml_restemplate_open(struct aml_buf *a)
{
	return aml_buffer_open(a);
}

void aml_restemplate_close(struct aml_buf *a, size_t mark)
{
	size_t data = mark + PKGLEN_RESERVE + BUFSIZE_BYTES;
	uint8_t sum = 0;

	aml_byte(a, 0x79); /* End Tag: small item 0xF, length 1 */
	if (!a->overflow)
		sum = acpi_checksum(a->buf + data, a->pos - data);
	aml_byte(a, sum);
	aml_buffer_close(a, mark);
}

void aml_res_io(struct aml_buf *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_byte(a, 0x47); /* I/O Port Descriptor: small item 0x8, length 7 */
	aml_byte(a, 0x01); /* decodes 16 address bits */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_res_irq_noflags(struct aml_buf *a, uint16_t mask)
{
	aml_byte(a, 0x22); /* IRQ Descriptor: small item 0x4, length 2 (no flags byte) */
	aml_le(a, mask, 2);
}

/* General flags: bit 3 _MAF, bit 2 _MIF, bit 1 _DEC (0: positive), bit 0
 * (0: this device produces the range for its children). */
#define ADDR_GENERAL_FLAGS 0x0C
#define ADDR_TYPE_MEM 0
#define ADDR_TYPE_IO 1
#define ADDR_TYPE_BUS 2

static void addr_head(struct aml_buf *a, uint8_t tag, uint16_t len, uint8_t type, uint8_t tflags)
{
	aml_byte(a, tag);
	aml_le(a, len, 2);
	aml_byte(a, type);
	aml_byte(a, ADDR_GENERAL_FLAGS);
	aml_byte(a, tflags);
}

void aml_res_word_bus(struct aml_buf *a, uint16_t min, uint16_t max)
{
	addr_head(a, 0x88, 13, ADDR_TYPE_BUS, 0);
	aml_le(a, 0, 2); /* granularity */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_le(a, 0, 2); /* translation offset */
	aml_le(a, (uint32_t)max - min + 1, 2);
}

static void dword_addr(struct aml_buf *a, uint8_t type, uint8_t tflags, uint32_t min, uint32_t max)
{
	addr_head(a, 0x87, 23, type, tflags);
	aml_le(a, 0, 4); /* granularity */
	aml_le(a, min, 4);
	aml_le(a, max, 4);
	aml_le(a, 0, 4); /* translation offset */
	aml_le(a, (uint64_t)max - min + 1, 4);
}

void aml_res_dword_io(struct aml_buf *a, uint32_t min, uint32_t max)
{
	dword_addr(a, ADDR_TYPE_IO, 0x03 /* _RNG: EntireRange */, min, max);
}

void aml_res_dword_mem(struct aml_buf *a, uint32_t min, uint32_t max, bool cacheable)
{
	/* Bit 0 _RW (read-write), bits 2:1 _MEM (0 non-cacheable, 1 cacheable). */
	dword_addr(a, ADDR_TYPE_MEM, cacheable ? 0x03 : 0x01, min, max);
}

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}
