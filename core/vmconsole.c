/* Host side of the VMs' consoles: whole lines prefixed with the VM's name
 * (and, for a VM's second console, the port: `[vm:hvc0] `), or the raw
 * byte stream of the one console an operator has attached to, which is
 * either a VM's serial port or its virtio-console.
 *
 * Lock order: vm->lock, then one device's lock (a UART's, a virtio
 * device's), then the console's; interrupts a device raises are delivered
 * after its lock is dropped. Nothing here takes a lock, so devices call in
 * under theirs. */
#include <keel/console.h>
#include <keel/string.h>
#include <keel/vdev.h>

/* Which console is attached. The shell writes these one at a time (port
 * before VM when attaching, VM first when detaching) and only while
 * nothing is attached or to detach, so a reader that loads the VM and
 * then the port never pairs a VM with another attachment's port. */
static struct vm *volatile attached;
static volatile enum vmconsole_port attached_port;

static void output(struct vm *vm, const char *port, const char *line, size_t n)
{
	char buf[CFG_NAME_MAX + 16 + 256];
	size_t len = port ? (size_t)snprintf(buf, sizeof(buf), "[%s:%s] ", vm->name, port)
			  : (size_t)snprintf(buf, sizeof(buf), "[%s] ", vm->name);

	for (size_t i = 0; i < n && len < sizeof(buf) - 1; i++) {
		char c = line[i];
		/* Control characters from a guest must not drive the operator's terminal. */
		buf[len++] = (c >= 0x20 && c < 0x7F) || c == '\t' ? c : '?';
	}
	buf[len++] = '\n';
	console_write(buf, len);
}

void vmconsole_output(struct vm *vm, const char *line, size_t n)
{
	output(vm, NULL, line, n);
}

void vmconsole_output_port(struct vm *vm, const char *port, const char *line, size_t n)
{
	output(vm, port, line, n);
}

void vmconsole_raw(struct vm *vm, char c)
{
	(void)vm;
	console_write(&c, 1);
}

struct vm *vmconsole_attached(void)
{
	struct vm *vm = attached;

	return vm && attached_port == VMCONSOLE_SERIAL ? vm : NULL;
}

struct vm *vmconsole_attached_any(enum vmconsole_port *port)
{
	struct vm *vm = attached;

	*port = attached_port;
	return vm;
}

bool vmconsole_attached_port(const struct vm *vm, enum vmconsole_port port)
{
	return attached == vm && attached_port == port;
}

void vmconsole_attach_port(struct vm *vm, enum vmconsole_port port)
{
	if (!vm) {
		attached = NULL;
		return;
	}
	attached_port = port;
	__asm__ volatile("" ::: "memory"); /* x86 keeps the two stores in this order */
	attached = vm;
}

void vmconsole_attach(struct vm *vm)
{
	vmconsole_attach_port(vm, VMCONSOLE_SERIAL);
}
