/* The VM console of core/vmconsole.c, recording lines and raw bytes. */
#include <stdlib.h>
#include <string.h>

#include <keel/platform.h>
#include <keel/vdev.h>

#include "stubs.h"

struct stub_console stub_console;

void stub_console_reset(void)
{
	memset(&stub_console, 0, sizeof(stub_console));
}

void vmconsole_output(struct vm *vm, const char *line, size_t n)
{
	struct stub_console *c = &stub_console;

	if (c->nlines >= STUB_LINES || n >= STUB_LINE_MAX)
		abort(); /* a test produced more than it can check */
	c->line_vm[c->nlines] = vm;
	c->line_len[c->nlines] = n;
	memcpy(c->line[c->nlines], line, n);
	c->line[c->nlines][n] = '\0';
	c->nlines++;
}

void vmconsole_raw(struct vm *vm, char ch)
{
	struct stub_console *c = &stub_console;

	if (c->nraw >= STUB_RAW_MAX)
		abort();
	c->raw_vm[c->nraw] = vm;
	c->raw[c->nraw++] = ch;
}

struct vm *vmconsole_attached(void)
{
	return stub_console.attached;
}

void vmconsole_attach(struct vm *vm)
{
	stub_console.attached = vm;
}

/* The VM's interrupt lines (vdev/pc_platform.c): the last level of each. */
void vm_irq_line(struct vm *vm, unsigned irq, bool level)
{
	(void)vm;
	if (irq < 16)
		stub_console.irq_level[irq] = level;
}
