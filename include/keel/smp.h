#ifndef KEEL_SMP_H
#define KEEL_SMP_H

#include <keel/cpu.h>

struct cpu *cpu_alloc(unsigned id, uint32_t apic_id);
void smp_start_cpus(void);
/* Make CPU C look at its work now (an IPI). */
void cpu_kick(struct cpu *c);
/* arch: load descriptor tables and %gs for C on the calling CPU. */
void cpu_tables_init_for(struct cpu *c);
/* core: per-CPU start-up after arch set-up; never returns. */
void cpu_main(struct cpu *c) __attribute__((noreturn));

#endif
