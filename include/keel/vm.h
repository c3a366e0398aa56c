/* Virtual machines and virtual CPUs: the vendor-neutral objects. */
#ifndef KEEL_VM_H
#define KEEL_VM_H

#include <keel/config.h>
#include <keel/iobus.h>
#include <keel/sched_policy.h>
#include <keel/spinlock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_MAX_SLOTS 4
#define CHUNK_SIZE (2ULL << 20) /* guest RAM is backed by 2 MiB host chunks */
/* Guest RAM lies below the PCI hole, and what does not fit from 4 GiB up. */
#define VM_LOW_RAM_END 0xB0000000ULL
#define VM_HIGH_RAM_START 0x100000000ULL

/* Guest-physical [gpa, gpa + size) backed by host chunks chunk[i]. */
struct mem_slot {
	uint64_t gpa, size;
	uint64_t nchunks;
	uint64_t *chunk; /* host-physical address of each 2 MiB chunk */
};

enum vm_state { VM_RUNNING, VM_PAUSED, VM_STOPPING, VM_STOPPED };

enum vcpu_state {
	VCPU_RUNNABLE, /* on a run queue */
	VCPU_RUNNING, /* on a physical CPU now */
	VCPU_HALTED, /* executed HLT; waits for an event */
	VCPU_WAIT_SIPI,
	VCPU_PAUSED,
	VCPU_DEAD,
};

/* Guest general-purpose registers; the backend syncs rax/rsp/rip/rflags
 * with its control block around each run. */
struct vcpu_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

/* Segment as the backends exchange it: attributes use the descriptor's
 * bits 40..47 in ar[7:0] and bits 52..55 in ar[11:8] (type, S, DPL, P, AVL, L,
 * D/B, G); ar == 0 means unusable. */
struct seg {
	uint16_t sel, ar;
	uint32_t limit;
	uint64_t base;
};

struct vcpu_sregs {
	struct seg cs, ds, es, fs, gs, ss, tr, ldtr;
	struct seg gdtr, idtr; /* base and limit only */
	uint64_t cr0, cr2, cr3, cr4, efer, pat;
};

enum exit_kind {
	EXIT_NONE, /* nothing to do (e.g. a physical interrupt was taken) */
	EXIT_CPUID,
	EXIT_MSR_READ,
	EXIT_MSR_WRITE,
	EXIT_IO,
	EXIT_HLT,
	EXIT_NPF, /* nested/extended page fault */
	EXIT_SHUTDOWN,
	EXIT_HYPERCALL,
	EXIT_INIT,
	EXIT_XSETBV,
	EXIT_INTR_WINDOW, /* the guest can now take the interrupt it waits for */
	EXIT_SKIP, /* an instruction carried out as a no-op (INVD) */
	EXIT_UD, /* the guest used an instruction it may not: inject #UD */
	EXIT_INVALID, /* the backend refused to enter the guest */
	EXIT_UNKNOWN,
	EXIT_KIND_COUNT,
};

struct vm_exit {
	enum exit_kind kind;
	uint8_t insn_len; /* length of the exiting instruction, 0 if unknown */
	union {
		struct {
			uint16_t port;
			uint8_t size; /* 1, 2 or 4 */
			bool in, string, rep;
		} io;
		struct {
			uint64_t gpa;
			bool write, fetch;
		} npf;
		struct {
			uint64_t code, info1, info2;
		} raw; /* EXIT_UNKNOWN, EXIT_INVALID: vendor detail for the log */
	};
};

struct vm;
struct pc_platform;
struct apic;
struct virtio_dev;
struct net;
struct blk;

struct vcpu {
	struct vm *vm;
	unsigned id;
	enum vcpu_state state;
	struct vcpu_regs regs;
	struct sched_entity se;
	void *arch; /* backend's per-vCPU state (VMCB / VMCS) */
	void *fpu; /* XSAVE area */
	uint64_t xcr0;
	uint64_t dr[4]; /* DR0-DR3, switched with the vCPU like its FPU state */
	uint64_t tsc_aux; /* what RDTSCP returns in ECX; switched likewise */
	uint64_t pvclock_msr, pvclock_wall_msr; /* last values written (core/pvclock.c) */
	struct apic *apic; /* its local APIC (core/apic.c) */
	/* Published by the APIC for the exit path's quick check. */
	volatile uint64_t apic_deadline; /* its timer, UINT64_MAX if idle */
	volatile bool apic_irr; /* a vector is waiting to be delivered */
	uint64_t run_start;
	uint64_t cpu_time_ns; /* charged at the end of each slice */
	uint64_t on_cpu_since; /* time_ns() its current slice began; 0 off a CPU */
	uint64_t exits[EXIT_KIND_COUNT];
	uint64_t ran_on[4]; /* bitmap of physical CPUs this vCPU has run on */
	bool halted_irqs_off;
	bool window_requested; /* an EXIT_INTR_WINDOW is asked for */
	volatile bool nmi_pending; /* an NMI (IPI) waits to be injected */
	bool nmi_window_requested;
	/* An INIT came while the vCPU was on a physical CPU: it takes effect
	 * when the vCPU leaves it (at once: the CPU is kicked); a SIPI that
	 * came after it (0x100 | vector, 0 if none) right after that. */
	volatile bool init_pending;
	uint16_t sipi_after_init;
};

struct vm {
	char name[CFG_NAME_MAX];
	unsigned slot_index; /* position in vms[] */
	unsigned id; /* 1.. ; stable for the VM's life */
	const struct cfg_vm *cfg;
	enum vm_state state;
	spinlock_t lock;
	unsigned nvcpus;
	struct vcpu *vcpu[CFG_MAX_VCPUS];
	unsigned running_vcpus; /* vCPUs on a physical CPU now */
	unsigned nslots;
	struct mem_slot slot[VM_MAX_SLOTS];
	uint64_t ram_size;
	void *arch; /* backend's per-VM state (nested page tables) */
	struct sched_group group;
	struct io_bus pio;
	struct io_bus mmio; /* device memory by guest-physical address (not the APIC page) */
	struct uart16550 *uart;
	struct pc_platform *platform; /* PIC, PIT, RTC (vdev/pc_platform.c) */
	struct virtio_dev *rng; /* virtio-rng, if configured (vdev/virtio_rng.c) */
	struct virtio_dev *console; /* virtio-console, if configured (vdev/virtio_console.c) */
	struct net *net; /* virtio-net NIC, if configured (vdev/virtio_net.c) */
	struct blk *blk; /* virtio-blk disk, if configured (vdev/virtio_blk.c) */
	/* Published by the platform for the exit path's quick check. */
	volatile uint64_t irq_deadline; /* next timer work, UINT64_MAX if none */
	volatile bool irq_pending; /* the interrupt controller signals INTR */
	int exit_status; /* -1 unless the guest ended through the debug-exit port */
	char stop_reason[96];
	uint64_t started_ns;
	uint64_t hv_bytes; /* Keel memory this VM costs, beyond its RAM */
	bool restart_pending; /* start it again once stopped */
};

/* RAM below the PCI hole (from 0), and from 4 GiB up. */
static inline uint64_t vm_ram_low(const struct vm *vm)
{
	return vm->ram_size < VM_LOW_RAM_END ? vm->ram_size : VM_LOW_RAM_END;
}

static inline uint64_t vm_ram_high(const struct vm *vm)
{
	return vm->ram_size - vm_ram_low(vm);
}

/* Guest-physical memory access: refuses anything outside the VM's RAM. */
void *gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);
int copy_to_guest(struct vm *vm, uint64_t gpa, const void *src, uint64_t len);
/* [gpa, gpa+len) is all RAM of the VM (no wrap, no hole). */
bool guest_range_ok(struct vm *vm, uint64_t gpa, uint64_t len);
int copy_from_guest(struct vm *vm, void *dst, uint64_t gpa, uint64_t len);

/* Life cycle (core/vm.c). A VM object lives from boot (one per configured
 * VM); starting it allocates and loads, stopping it frees and zeroes. */
struct vm *vm_create(const struct cfg_vm *cfg);
int vm_start(struct vm *vm, char *err, size_t errlen);
/* Stop the VM from any CPU; the reason is logged once. */
void vm_stop(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Stop the VM and start it again afresh (a guest's reset). */
void vm_restart(struct vm *vm, const char *why);
/* An operator's stop wins over a guest's pending reset. */
void vm_cancel_restart(struct vm *vm);
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
const char *vm_state_name(enum vm_state s);
const char *vcpu_state_name(enum vcpu_state s);

/* Registry of VMs (core/vm.c). */
#define MAX_VMS CFG_MAX_VMS
extern struct vm *vms[MAX_VMS];
extern spinlock_t vms_lock;
struct vm *vm_find(const char *name);

#endif
