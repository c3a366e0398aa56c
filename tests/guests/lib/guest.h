/*
 * Support library for Keel's test guests: 32-bit freestanding code entered
 * by a Multiboot v1 loader (or as a flat binary) with paging off.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "multiboot.h"

#define NORETURN __attribute__((noreturn))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Linker symbols (guest.ld, flat.ld): the whole loaded image incl. .bss and stack. */
extern char __image_start[], __image_end[];

/* Every Multiboot guest provides this; entry.S calls it with EAX and EBX. */
void guest_main(uint32_t magic, const struct mb_info *mbi);

/* console.c: 16550 UART at 0x3F8, polled. */
void console_putc(char c);
int puts(const char *s); /* appends a newline, like libc */
int printf(const char *fmt, ...) PRINTF(1, 2);
int vprintf(const char *fmt, va_list ap) PRINTF(1, 0);

/* 64-by-32 division with the hardware divl; no libgcc in guests. */
uint64_t div64_32(uint64_t n, uint32_t d, uint32_t *rem);

/*
 * xtf.c: print exactly one "RESULT: <KIND> <text>" line, then leave through
 * the debug-exit port with 0 = pass, 1 = fail, 2 = error, 3 = skip.
 */
enum xtf_result { XTF_PASS = 0, XTF_FAIL = 1, XTF_ERROR = 2, XTF_SKIP = 3 };
NORETURN void xtf_success(const char *fmt, ...) PRINTF(1, 2);
NORETURN void xtf_failure(const char *fmt, ...) PRINTF(1, 2);
NORETURN void xtf_error(const char *fmt, ...) PRINTF(1, 2);
NORETURN void xtf_skip(const char *fmt, ...) PRINTF(1, 2);
NORETURN void xtf_exit(enum xtf_result r);
/* Checks the boot magic, so a guest misloaded by the host errors instead of misbehaving. */
void xtf_check_boot(uint32_t magic, const struct mb_info *mbi);

/* cmdline.c: "key=value" tokens of the Multiboot command line; last one wins. */
const char *cmdline_get(const struct mb_info *mbi, const char *key, const char *def);
uint32_t cmdline_get_u32(const struct mb_info *mbi, const char *key, uint32_t def);

/* string.c: gcc may emit calls to the first four even with -ffreestanding. */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c,
			 uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* rdtsc fenced on both sides, so it neither starts early nor lets later work start early. */
static inline uint64_t rdtsc_fenced(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Busy loop of n iterations (two instructions each); in asm so -O2 cannot drop it. */
static inline void delay_loop(uint32_t n)
{
	if (n)
		__asm__ volatile("1: dec %0; jnz 1b" : "+r"(n));
}

static inline NORETURN void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
