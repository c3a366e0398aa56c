/* Virtual devices. Each device model keeps its state in a plain struct
 * (save/restore copy it whole) and reaches its VM only through the I/O bus
 * and the guest-memory accessors. */
#ifndef KEEL_VDEV_H
#define KEEL_VDEV_H

#include <keel/vm.h>

struct vdev_type {
	const char *name;
	int (*create)(struct vm *vm);
	void (*destroy)(struct vm *vm);
	void (*flush)(struct vm *vm); /* push out buffered output when the VM stops */
	/* Snapshot support: the size of the state and copies in and out. */
	size_t (*state_size)(struct vm *vm);
	void (*save)(struct vm *vm, void *buf);
	int (*restore)(struct vm *vm, const void *buf);
};

int vdev_create_all(struct vm *vm, char *err, size_t errlen);
void vdev_destroy_all(struct vm *vm);
void vdev_flush_all(struct vm *vm);

extern const struct vdev_type vdev_pc_platform, vdev_uart16550, vdev_debug_exit, vdev_virtio_rng,
    vdev_virtio_net, vdev_virtio_blk, vdev_virtio_console;

/* The serial console of a VM (vdev/uart16550.c). */
struct uart16550;
/* Bytes typed at an attached console, for the guest to read. */
void uart16550_receive(struct uart16550 *u, const char *buf, size_t n);
/* A console was just attached: show the guest's unfinished output line. */
void uart16550_show_partial_line(struct uart16550 *u);
/* Bytes the receive FIFO can still take: the console reads no faster. */
size_t uart16550_rx_room(struct uart16550 *u);

/* The host side of VM consoles (core/vmconsole.c): a VM's serial port and
 * its virtio-console (vdev/virtio_console.c). */
enum vmconsole_port { VMCONSOLE_SERIAL, VMCONSOLE_HVC };
void vmconsole_output(struct vm *vm, const char *line, size_t n); /* "[vm] line" */
/* "[vm:PORT] line", for a VM's other consoles. */
void vmconsole_output_port(struct vm *vm, const char *port, const char *line, size_t n);
void vmconsole_raw(struct vm *vm, char c);
struct vm *vmconsole_attached(void); /* the VM attached on its serial port */
/* The VM attached on either console (NULL: none), and which one in PORT. */
struct vm *vmconsole_attached_any(enum vmconsole_port *port);
bool vmconsole_attached_port(const struct vm *vm, enum vmconsole_port port);
void vmconsole_attach(struct vm *vm); /* its serial port; NULL detaches */
void vmconsole_attach_port(struct vm *vm, enum vmconsole_port port); /* NULL detaches */

#endif
