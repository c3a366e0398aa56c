/* Host side of the VMs' serial consoles: whole lines prefixed with the VM's
 * name, or the raw byte stream of the one VM an operator has attached to. */
#include <keel/console.h>
#include <keel/string.h>
#include <keel/vdev.h>

static struct vm *volatile attached;

void vmconsole_output(struct vm *vm, const char *line, size_t n)
{
	char buf[CFG_NAME_MAX + 256];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "[%s] ", vm->name);

	for (size_t i = 0; i < n && len < sizeof(buf) - 1; i++) {
		char c = line[i];
		/* Control characters from a guest must not drive the operator's terminal. */
		buf[len++] = (c >= 0x20 && c < 0x7F) || c == '\t' ? c : '?';
	}
	buf[len++] = '\n';
	console_write(buf, len);
}

void vmconsole_raw(struct vm *vm, char c)
{
	(void)vm;
	console_write(&c, 1);
}

struct vm *vmconsole_attached(void)
{
	return attached;
}

void vmconsole_attach(struct vm *vm)
{
	attached = vm;
}
