/* Per-CPU state owned by arch/x86: descriptor tables, interrupt stacks and
 * the vendor backend's per-CPU pages. Embedded in struct cpu. */
#ifndef ARCH_CPU_ARCH_H
#define ARCH_CPU_ARCH_H

#include <stdint.h>

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct cpu_arch {
	uint64_t gdt[7]; /* null, code64, data, tss (2 slots), spare */
	struct tss64 tss;
	uint32_t lapic_id;
	uint64_t hsave_pa; /* SVM: VM_HSAVE_PA area */
	uint64_t host_save_pa; /* SVM: VMSAVE area holding the host's FS/GS/TR/... */
	uint64_t xcr0_host;
};

#define GDT_CODE64 0x08
#define GDT_DATA 0x10
#define GDT_TSS 0x18
#define IST_NMI 1
#define IST_DF 2
#define IST_MC 3

#endif
