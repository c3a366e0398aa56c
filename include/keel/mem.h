/* Host memory set-up: the page allocator over the firmware memory map and
 * the identity mapping of all RAM. */
#ifndef KEEL_MEM_H
#define KEEL_MEM_H

#include <stdint.h>

void mem_init(void);
/* Attribute every page and heap allocation this CPU makes to *ACCOUNT
 * (bytes) until mem_account_end: how Keel measures what a VM costs it. */
void mem_account_begin(uint64_t *account);
void mem_account_end(void);
/* For the heap: pages that are not attributed (the heap attributes objects). */
void *heap_page_alloc(unsigned order);
void mem_account_heap(uint64_t bytes);
/* A usable 4 KiB page below 1 MiB for the AP start-up trampoline, 0 if none. */
uint64_t mem_low_page(void);
uint64_t mem_total_usable(void);
/* arch: map [start, end) of RAM above the boot mapping (first 4 GiB). */
int arch_map_ram(uint64_t start, uint64_t end);
/* Map device registers [start, end) uncached; -1 if they cannot be. */
int arch_map_mmio(uint64_t start, uint64_t end);

#endif
