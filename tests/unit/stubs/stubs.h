/* Host stubs for unit tests of device models: the heap on calloc/free and a
 * VM console that records what it is given (heap.c, vmconsole.c here). */
#ifndef TESTS_UNIT_STUBS_H
#define TESTS_UNIT_STUBS_H

#include <stdbool.h>
#include <stddef.h>

struct vm;

#define STUB_LINES 32
#define STUB_LINE_MAX 256
#define STUB_RAW_MAX 256

struct stub_console {
	unsigned nlines;
	struct vm *line_vm[STUB_LINES];
	size_t line_len[STUB_LINES];
	char line[STUB_LINES][STUB_LINE_MAX]; /* NUL-terminated copies */
	unsigned nraw;
	struct vm *raw_vm[STUB_RAW_MAX];
	char raw[STUB_RAW_MAX];
	struct vm *attached; /* what vmconsole_attached() returns */
	bool irq_level[16]; /* vm_irq_line's last level per IRQ */
};

extern struct stub_console stub_console;
void stub_console_reset(void);

extern unsigned stub_heap_allocs, stub_heap_frees;
extern bool stub_heap_fail; /* kzalloc returns NULL while set */
void stub_heap_reset(void);

#endif
